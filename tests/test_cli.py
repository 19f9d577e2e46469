"""The command line as a user meets it, on tiny generated data (in-process, for speed)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitnet.cli.main import main
from faults import Payload

FAST = [
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.enable_model_summary",
    "false",
    "--data.val_size",
    "100",
    "--model.layers",
    "[784, 32, 10]",
    "--trainer.log_every_n_steps",
    "2",
]


def fit(*args: str) -> int:
    return main(["fit", *FAST, *args])


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def epochs_in_metrics(run: Path) -> list[int]:
    with open(run / "metrics.csv") as handle:
        return sorted({int(row["epoch"]) for row in csv.DictReader(handle) if row.get("val_acc")})


@pytest.mark.slow
def test_fit_writes_a_complete_run_folder_and_tests_the_best_checkpoint(tiny_env, capsys):
    assert fit("--run_name", "first", "--trainer.max_epochs", "3") == 0
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "first"
    for name in (
        "config.yaml",
        "hparams.yaml",
        "metrics.csv",
        "events.jsonl",
        "status.json",
        "last.ckpt",
        "best.ckpt",
    ):
        assert (run / name).is_file(), name
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "finished" and status["epoch"] == 3
    assert status["best_val_acc"] > 0.9  # the tiny digits are easy
    out = capsys.readouterr().out
    assert (
        "run first: 784-32-10 relu, 25,408 weights and 42 biases, mnist, batch 64, 3 epochs" in out
    )
    assert "run first: test accuracy " in out and "on the 200 test images (best.ckpt)" in out
    events = [json.loads(line)["event"] for line in (run / "events.jsonl").read_text().splitlines()]
    assert events[0] == "start" and events.count("epoch") == 3 and "test" in events


@pytest.mark.slow
def test_the_dashboards_curves_are_the_rows_of_metrics_csv(tiny_env):
    """One path per metric: every value in metrics.csv is a ``metrics`` line of events.jsonl at
    the same update count, and the dashboard's series are exactly those."""
    from digitnet.dashboard.state import RunView
    from digitnet.runs.layout import iter_events

    assert fit("--run_name", "same", "--trainer.max_epochs", "2", "--test_after_fit", "false") == 0
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "same"
    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    events = [e for e in iter_events(run) if e["event"] == "metrics"]
    for name in ("train_loss", "lr", "val_loss", "val_acc"):
        from_csv = [(int(r["step"]), float(r[name])) for r in rows if r.get(name)]
        from_events = [(e["step"], e[name]) for e in events if name in e]
        assert from_csv == pytest.approx(from_events) and len(from_csv) > 1, name
    view = RunView()
    for event in iter_events(run):
        view.apply(event)
    train = [(int(r["step"]), float(r["train_loss"])) for r in rows if r.get("train_loss")]
    assert list(zip(view.train_loss.steps, view.train_loss.values)) == pytest.approx(train)
    lr = [float(r["lr"]) for r in rows if r.get("lr")]
    assert lr[0] > lr[-1] > 0  # the cosine schedule, falling


@pytest.mark.slow
def test_resume_continues_the_same_run_in_place(tiny_env):
    assert fit("--run_name", "r", "--trainer.max_epochs", "2") == 0
    assert fit("--ckpt_path", "r", "--trainer.max_epochs", "4") == 0
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert [p.name for p in root.iterdir()] == ["r"]
    assert epochs_in_metrics(root / "r") == [0, 1, 2, 3]
    status = json.loads((root / "r" / "status.json").read_text())
    assert status["epoch"] == 4 and status["status"] == "finished"
    starts = [
        json.loads(line)
        for line in (root / "r" / "events.jsonl").read_text().splitlines()
        if '"start"' in line
    ]
    assert [s["resumed"] for s in starts] == [False, True]


@pytest.mark.slow
def test_resuming_a_finished_run_changes_nothing(tiny_env, capsys):
    assert fit("--run_name", "done", "--trainer.max_epochs", "2") == 0
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "done"
    # the run's files; .lock is the lock's own bookkeeping (who holds it now)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"}
    capsys.readouterr()
    assert fit("--ckpt_path", "done", "--trainer.max_epochs", "2") == 2
    assert (
        "run done already finished 2 epochs; raise --trainer.max_epochs above 2 to continue."
        in capsys.readouterr().err
    )
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"} == before


@pytest.mark.slow
def test_resume_last_picks_the_newest_run(tiny_env):
    assert fit("--run_name", "old", "--trainer.max_epochs", "1") == 0
    assert fit("--run_name", "new", "--trainer.max_epochs", "1") == 0
    assert fit("--ckpt_path", "last", "--trainer.max_epochs", "2") == 0
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert epochs_in_metrics(root / "new") == [0, 1]
    assert epochs_in_metrics(root / "old") == [0]


@pytest.mark.slow
def test_resume_rebuilds_the_runs_own_architecture(tiny_env):
    assert (
        fit(
            "--run_name",
            "sig",
            "--trainer.max_epochs",
            "1",
            "--model.activation",
            "sigmoid",
            "--model.layers",
            "[784, 16, 10]",
        )
        == 0
    )
    assert (
        main(
            [
                "fit",
                "--ckpt_path",
                "sig",
                "--trainer.max_epochs",
                "2",
                "--trainer.enable_progress_bar",
                "false",
            ]
        )
        == 0
    )
    status = json.loads(
        (Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "sig" / "status.json").read_text()
    )
    assert status["summary"] == "784-16-10 sigmoid" and status["epoch"] == 2


@pytest.mark.slow
def test_test_and_validate_evaluate_a_saved_run(tiny_env, capsys):
    assert fit("--run_name", "t", "--trainer.max_epochs", "1") == 0
    capsys.readouterr()
    assert main(["test", "--ckpt_path", "t", "--trainer.enable_progress_bar", "false"]) == 0
    assert "test_acc" in capsys.readouterr().out
    assert main(["validate", "--ckpt_path", "last", "--trainer.enable_progress_bar", "false"]) == 0
    assert "val_acc" in capsys.readouterr().out


@pytest.mark.slow
def test_runs_lists_status_epochs_and_best_accuracy(tiny_env, capsys):
    assert fit("--run_name", "listed", "--trainer.max_epochs", "1") == 0
    capsys.readouterr()
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["status", "name", "best", "test", "time", "data", "epochs", "tags"]
    line = next(row for row in out if " listed " in row).split()
    assert line[:2] == ["finished", "listed"] and float(line[2]) > 50
    assert "mnist" in line and "1/1" in line and "on 200" in " ".join(line)  # tiny: 200 test images


@pytest.mark.slow
def test_predict_prints_class_and_ten_probabilities(tiny_env, tmp_path, capsys):
    from PIL import Image

    from tiny import digits

    assert fit("--run_name", "p", "--trainer.max_epochs", "3") == 0
    images, labels = digits(4, seed=9)
    files = []
    for i, image in enumerate(images):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(image).resize((56, 56)).save(path)  # another size: it is brought to 28x28
        files.append(str(path))
    capsys.readouterr()
    assert main(["predict", "--ckpt_path", "p", "--background", "black", *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line in lines:
        assert line.count(":") >= 11  # name, then 10 class:probability pairs
    assert all(f"digit{i}.png: " in lines[i] for i in range(4))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--data.dataset", "cifar"], "dataset must be one of"),
        (["--model.lr", "0"], "lr must be a positive"),
        (["--model.lr", "nan"], "model.lr"),
        (["--data.batch_size", "0"], "batch_size must be a whole number"),
        (["--model.layers", "[]"], "layers"),
        (["--model.layers", "[784, 0, 10]"], "at least 1 neuron"),
        (["--model.activation", "tanh"], "activation must be one of"),
        (["--model.bogus", "1"], "bogus"),
        (["--ckpt_path", "no-such-run"], "neither 'last', a run"),
        (["--ckpt_path", ""], "--ckpt_path is empty"),
        (["--preset", "../../../../../../../../../../etc/hostname"], "there is no preset"),
        (["--model.layers", "[784, 1000000000, 10]"], "GB of memory to train"),
        (["--model.lr", "1e39"], "lr must be a positive number of at most 1e6, got 1e+39"),
        (["--trainer.max_epochs", "0"], "--trainer.max_epochs must be at least 1, got 0;"),
        (["--trainer.max_epochs", "-1"], "--trainer.max_epochs must be at least 1, got -1;"),
        (["--seed_everything", "-1"], "--seed_everything must lie between 0 and 4294967295"),
        (["--seed_everything", str(2**70)], "--seed_everything must lie between 0 and"),
        (["--run_name", "last"], "run name 'last' is a word --ckpt_path reads another way"),
        (["--run_name", "None"], "run name 'None' is a word --ckpt_path reads another way"),
        (
            ["--trainer.accelerator", "cuda"]
            if not __import__("torch").cuda.is_available()
            else ["--trainer.devices", "99"],
            "available",
        ),
    ],
)
def test_bad_input_gives_one_sentence_and_exit_2(tiny_env, capsys, args, words):
    assert main(["fit", *args]) == 2
    # in-process, earlier log lines may precede it
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("digitnet: error: ") and words in err
    assert not Path(tiny_env["DIGITNET_CHECKPOINTS"]).exists() or not any(
        Path(tiny_env["DIGITNET_CHECKPOINTS"]).iterdir()
    )


def test_test_without_a_checkpoint_refuses_to_evaluate_an_untrained_network(tiny_env, capsys):
    assert main(["test"]) == 2
    assert "needs --ckpt_path" in capsys.readouterr().err


def test_a_preset_name_cannot_climb_out_of_the_presets_folder(tiny_env, tmp_path, capsys):
    from digitnet.lecture import presets

    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("trainer:\n  max_epochs: 1\n")
    climb = os.path.relpath(outside.with_suffix(""), presets.all_presets()[0].path.parent)
    assert climb.startswith("..")
    assert main(["fit", "--preset", climb]) == 2
    assert "there is no preset" in capsys.readouterr().err


def test_a_config_that_is_not_utf8_gets_one_sentence(tiny_env, tmp_path, capsys):
    config = tmp_path / "latin1.yaml"
    config.write_bytes("model:\n  activation: relu # caf\xe9\n".encode("latin-1"))
    assert main(["fit", "--config", str(config)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_a_run_name_or_checkpoints_folder_that_is_a_file_is_refused(tiny_env, capsys):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    root.mkdir(parents=True)
    (root / "taken").write_text("a file")
    assert main(["fit", *FAST, "--run_name", "taken"]) == 2
    assert "is a file, not a run folder" in capsys.readouterr().err
    assert (root / "taken").read_text() == "a file"
    assert main(["fit", *FAST, "--checkpoints_dir", str(root / "taken")]) == 2
    assert "is a file; point --checkpoints_dir" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_answers_honestly_on_images_with_nothing_to_classify(tiny_env, tmp_path, capsys):
    from PIL import Image

    assert fit("--run_name", "p", "--trainer.max_epochs", "1") == 0
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    os.mkfifo(tmp_path / "pipe.png")
    for name, words in [
        ("blank.png", "no digit found"),
        ("dot.png", "no digit found"),
        ("pipe.png", "is not a regular file"),
        (".", "is a directory"),
    ]:
        capsys.readouterr()
        assert main(["predict", "--ckpt_path", "p", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, name


@pytest.mark.slow
def test_predict_shrinks_a_huge_image_and_refuses_a_decompression_bomb(tiny_env, tmp_path, capsys):
    from PIL import Image

    from tiny import digits

    assert fit("--run_name", "p", "--trainer.max_epochs", "1") == 0
    Image.fromarray(digits(1, seed=4)[0][0]).resize((3000, 3000)).save(tmp_path / "big.jpg")
    assert (
        main(["predict", "--ckpt_path", "p", "--background", "black", str(tmp_path / "big.jpg")])
        == 0
    )
    # 144 Mpixel: over Pillow's guard x 1.6
    Image.new("L", (12000, 12000), 0).save(tmp_path / "bomb.png")
    capsys.readouterr()
    assert main(["predict", "--ckpt_path", "p", str(tmp_path / "bomb.png")]) == 2
    assert "decompression bomb" in capsys.readouterr().err


@pytest.mark.slow
def test_a_checkpoint_with_nan_weights_or_wrong_types_is_refused(tiny_env, tmp_path, capsys):
    import torch

    assert fit("--run_name", "p", "--trainer.max_epochs", "1") == 0
    good = torch.load(Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "p" / "last.ckpt", weights_only=True)
    cases = {
        "nan.ckpt": (
            {**good, "state_dict": {k: v * float("nan") for k, v in good["state_dict"].items()}},
            "not finite",
        ),
        "types.ckpt": ({**good, "state_dict": [1, 2]}, "not a mapping of named tensors"),
        "hparams.ckpt": (
            {**good, "hyper_parameters": "layers"},
            "hyper_parameters are not a mapping",
        ),
        "empty.ckpt": (None, "is not a checkpoint: it is empty; give a .ckpt file"),
    }
    for name, (content, words) in cases.items():
        path = tmp_path / name
        if content is None:
            path.write_bytes(b"")
        else:
            content.pop("digitnet_weights_sha256", None)
            torch.save(content, path)
        capsys.readouterr()
        assert main(["predict", "--ckpt_path", str(path), str(path)]) == 2, name
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (name, err)


@pytest.mark.slow
def test_a_corrupt_idx_file_is_named_and_the_file_left_alone(tiny_env, tmp_path, capsys):
    import shutil

    data = tmp_path / "bad-data"
    shutil.copytree(tiny_env["DIGITNET_DATA"], data)
    victim = data / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:-7])
    before = victim.read_bytes()
    assert main(["fit", *FAST, "--data.data_dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "train-labels-idx1-ubyte" in err and "SHA-256" in err
    assert victim.read_bytes() == before


@pytest.mark.slow
def test_a_missing_data_set_lists_the_sources_tried(tiny_env, tmp_path, capsys, monkeypatch):
    import dataclasses

    from digitnet.data import sources

    info = dataclasses.replace(
        sources.CATALOG["fashion_mnist"], system_dirs=(str(tmp_path / "nowhere"),)
    )
    monkeypatch.setitem(sources.CATALOG, "fashion_mnist", info)
    assert (
        main(
            [
                "fit",
                *FAST,
                "--data.dataset",
                "fashion_mnist",
                "--data.data_dir",
                str(tmp_path / "empty"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "could not be found or fetched" in err
        and "system copy" in err
        and "DIGITNET_OFFLINE" in err
    )
    assert "apt-get install dataset-fashion-mnist" in err


def _run_with_checkpoint(tiny_env) -> Path:
    assert fit("--run_name", "good", "--trainer.max_epochs", "1") == 0
    return Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "good"


@pytest.mark.slow
def test_truncated_and_foreign_checkpoints_are_refused_and_nothing_is_touched(
    tiny_env, tmp_path, capsys
):
    run = _run_with_checkpoint(tiny_env)
    before = folder_digest(run)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes((run / "last.ckpt").read_bytes()[:5000])
    not_a_checkpoint = tmp_path / "notes.ckpt"
    not_a_checkpoint.write_text("hello")
    for path, words in (
        (truncated, "is truncated or damaged: its archive does not read whole; use another"),
        (not_a_checkpoint, "is not a checkpoint: it is text (it starts with 'hello'); give a"),
    ):
        capsys.readouterr()
        assert main(["fit", "--ckpt_path", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path} {words}" in err and err.rstrip().endswith("."), err
    import torch

    foreign = tmp_path / "foreign.ckpt"  # settings say 99 hidden neurons, the weights hold 32
    checkpoint = torch.load(run / "last.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["layers"] = [784, 99, 10]
    torch.save(checkpoint, foreign)
    for command in ("fit", "test"):
        assert main([command, "--ckpt_path", str(foreign)]) == 2
        err = capsys.readouterr().err
        assert (
            "another architecture" in err and "network.stack.0.weight" in err and "(99, 784)" in err
        )
    assert folder_digest(run) == before


def test_a_crafted_pickle_never_runs_even_with_the_force_variable(
    tiny_env, tmp_path, capsys, monkeypatch
):
    import torch

    mark = tmp_path / "pwned"
    monkeypatch.setenv("PAYLOAD_MARK", str(mark))
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "x": Payload()}, evil)
    for command in (
        ["fit", "--ckpt_path", str(evil)],
        ["test", "--ckpt_path", str(evil)],
        ["predict", "--ckpt_path", str(evil), str(evil)],
    ):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "was refused: it holds pickled objects beyond plain weights (" in err
        assert "open), which could run code when loaded" in err
    from digitnet import DigitClassifier
    from digitnet.errors import CheckpointError

    with pytest.raises(CheckpointError, match="could run code"):
        DigitClassifier.load_from_checkpoint(evil)
    assert not mark.exists()


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_installed_command_exits_2_without_a_traceback(tiny_env):
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", "fit", "--model.lr", "-1"],
        capture_output=True,
        text=True,
        env=tiny_env,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "digitnet: error: lr must be a positive number of at most 1e6, got -1.0; try 0.01."
    ]


@pytest.mark.parametrize("command", ["fit", "test"])
def test_the_help_says_what_ckpt_path_means_in_digitnet(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--ckpt_path CKPT_PATH the run to" in text and "``last`` (the newest run" in text
    assert "hpc" not in text and "--weights_only" not in text  # Lightning's own meanings


@pytest.mark.subprocess
def test_help_does_not_import_torch():
    code = (
        "import sys; from digitnet.cli.main import main; main(['--help']); print('torch' in "
        "sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().endswith("False")
    assert "usage: digitnet" in result.stdout


@pytest.mark.slow
def test_a_diverging_run_stops_is_marked_diverged_and_keeps_no_nan_checkpoint(tiny_env, capsys):
    import torch

    assert fit("--run_name", "boom", "--model.lr", "1e6", "--trainer.max_epochs", "3") == 2
    err = capsys.readouterr().err
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "boom"
    saved = (run / "last.ckpt").is_file()  # what the sentence says is kept is there
    assert ("last good checkpoint is kept" if saved else "had saved no checkpoint yet") in err
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "diverged" and status["epoch"] <= 1
    for checkpoint in run.glob("*.ckpt"):
        weights = torch.load(checkpoint, weights_only=True)["state_dict"]
        assert all(torch.isfinite(t).all() for t in weights.values())


@pytest.mark.slow
def test_runs_rename_and_delete_a_run_that_is_not_training(tiny_env, capsys, monkeypatch):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert fit("--trainer.max_epochs", "1", "--run_name", "first") == 0
    assert main(["runs", "rename", "first", "second"]) == 0
    assert "renamed first to second" in capsys.readouterr().out
    assert (root / "second" / "last.ckpt").is_file() and not (root / "first").exists()
    assert main(["fit", *FAST, "--ckpt_path", "second", "--trainer.max_epochs", "2"]) == 0
    for bad, words in [
        (["runs", "rename", "second", "a/b"], "may hold only letters"),
        (["runs", "rename", "nothing", "x"], "there is no run nothing"),
        (["runs", "delete", "second"], "needs a yes: answer at a terminal, or add --yes"),
    ]:
        assert main(bad) == 2
        assert words in capsys.readouterr().err
    (root / "notes").mkdir()
    assert main(["runs", "delete", "notes", "--yes"]) == 2
    assert "is not a digitnet run" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: "n")
    assert main(["runs", "delete", "second"]) == 1 and (root / "second").is_dir()
    monkeypatch.setattr("builtins.input", lambda question: "y")
    assert main(["runs", "delete", "second"]) == 0
    assert not (root / "second").exists() and (root / "notes").is_dir()


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_run_that_trains_is_neither_renamed_nor_deleted(tiny_env, capsys):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert fit("--trainer.max_epochs", "1", "--run_name", "held") == 0
    holder = subprocess.Popen(  # another process holds the run, as a training process does
        [
            sys.executable,
            "-c",
            "import sys, time; from digitnet.runs import lock; "
            f"lock.claim({str(root / 'held')!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip  (it holds the lock until its stdin closes)
    try:
        assert holder.stdout.readline().strip() == "held"
        for command in (["runs", "rename", "held", "other"], ["runs", "delete", "held", "--yes"]):
            assert main(command) == 2
            assert f"is in use by process {holder.pid}" in capsys.readouterr().err
        assert (root / "held" / "last.ckpt").is_file() and not (root / "other").exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
@pytest.mark.subprocess
def test_predict_serve_answers_one_json_line_per_drawing(tiny_env):
    import json
    import subprocess
    import sys

    assert fit("--run_name", "served", "--trainer.max_epochs", "1") == 0
    stroke = [0] * 784
    for row in range(6, 22):
        stroke[row * 28 + 13 : row * 28 + 16] = [255, 255, 255]
    requests = [
        {"id": 1, "pixels": stroke},
        {"id": 2, "pixels": [0] * 784},
        {"id": 3, "pixels": [300] * 784},
        "not json",
        "[" * 100_000,  # nested past Python's limit
        b"\xff\xfe not UTF-8",
        {"id": 4, "pixels": stroke},  # and the helper is still there
    ]
    lines = b"".join(
        (json.dumps(r).encode() if isinstance(r, dict) else r.encode() if isinstance(r, str) else r)
        + b"\n"
        for r in requests
    )
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", "predict", "--serve", "--ckpt_path", "served"],
        input=lines,
        capture_output=True,
        env=tiny_env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answers = [json.loads(line) for line in result.stdout.decode().splitlines()]
    ready, drawn, empty, bad, garbled, nested, not_utf8, again = answers
    assert "nested too deeply" in nested["error"] and "malformed" in not_utf8["error"]
    assert again["id"] == 4 and again["probabilities"] == drawn["probabilities"]
    assert ready == {
        "ready": True,
        "classes": [str(i) for i in range(10)],
        "checkpoint": "last.ckpt",
    }
    assert drawn["id"] == 1 and len(drawn["probabilities"]) == 10
    assert abs(sum(drawn["probabilities"]) - 1) < 1e-4
    assert empty == {"id": 2, "empty": True}
    assert bad["id"] == 3 and "784 numbers from 0 to 255" in bad["error"]
    assert garbled["id"] is None and "malformed" in garbled["error"]


@pytest.mark.subprocess
def test_a_listing_read_by_head_ends_quietly(tiny_env):
    """`digitnet runs | head -1`: the reader leaves after one line; digitnet ends with status 0
    and no traceback (800 runs: more output than a pipe holds)."""
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    for i in range(800):
        (root / f"run-{i:03d}").mkdir(parents=True)
        (root / f"run-{i:03d}" / "status.json").write_text('{"status": "finished"}')
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m digitnet runs | head -1"],
        env=tiny_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.startswith("status ") and len(result.stdout.splitlines()) == 1
    assert result.stderr == ""


@pytest.mark.subprocess
def test_names_that_would_reorder_or_misalign_the_listing_are_escaped_and_measured(tiny_env):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    for name in ("invoice\u202egnp.exe", "実験-一", "zero\u200bwidth"):
        (root / name).mkdir(parents=True)
        (root / name / "status.json").write_text('{"status": "finished", "dataset": "mnist"}')
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", "runs"],
        env=tiny_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "\u202e" not in result.stdout and "\u200b" not in result.stdout
    assert "invoice\\u202egnp.exe" in result.stdout and "zero\\u200bwidth" in result.stdout
    from digitnet.text import cell_width

    rows = result.stdout.splitlines()[1:-1]
    assert len({cell_width(row.split(" mnist ")[0]) for row in rows}) == 1  # rows line up


@pytest.mark.slow
def test_export_to_a_full_disk_is_one_sentence_and_a_stale_temporary_goes(
    tiny_env, tmp_path, capsys, monkeypatch
):
    import errno

    from digitnet.atomic import atomic_file

    assert fit("--run_name", "ex", "--trainer.max_epochs", "1") == 0
    out = tmp_path / "net.pt2"
    (tmp_path / ".net.pt2.abc123.tmp").write_bytes(b"half an export, killed")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("digitnet.model.export.atomic_file", full)
    capsys.readouterr()
    assert main(["export", "--ckpt_path", "ex", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"digitnet: error: could not write {out} (No space left on device); free some space or "
        "give --out a file in a folder you can write.\n"
    )
    monkeypatch.setattr("digitnet.model.export.atomic_file", atomic_file)
    assert main(["export", "--ckpt_path", "ex", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_default_fit_prints_its_progress_result_and_nothing_else(tiny_env):
    """No accelerator lines, tips, summary table with FLOPs 0 or warnings about digitnet's own
    choices: one line on the run, the progress bar, one line on the test."""
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", "fit", "--run_name", "quiet", "--data.val_size", "100"]
        + ["--model.layers", "[784, 16, 10]", "--trainer.max_epochs", "2"],
        env={**tiny_env, "PYTHONWARNINGS": "default"},  # every warning that is not filtered
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    everything = result.stdout + result.stderr
    for noise in ("GPU available", "TPU available", "FLOPs", "Tip:", "Warning", "warn", "stopped"):
        assert noise not in everything, noise
    lines = [line for line in result.stdout.splitlines() if line.startswith("run quiet:")]
    assert len(lines) == 2 and "test accuracy" in lines[1]


@pytest.mark.slow
def test_a_run_saved_with_lightnings_weights_only_key_still_resumes(tiny_env):
    """Runs saved before fit stopped offering ``--weights_only`` have it in their config.yaml."""
    assert fit("--trainer.max_epochs", "1", "--run_name", "older") == 0
    config = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "older" / "config.yaml"
    config.write_text(config.read_text() + "weights_only: null\n")
    assert fit("--ckpt_path", "older", "--trainer.max_epochs", "2") == 0
    assert "weights_only" not in config.read_text()  # saved again as this version writes it


@pytest.mark.subprocess
def test_a_bad_name_or_config_is_refused_before_lightning_is_imported(tiny_env, tmp_path):
    """What needs no network to judge is judged first: a bad --run_name and a config that is not
    YAML are one sentence in a fraction of a second, Lightning never imported."""
    (tmp_path / "broken.yaml").write_text("model: [unclosed\n")
    probe = (
        "import sys; from digitnet.cli.main import main; code = main(sys.argv[1:]); "
        "print(code, 'lightning' in sys.modules, 'torch' in sys.modules)"
    )
    for args in (["--run_name", "bad/name"], ["--config", "broken.yaml"]):
        result = subprocess.run(
            [sys.executable, "-c", probe, "fit", *args],
            env=tiny_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.split() == ["2", "False", "False"], (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "digitnet: error:" in result.stderr
    assert not (tmp_path / "checkpoints").exists()
    # a name YAML would misread (no such date) is a name, as jsonargparse reads it: no traceback
    from digitnet.cli.prepare import check_run_name_option

    check_run_name_option(["fit", "--run_name", "2001-02-30"])
    check_run_name_option(["fit", "--run_name", "bad/name", "--run_name", "good"])  # the last
    check_run_name_option(["test", "--ckpt_path", "last", "--run_name", "Any name"])  # no folder
