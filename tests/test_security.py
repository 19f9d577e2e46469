"""A run folder is untrusted input: resuming one never imports code it names or writes outside it,
and nothing it holds can drive the terminal or the dashboard's markup."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.widgets.run_list import RunList
from digitnet.runs import process as launch
from fake_runs import make_run

PAYLOAD = """
from pathlib import Path
Path(__file__).with_name("PWNED").write_text("the payload ran")
import lightning as L
class Innocent(L.Callback):
    pass
def run(*args, **kwargs):
    Path(__file__).with_name("PWNED").write_text("the payload ran")
"""


def digitnet(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def planted(tiny_env, tmp_path) -> Path:
    """A real, cancelled run ``checkpoints/evil`` holding ``payload.py``, whose import leaves
    PWNED."""
    result = digitnet(
        tiny_env,
        tmp_path,
        "fit",
        "--run_name",
        "evil",
        "--trainer.max_epochs",
        "1",
        "--data.val_size",
        "100",
        "--model.layers",
        "[784, 8, 10]",
        "--test_after_fit",
        "false",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "evil"
    (run / "payload.py").write_text(PAYLOAD)
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "status": "cancelled"}))
    return run


def plant_config(run: Path, **trainer: object) -> None:
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["fit"]["trainer"].update(trainer) if "fit" in config else config["trainer"].update(
        trainer
    )
    (run / "config.yaml").write_text(yaml.safe_dump(config))


def evil_class(run: Path) -> str:
    """The import path of the payload as seen from the working folder (the checkpoints' parent)."""
    return f"checkpoints.{run.name}.payload.Innocent"


def test_a_planted_callback_is_refused_on_resume_and_never_imported(planted, tiny_env, tmp_path):
    plant_config(planted, callbacks=[{"class_path": evil_class(planted)}], max_epochs=2)
    before = (planted / "last.ckpt").read_bytes()
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil")
    assert result.returncode == 2
    assert f"names {evil_class(planted)} at trainer.callbacks[0].class_path" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (planted / "PWNED").exists()
    assert (planted / "last.ckpt").read_bytes() == before


def test_a_function_named_as_a_plain_string_is_refused_too(planted, tiny_env, tmp_path):
    plant_config(
        planted,
        callbacks=[
            {
                "class_path": "lightning.pytorch.callbacks.LambdaCallback",
                "init_args": {"on_fit_start": "checkpoints.evil.payload.run"},
            }
        ],
    )
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil")
    assert result.returncode == 2
    assert "lightning.pytorch.callbacks.LambdaCallback" in result.stderr
    assert not (planted / "PWNED").exists()


def test_the_dashboards_resume_of_a_planted_run_runs_nothing(planted, tiny_env, tmp_path):
    plant_config(planted, callbacks=[{"class_path": evil_class(planted)}], max_epochs=2)
    process = launch.resume(planted)
    assert process.wait(timeout=120) == 2
    assert "which digitnet never imports from a run folder" in (planted / "output.log").read_text()
    assert not (planted / "PWNED").exists()


def test_a_launched_run_does_not_import_from_the_working_folder(
    planted, tiny_env, tmp_path, monkeypatch
):
    """Even a class the user allowed by name is not found in the working folder: it is off
    sys.path."""
    monkeypatch.setenv("DIGITNET_ALLOW_CLASSES", evil_class(planted))
    plant_config(planted, callbacks=[{"class_path": evil_class(planted)}], max_epochs=2)
    assert launch.resume(planted).wait(timeout=120) != 0
    assert not (planted / "PWNED").exists()
    result = digitnet(
        {**tiny_env, "DIGITNET_ALLOW_CLASSES": evil_class(planted)},
        tmp_path,
        "fit",
        "--ckpt_path",
        "evil",
    )
    assert result.returncode != 0
    assert not (planted / "PWNED").exists()


@pytest.mark.parametrize("key", ["dirpath", "save_dir"])
def test_a_resumed_config_cannot_write_outside_its_run(planted, tiny_env, tmp_path, key):
    elsewhere = tmp_path / "elsewhere"
    entry = (
        {
            "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
            "init_args": {"dirpath": str(elsewhere)},
        }
        if key == "dirpath"
        else {
            "class_path": "lightning.pytorch.loggers.CSVLogger",
            "init_args": {"save_dir": str(elsewhere)},
        }
    )
    plant_config(
        planted, **({"callbacks": [entry]} if key == "dirpath" else {"logger": entry}), max_epochs=2
    )
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil")
    assert result.returncode == 2
    assert "outside the run folder" in result.stderr and key in result.stderr
    assert not elsewhere.exists()


def test_an_allowed_callback_in_a_resumed_config_still_works(planted, tiny_env, tmp_path):
    plant_config(
        planted,
        max_epochs=2,
        callbacks=[{"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"}],
    )
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil", "--test_after_fit", "false")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((planted / "status.json").read_text())["epoch"] == 2


def test_runs_prints_escape_sequences_from_a_run_folder_harmlessly(tiny_env, tmp_path):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    run = make_run(root, "x\x1b[2Jy\x1b]0;owned\x07", error="boom")
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(
        json.dumps({**status, "dataset": "\x1b[31mred", "summary": "\x9b2J"})
    )
    result = digitnet(tiny_env, tmp_path, "runs")
    assert result.returncode == 0
    assert (
        "\x1b" not in result.stdout and "\x07" not in result.stdout and "\x9b" not in result.stdout
    )
    assert "x\\x1b[2Jy" in result.stdout and "\\x1b[31mred" in result.stdout


async def test_run_folder_text_is_never_read_as_markup(tiny_env):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    make_run(root, "[red]x[b]", status="failed", error="boom [/red] [/]")
    make_run(root, "plain", age=900)
    app = DashboardApp(root=root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause(0.5)
        run_list = app.query_one(RunList)
        assert run_list.row_count == 2
        names = [str(run_list.get_row_at(i)[1]).strip() for i in range(2)]
        assert "[red]x[b]" in names
        run_list.select("[red]x[b]")
        await pilot.press("5")  # Details
        await pilot.pause(0.5)
        assert app.is_running


async def test_wrongly_typed_fields_do_not_crash_the_dashboard_or_runs(tiny_env, tmp_path):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    run = make_run(root, "odd")
    (run / "status.json").write_text(
        json.dumps(
            {
                "status": 3,
                "epoch": "x",
                "best_val_acc": "high",
                "updated": [1],
                "dataset": {"a": 1},
                "error": None,
            }
        )
    )
    with open(run / "events.jsonl", "a") as handle:
        handle.write(
            json.dumps({"event": "step", "step": "x", "train_loss": "y", "epoch": None}) + "\n"
        )
        handle.write(json.dumps({"event": "epoch", "epoch": "2", "val_acc": [1]}) + "\n")
        handle.write(json.dumps(["not", "an", "event"]) + "\n")
    assert digitnet(tiny_env, tmp_path, "runs").returncode == 0
    app = DashboardApp(root=root)
    async with app.run_test(size=(100, 32)) as pilot:
        for tab in "123456":
            await pilot.press(tab)
            await pilot.pause(0.2)
        assert app.is_running
    time.sleep(0)
