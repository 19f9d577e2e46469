"""The lecture's ideas: single neurons, the gates, the presets, and the commands that show them."""

import json

import pytest
import torch

from digitnet.cli.main import main
from digitnet.lecture import presets
from digitnet.lecture.neurons import (
    GATES,
    INPUTS,
    MulticlassPerceptron,
    Perceptron,
    SigmoidNeuron,
    train_gate,
)


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND"])
def test_the_perceptron_learns_the_linearly_separable_gates(gate):
    result = train_gate(gate)
    assert result.converged and result.learned
    w = torch.tensor(result.weights)
    assert ((INPUTS @ w + result.bias > 0).int() == GATES[gate].int()).all()


def test_the_perceptron_cannot_learn_xor_and_says_so(capsys):
    result = train_gate("XOR", max_epochs=200)
    assert not result.converged and not result.learned
    assert main(["gates"]) == 0
    out = capsys.readouterr().out
    assert "XOR: NOT learned" in out and "not linearly separable" in out
    assert "NAND: learned" in out and "AND: learned" in out and "OR: learned" in out


def test_the_step_activation_is_one_only_strictly_above_zero():
    p = Perceptron(2)
    p.w, p.b = torch.tensor([1.0, 1.0]), torch.tensor(-1.0)
    assert p(INPUTS).tolist() == [0.0, 0.0, 0.0, 1.0]  # w.x + b = 0 gives 0


def test_the_sigmoid_neuron_gives_smooth_outputs_on_the_right_side_of_one_half():
    neuron = SigmoidNeuron(2)
    neuron.fit(INPUTS, GATES["OR"])
    out = neuron(INPUTS)
    assert ((out > 0) & (out < 1)).all()
    assert ((out > 0.5).float() == GATES["OR"]).all()


def test_the_multiclass_perceptron_learns_tiny_digits():

    from tiny import digits

    images, labels = digits(300, seed=4)
    x = torch.tensor(images.reshape(300, -1), dtype=torch.float32) / 255
    y = torch.tensor(labels, dtype=torch.long)
    model = MulticlassPerceptron()
    for _ in range(3):
        model.fit_epoch(x, y, torch.Generator().manual_seed(0))
    assert (model.predict(x) == y).float().mean() > 0.95


def test_every_preset_names_its_source_and_published_figure():
    found = {p.name: p for p in presets.all_presets()}
    assert set(found) == {"quickstart", "nielsen-ch1", "nielsen-ch1-100", "nielsen-ch3", "cnn"}
    for preset in found.values():
        assert preset.source and preset.description and 50 < preset.published < 100
        assert preset.metric in ("test", "val")


@pytest.mark.parametrize(
    "name", ["quickstart", "nielsen-ch1", "nielsen-ch1-100", "nielsen-ch3", "cnn"]
)
@pytest.mark.slow
def test_each_preset_loads_and_trains_a_step(tiny_env, name):
    import json
    from pathlib import Path

    assert (
        main(
            [
                "fit",
                "--preset",
                name,
                "--trainer.max_steps",
                "2",
                "--trainer.limit_val_batches",
                "1",
                "--data.val_size",
                "10000",
                "--run_name",
                name,
                "--test_after_fit",
                "false",
                "--trainer.enable_progress_bar",
                "false",
                "--trainer.enable_model_summary",
                "false",
            ]
        )
        == 0
    )
    status = json.loads((Path(tiny_env["DIGITNET_CHECKPOINTS"]) / name / "status.json").read_text())
    assert status["status"] == "stopped"  # by max_steps: 2 mini-batches, inside the first epoch


def test_presets_are_faithful_to_their_sources():
    import yaml

    from digitnet.cli.prepare import expand_preset

    ch1 = yaml.safe_load(presets.get("nielsen-ch1").path.read_text())
    assert ch1["model"]["layers"] == [784, 30, 10] and ch1["model"]["loss"] == "mse"
    assert (
        ch1["model"]["init"] == "gaussian"
        and ch1["model"]["lr"] == 3.0
        and ch1["data"]["batch_size"] == 10
    )
    ch3 = yaml.safe_load(presets.get("nielsen-ch3").path.read_text())
    # lambda / n, as the book scales it
    assert ch3["model"]["weight_decay"] == pytest.approx(5.0 / 50_000)
    assert (
        ch3["model"]["init"] == "scaled_gaussian"
        and ch3["model"]["loss"] == "sigmoid_cross_entropy"
    )
    quick = yaml.safe_load(presets.get("quickstart").path.read_text())
    assert (
        quick["model"]["lr"] == 0.001
        and quick["data"]["shuffle"] is False
        and quick["model"]["normalize"] is False
    )
    assert expand_preset(["fit", "--preset", "cnn"])[1:] == [
        "--config",
        str(presets.get("cnn").path),
    ]


def test_an_unknown_preset_is_one_sentence(capsys):
    assert main(["fit", "--preset", "lenet"]) == 2
    assert "there is no preset 'lenet'" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_trains_each_row_at_its_own_best_rate_and_says_why(tiny_env, tmp_path, capsys):
    out = tmp_path / "compare"
    args = [
        "compare",
        "--epochs",
        "1",
        "--layers",
        "[784, 10]",
        "--lrs",
        "3,0.1",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "compare: [784, 10] on mnist, 1 epochs, batch 64, no momentum, constant rate" in printed
    assert "each row at the learning rate of 0.1 3 with the best validation accuracy" in printed
    records = json.loads(out.with_suffix(".json").read_text())
    assert len(records) == 5
    for record in records:
        tried = record["tried"]
        assert set(tried) == {"0.1", "3"}
        best = max(tried, key=lambda rate: tried[rate]["best_val_acc"])
        assert record["best_lr"] == float(best)  # chosen by validation, not by test
        assert record["test_acc"] == tried[best]["test_acc"]
    why = printed.split("why:\n")[1]
    assert (
        why.count("\n- ") == 4 and "full-batch GD instead of mini-batch SGD: one update an " in why
    )
    assert "1 update in all, where mini-batch SGD made 10." in why  # 600 images, batch 64
    assert main(["compare", "--lrs", "fast"]) == 2
    assert "--lrs 'fast' is not a list of positive learning rates" in capsys.readouterr().err


@pytest.mark.slow
def test_reproduce_reports_a_spread_over_seeds_beside_the_textbooks_own_code(
    tiny_env, tmp_path, capsys
):
    out = tmp_path / "reproduce"
    args = ["reproduce", "nielsen-ch1", "--seeds", "2", "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    record = json.loads(out.with_suffix(".json").read_text())[0]
    assert len(record["runs"]) == 2 and len(record["network_py_runs"]) == 2
    assert record["ours"]["runs"] == 2 and record["network_py"]["runs"] == 2
    ours = sorted(r["test_acc"] for r in record["runs"])
    assert record["ours"]["low"] == ours[0] and record["ours"]["high"] == ours[1]
    table = out.with_suffix(".md").read_text()
    assert "network.py: median (min-max)" in table and "| nielsen-ch1 |" in table
    assert "stuck when it ends more than 10 points below the best run" in table
    assert main(["reproduce", "quickstart", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1" in capsys.readouterr().err


def test_backprop_written_out_matches_finite_differences_and_autograd():
    from digitnet.lecture.passes import backprop, forward, xor_network

    net = xor_network(3)
    x, y = torch.tensor([0.0, 1.0]), torch.tensor([1.0])
    step = backprop(net, x, y, lr=1.0)
    for _, _, analytic, numeric in step.checks:
        assert analytic == pytest.approx(numeric, abs=1e-8)
    leaves = [(w.clone().double().requires_grad_(), b.clone().double()) for w, b in net]
    forward(leaves, x.double(), y.double()).terms.sum().backward()
    for (w, _), grad in zip(leaves, step.weight_grads):
        assert torch.allclose(w.grad, grad, atol=1e-12)  # BP4 is autograd's gradient
    assert step.cost_after < step.cost_before


def test_the_backprop_command_writes_the_step_out(capsys):
    assert main(["backprop", "--lr", "2"]) == 0
    out = capsys.readouterr().out
    assert "δ of layer 2 (BP1: (a − y) ⊙ σ'(z))" in out and "BP4" in out
    before, after = (
        float(w) for w in out.split("cost before ")[1].split(" (")[0].split(", after ")
    )
    assert after < before


@pytest.mark.slow
def test_forward_shows_each_layer_and_the_cost_and_agrees_with_predict(tiny_env, tmp_path, capsys):
    from PIL import Image

    assert main(["fit", "--run_name", "fw", "--trainer.max_epochs", "1", "--model.layers",
                 "[784, 16, 10]", "--data.val_size", "100"]) == 0  # fmt: skip
    image = tmp_path / "digit.png"
    pixels = torch.zeros(28, 28, dtype=torch.uint8)
    pixels[6:22, 12:16] = 255
    Image.fromarray(pixels.numpy()).save(image)
    capsys.readouterr()
    assert main(["forward", "--ckpt_path", "fw", "--label", "1", str(image)]) == 0
    out = capsys.readouterr().out
    assert "layer 1: z = W a + b (16 neurons" in out and "a = softmax(z)" in out
    shown = [float(line.split("=")[1].split()[0]) for line in out.splitlines() if "  a_" in line]
    assert main(["predict", "--ckpt_path", "fw", str(image)]) == 0
    predicted = capsys.readouterr().out
    assert len(shown) == 10 and sum(shown) == pytest.approx(1.0, abs=1e-3)
    theirs = [float(p.split(":")[1]) for p in predicted.split("[")[1].split("]")[0].split()]
    assert shown == pytest.approx(theirs, abs=1e-3)  # the same network, the same answer
    assert "cost C = −Σ y_j ln a_j" in out


def test_gates_draws_the_cost_surface_and_the_descent_path(capsys):
    assert main(["gates", "--surface", "OR"]) == 0
    out = capsys.readouterr().out.splitlines()
    plot = [line for line in out if line.endswith("|")]
    assert len(plot) == 20 and all(len(line) == len(plot[0]) for line in plot)
    assert sum("S" in line for line in plot) == 1 and sum("E" in line for line in plot) == 1
    before, after = out[-1].split("C ")[-1].split(" in ")[0].split(" -> ")
    assert float(after) < float(before)
