"""The update engines: written-out backpropagation gives autograd's weights, on the CPU, in every
setting it supports; the Trainer options it cannot honour are refused in one sentence."""

from __future__ import annotations

import pytest
import torch

from digitnet import DigitClassifier, DigitDataModule
from digitnet.cli.main import main
from digitnet.model import engine as engines
from digitnet.model.engine import backprop
from digitnet.model.networks import COSTS
from trainers import bare_trainer

UPDATES = 100


def train(
    engine: str,
    precision: str = "32-true",
    updates: int = UPDATES,
    steps_per_call: int = 1,
    batch_size: int = 16,
    **model_kwargs,
) -> DigitClassifier:
    """``updates`` updates of ``batch_size`` (by default one per training step), on the CPU."""
    torch.manual_seed(11)
    model = DigitClassifier(layers=[784, 12, 10], engine=engine, **model_kwargs)
    full_batch = model_kwargs.get("optimizer") == "gd"  # as digitnet fit links them
    data = DigitDataModule(
        "mnist",
        batch_size=batch_size,
        val_size=10_000,
        seed=5,
        steps_per_call=steps_per_call,
        full_batch=full_batch,
    )
    # whole epochs when k > 1: max_steps counts mini-batches, which k > 1 would group
    epochs = updates * batch_size // 600 if steps_per_call > 1 else -1
    trainer = bare_trainer(
        max_steps=updates if steps_per_call == 1 else -1, max_epochs=epochs, precision=precision
    )
    trainer.fit(model, datamodule=data)
    assert trainer.global_step * steps_per_call == model.updates == updates
    assert engine == "auto" or model.engine.name == engine
    return model


SETTINGS = {
    "sgd-momentum-decay": dict(optimizer="sgd", momentum=0.9, weight_decay=1e-3, lr=0.05),
    "sgd-plain": dict(optimizer="sgd", momentum=0.0, lr=0.5),
    "gd": dict(optimizer="gd", lr=0.5, schedule="constant"),
    "adam-decay": dict(optimizer="adam", weight_decay=1e-3, lr=1e-3),
}


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("loss", list(COSTS))
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.slow
def test_backprop_gives_autograd_weights_in_float32(tiny_env, activation, loss, setting):
    # gd: one update per epoch, from the whole training split
    updates = 3 if setting == "gd" else UPDATES
    kwargs = dict(activation=activation, loss=loss, **SETTINGS[setting])
    ours = train("backprop", updates=updates, **kwargs).state_dict()
    reference = train("autograd", updates=updates, **kwargs).state_dict()
    for name in reference:
        assert torch.allclose(ours[name], reference[name], atol=1e-6, rtol=0), name


@pytest.mark.parametrize("setting", ["sgd-momentum-decay", "sgd-plain"])
@pytest.mark.parametrize("loss", list(COSTS))
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.slow
def test_backprop_folded_into_sgd_gives_autograd_weights(
    tiny_env, monkeypatch, activation, loss, setting
):
    """Five updates a training step (600 images at batch 20: 6 steps an epoch, 3 epochs): the
    first is Lightning's optimizer step, the other four fold each gradient into its update
    (``backprop_sgd``), under the cosine schedule."""
    folded = []
    monkeypatch.setattr(
        engines, "backprop_sgd", lambda *a, f=engines.backprop_sgd: folded.append(1) or f(*a)
    )
    kwargs = dict(activation=activation, loss=loss, **SETTINGS[setting])
    ours = train("backprop", updates=90, steps_per_call=5, batch_size=20, **kwargs).state_dict()
    assert len(folded) == 90 * 4 // 5
    reference = train("autograd", updates=90, batch_size=20, **kwargs).state_dict()
    for name in reference:  # the folded step rounds in another order: a few float32 ulps (1.7e-6
        diff = (ours[name] - reference[name]).abs().max().item()  # seen after 90 updates)
        assert torch.allclose(ours[name], reference[name], atol=2e-6, rtol=4e-6), (name, diff)
    # in float64 the same arithmetic agrees to 1e-12: the difference above is rounding alone
    ours = train("backprop", "64-true", 90, steps_per_call=5, batch_size=20, **kwargs)
    reference = train("autograd", "64-true", 90, batch_size=20, **kwargs).state_dict()
    for name, value in ours.state_dict().items():
        assert torch.allclose(value, reference[name], atol=1e-12, rtol=0), name


class NesterovClassifier(DigitClassifier):
    def make_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9, nesterov=True)


@pytest.mark.slow
def test_sgd_with_nesterov_momentum_is_stepped_by_torch_under_backprop(tiny_env, monkeypatch):
    """Nesterov momentum: the updates after a step's first go to torch's SGD, as the first."""
    monkeypatch.setattr(engines, "backprop_sgd", None)  # a call would fail
    models = []
    for engine, k in (("backprop", 5), ("autograd", 1)):
        torch.manual_seed(11)
        model = NesterovClassifier(layers=[784, 12, 10], engine=engine, schedule="constant")
        data = DigitDataModule("mnist", batch_size=20, val_size=10_000, seed=5, steps_per_call=k)
        bare_trainer(max_epochs=1).fit(model, datamodule=data)
        models.append(model.state_dict())
    for name, value in models[0].items():
        assert torch.allclose(value, models[1][name], atol=1e-6, rtol=4e-6), name


@pytest.mark.parametrize("loss", list(COSTS))
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.slow
def test_backprop_gives_autograd_weights_in_float64(tiny_env, activation, loss):
    kwargs = dict(activation=activation, loss=loss, **SETTINGS["sgd-momentum-decay"])
    ours = train("backprop", precision="64-true", **kwargs).state_dict()
    reference = train("autograd", precision="64-true", **kwargs).state_dict()
    for name in reference:
        assert ours[name].dtype == torch.float64
        assert torch.allclose(ours[name], reference[name], atol=1e-12, rtol=0), name


def test_backprop_gradients_match_autograd_on_one_batch():
    torch.manual_seed(0)
    layers = [
        (
            torch.randn(7, 784, dtype=torch.float64, requires_grad=True),
            torch.randn(7, dtype=torch.float64, requires_grad=True),
        ),
        (
            torch.randn(10, 7, dtype=torch.float64, requires_grad=True),
            torch.randn(10, dtype=torch.float64, requires_grad=True),
        ),
    ]
    x, y = torch.randn(5, 784, dtype=torch.float64), torch.tensor([0, 3, 9, 3, 1])
    for activation in ("relu", "sigmoid"):
        for loss, cost_fn in COSTS.items():
            h = x @ layers[0][0].T + layers[0][1]
            h = torch.relu(h) if activation == "relu" else torch.sigmoid(h)
            expected = cost_fn(h @ layers[1][0].T + layers[1][1], y)
            wanted = torch.autograd.grad(expected, [p for pair in layers for p in pair])
            cost, grads = backprop(
                [(w.detach(), b.detach()) for w, b in layers], activation, loss, x, y
            )
            assert float(cost) == pytest.approx(float(expected), abs=1e-12)
            for got, want in zip([g for pair in grads for g in pair], wanted):
                assert torch.allclose(got, want, atol=1e-12), (activation, loss)


@pytest.mark.slow
def test_auto_picks_backprop_for_the_mlp_and_autograd_for_mixed_precision(tiny_env):
    assert train("auto", updates=2).engine.name == "backprop"
    assert train("auto", updates=2, optimizer="adam", lr=1e-3).engine.name == "backprop"
    assert train("auto", updates=2, precision="bf16-mixed").engine.name == "autograd"


FIT = [
    "fit",
    "--data.val_size",
    "10000",
    "--model.layers",
    "[784, 8, 10]",
    "--trainer.max_epochs",
    "1",
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.enable_model_summary",
    "false",
    "--test_after_fit",
    "false",
]


@pytest.mark.slow
def test_float64_trains_from_the_command_line(tiny_env, capsys):
    assert main([*FIT, "--run_name", "f64", "--trainer.precision", "64-true"]) == 0
    weights = torch.load(f"{tiny_env['DIGITNET_CHECKPOINTS']}/f64/last.ckpt", weights_only=True)[
        "state_dict"
    ]
    assert all(t.dtype == torch.float64 for t in weights.values())


@pytest.mark.parametrize(
    "args, words",
    [
        (["--trainer.gradient_clip_val", "0.01"], "gradient_clip_val is not supported"),
        (["--trainer.accumulate_grad_batches", "2"], "accumulate_grad_batches is not supported"),
        (
            ["--model.engine", "backprop", "--trainer.precision", "bf16-mixed"],
            "use --model.engine autograd",
        ),
        (["--model.engine", "backprop", "--model.arch", "cnn"], "for the MLP only"),
        (["--model.engine", "fast"], "engine must be one of auto, autograd, backprop"),
        (["--trainer.max_epochs", "-5"], "max_epochs must be at least 1"),
    ],
)
def test_trainer_options_the_engines_cannot_honour_are_refused(tiny_env, capsys, args, words):
    assert main([*FIT, "--run_name", "refused", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (
        tmp := __import__("pathlib").Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "refused"
    ).exists(), tmp


def test_digitnets_adam_makes_torchs_adam_updates():
    """The fused Adam a run uses against ``torch.optim.Adam`` as the slides write it, on the same
    gradients for 100 updates (weight decay on weights only, as digitnet sets it)."""
    torch.manual_seed(0)
    model = DigitClassifier(layers=[784, 12, 10], optimizer="adam", lr=1e-3, weight_decay=1e-3)
    reference = [p.detach().clone().requires_grad_() for p in model.network.parameters()]
    ours = model.make_optimizer()
    plain = torch.optim.Adam(
        [
            {"params": [p for p in reference if p.ndim > 1], "weight_decay": 1e-3},
            {"params": [p for p in reference if p.ndim <= 1], "weight_decay": 0.0},
        ],
        lr=1e-3,
    )
    for _ in range(100):
        for p, q in zip(model.network.parameters(), reference):
            p.grad = torch.randn_like(p)
            q.grad = p.grad.clone()
        ours.step()
        plain.step()
    for p, q in zip(model.network.parameters(), reference):
        assert torch.allclose(p, q, atol=1e-6, rtol=0)
