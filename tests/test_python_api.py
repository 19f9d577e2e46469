"""The README's Python example runs as written (on tiny generated data)."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here trains


README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example(holding: str) -> str:
    """The README's Python example that holds ``holding``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(block for block in blocks if holding in block)


def test_the_readme_train_example_runs(tiny_env, capsys):
    code = readme_example("train(").replace('"epochs": 3}', '"epochs": 3, "val_size": 100}')
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "run lr0.1: 784-100-10 relu" in printed and "test accuracy" in printed
    assert Path("checkpoints/lr0.1/best.ckpt").is_file()
    assert re.fullmatch(r"[01]\.\d+ [01]\.\d+", printed.splitlines()[-1]), printed[-200:]


def test_the_readme_python_example_runs_and_resumes_in_place(tiny_env, capsys, monkeypatch):
    monkeypatch.setenv("DIGITNET_CHECKSUMS", tiny_env["DIGITNET_CHECKSUMS"])
    code = readme_example("run_folder")
    code = code.replace(
        'DigitDataModule(dataset="mnist", batch_size=64)',
        'DigitDataModule(dataset="mnist", batch_size=64, val_size=100)',
    )
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    run = Path("checkpoints/py-demo")
    assert (run / "last.ckpt").is_file() and (run / "best.ckpt").is_file()
    assert namespace["trainer"].current_epoch == 4
    assert "(0): Linear(in_features=784, out_features=512, bias=True)" in capsys.readouterr().out
    rows = (run / "metrics.csv").read_text().splitlines()
    epochs = {line.split(",")[0] for line in rows[1:]}
    assert epochs == {"0", "1", "2", "3"}


def fit_beside(run: Path, logger) -> None:
    """Two epochs on tiny data into the run folder ``run``, with ``logger`` beside its own."""
    import lightning as L

    from digitnet import DigitClassifier, DigitDataModule, run_folder

    trainer = L.Trainer(
        max_epochs=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        **run_folder(run, log_every_n_steps=10, loggers=[logger] if logger else None),
    )
    model = DigitClassifier(layers=[784, 8, 10])
    trainer.fit(model, datamodule=DigitDataModule(batch_size=16, val_size=100))
    assert (run / "status.json").is_file() and (run / "last.ckpt").is_file()


def test_another_lightning_logger_works_beside_the_run_folder(tiny_env, tmp_path):
    """Any Lightning logger can be added; here Lightning's own CSVLogger (the run folder keeps its
    own)."""
    import csv

    from lightning.pytorch.loggers import CSVLogger

    fit_beside(tmp_path / "run", CSVLogger(tmp_path / "elsewhere", name="x", version=0))
    ours = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    theirs = list(csv.DictReader(open(tmp_path / "elsewhere" / "x" / "version_0" / "metrics.csv")))
    steps = [r["step"] for r in theirs if r.get("train_loss")]
    assert [r["step"] for r in ours if r["train_loss"]] == steps
    accs = [r["val_acc"] for r in theirs if r.get("val_acc")]
    assert [r["val_acc"] for r in ours if r["val_acc"]] == accs


def test_a_tensorboard_logger_logs_the_same_run_beside_the_run_folder(tiny_env, tmp_path):
    """TensorBoardLogger (through tensorboardX or tensorboard) beside the run folder's own files."""
    from lightning.pytorch.loggers import TensorBoardLogger

    fit_beside(tmp_path / "run", TensorBoardLogger(tmp_path / "tb", name="digits", version=0))
    events = list((tmp_path / "tb" / "digits" / "version_0").glob("events.out.tfevents.*"))
    assert len(events) == 1
    written = events[0].read_bytes()
    for tag in (b"train_loss", b"lr", b"val_loss", b"val_acc"):
        assert tag in written  # each scalar's tag is stored verbatim in the event records
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,lr,step") and len(rows) > 2
    assert (tmp_path / "run" / "best.ckpt").is_file()


def test_a_run_records_its_processes_cpu_and_memory_for_the_dashboard(tiny_env, tmp_path):
    import json

    import lightning as L

    from digitnet import DigitClassifier, DigitDataModule, run_folder

    run = tmp_path / "sampled"
    trainer = L.Trainer(
        max_epochs=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        **run_folder(run, log_every_n_steps=10, system_seconds=0.05),
    )
    model = DigitClassifier(layers=[784, 64, 10])
    trainer.fit(model, datamodule=DigitDataModule(batch_size=16, val_size=100, steps_per_call=1))
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    samples = [e for e in events if e["event"] == "system"]
    assert len(samples) >= 2, "a two-epoch run of over a second sampled at most every 0.05 s"
    for sample in samples:
        assert sample["cpu_percent"] >= 0 and 50 < sample["rss_mb"] < 100_000
        assert "gpu_mem_mb" not in sample  # on the CPU: no GPU figures
    times = [s["t"] for s in samples]
    assert all(b - a >= 0.04 for a, b in zip(times, times[1:])), times  # never more often
    assert [s["step"] for s in samples] == sorted(s["step"] for s in samples)


def test_each_checkpoint_leaves_the_first_layers_weights_for_the_weights_tab(tiny_env, tmp_path):
    import json

    import numpy as np
    import torch

    from digitnet.runs.layout import read_weights

    run = tmp_path / "weighed"
    fit_beside(run, logger=None)
    weights = read_weights(run)
    state = torch.load(run / "last.ckpt", weights_only=True)["state_dict"]
    first = state["network.stack.0.weight"].numpy().reshape(8, 28, 28)
    assert weights.shape == (8, 28, 28)
    assert np.allclose(weights, first, atol=1e-3, rtol=1e-3)  # stored as float16
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "weights"] == [1, 2]  # once an epoch
