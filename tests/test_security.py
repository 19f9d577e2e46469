"""A run folder is untrusted input: resuming one never imports code it names or writes outside it,
and nothing it holds can drive the terminal or the dashboard's markup."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import tiny_variables
from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.widgets.run_list import RunList
from digitnet.errors import RunError
from digitnet.runs import process as launch
from fake_runs import make_run
from screen import looked, row_of, rows_of, shown_text, status_of, wait_for

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


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory) -> Path:
    """One real run, trained once for this file: 1 epoch of a 784-8-10 network on tiny data."""
    work = tmp_path_factory.mktemp("trained")
    env = {**os.environ, **tiny_variables(tiny_data, work / "checkpoints")}
    result = digitnet(
        env,
        work,
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
    return work / "checkpoints" / "evil"


@pytest.fixture
def planted(trained, tiny_env) -> Path:
    """A copy of the real run as ``checkpoints/evil``, marked cancelled (so it may be resumed),
    holding ``payload.py``, whose import leaves PWNED."""
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "evil"
    shutil.copytree(trained, run, symlinks=True)
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


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_planted_callback_is_refused_on_resume_and_never_imported(planted, tiny_env, tmp_path):
    plant_config(planted, callbacks=[{"class_path": evil_class(planted)}], max_epochs=2)
    before = (planted / "last.ckpt").read_bytes()
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil")
    assert result.returncode == 2
    assert f"names {evil_class(planted)} at trainer.callbacks[0].class_path" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (planted / "PWNED").exists()
    assert (planted / "last.ckpt").read_bytes() == before


@pytest.mark.slow
@pytest.mark.subprocess
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


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_dashboards_resume_of_a_planted_run_runs_nothing(planted, tiny_env, tmp_path):
    plant_config(planted, callbacks=[{"class_path": evil_class(planted)}], max_epochs=2)
    process = launch.resume(planted)
    assert process.wait(timeout=120) == 2
    assert "which digitnet never imports from a run folder" in (planted / "output.log").read_text()
    assert not (planted / "PWNED").exists()


@pytest.mark.slow
@pytest.mark.subprocess
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
@pytest.mark.slow
@pytest.mark.subprocess
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


@pytest.mark.slow
@pytest.mark.subprocess
def test_an_allowed_callback_in_a_resumed_config_still_works(planted, tiny_env, tmp_path):
    plant_config(
        planted,
        max_epochs=2,
        callbacks=[{"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"}],
    )
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil", "--test_after_fit", "false")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((planted / "status.json").read_text())["epoch"] == 2


@pytest.mark.subprocess
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
        await looked(pilot)
        assert sorted(row["run"] for row in rows_of(app)) == ["[red]x[b]", "plain"]
        app.query_one(RunList).select("[red]x[b]")
        await pilot.press("5")  # Details
        details = app.query_one("#details")
        await wait_for(
            pilot, lambda: "error: boom [/red] [/]" in shown_text(details), 30, "the error as is"
        )
        assert "[red]x[b]" in shown_text(details)


@pytest.mark.subprocess
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
        await looked(pilot)
        assert status_of(app, "odd") == "failed"  # a status of the wrong type reads failed
        for tab in "123456":
            await pilot.press(tab)
            await looked(pilot)
        assert app.is_running and row_of(app, "odd")["best"] == "-"


# -- round three: a run folder's files are not what their names say ------------------------------

SECRET = "# my own config, with my comments\nlr: 3\n"


@pytest.mark.parametrize(
    "name", ["events.jsonl", "config.yaml", ".lock", "hparams.yaml", "metrics.csv", "status.json"]
)
@pytest.mark.slow
@pytest.mark.subprocess
def test_a_resume_refuses_a_link_it_would_write_through(planted, tiny_env, tmp_path, name):
    """The run is left as it was (status, checkpoint), and so is the file the link points to."""
    target = tmp_path / "mine.txt"
    target.write_text(SECRET)
    before = (planted / "last.ckpt").read_bytes()
    (planted / name).unlink()
    (planted / name).symlink_to(target)
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil", "--trainer.max_epochs", "2")
    assert result.returncode == 2, result.stderr[-2000:]
    assert name in result.stderr and "a symbolic link, not a regular file" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_text() == SECRET
    assert (planted / "last.ckpt").read_bytes() == before
    if name != "status.json":
        assert json.loads((planted / "status.json").read_text())["status"] == "cancelled"


@pytest.mark.slow
def test_the_dashboards_resume_never_appends_to_a_planted_output_log(planted, tmp_path):
    target = tmp_path / "mine.log"
    target.write_text(SECRET)
    (planted / "output.log").unlink(missing_ok=True)
    (planted / "output.log").symlink_to(target)
    with pytest.raises(RunError, match="output.log, which is a symbolic link"):
        launch.resume(planted)
    assert target.read_text() == SECRET


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_planted_data_dir_is_refused_until_the_command_line_names_it(planted, tiny_env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    config = yaml.safe_load((planted / "config.yaml").read_text())
    config["data"]["data_dir"] = str(elsewhere)
    config["trainer"]["max_epochs"] = 2
    (planted / "config.yaml").write_text(yaml.safe_dump(config))
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil")
    assert result.returncode == 2
    assert f"sets data.data_dir to {elsewhere}; a resumed run reads and writes data only" in (
        result.stderr
    )
    assert not elsewhere.exists()


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_resume_with_another_data_set_or_model_is_refused_and_the_run_kept(
    planted, tiny_env, tmp_path
):
    kept = {p.name: p.read_bytes() for p in planted.iterdir() if p.name != ".lock"}
    for change, words in (
        (["--data.dataset", "fashion_mnist"], "was trained with data.dataset mnist"),
        (["--data.batch_size", "32"], "was trained with data.batch_size 64"),
        (["--model.lr", "0.5"], "was trained with model.lr 0.05"),
    ):
        result = digitnet(
            tiny_env, tmp_path, "fit", "--ckpt_path", "evil", "--trainer.max_epochs", "2", *change
        )
        assert result.returncode == 2, result.stderr[-2000:]
        assert words in result.stderr and "a resume may change" in result.stderr
    assert {p.name: p.read_bytes() for p in planted.iterdir() if p.name != ".lock"} == kept


@pytest.mark.slow
@pytest.mark.subprocess
def test_alias_bombs_in_a_config_or_a_checkpoint_are_refused_at_once(planted, tiny_env, tmp_path):
    from test_untrusted import billion_laughs

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    result = digitnet(tiny_env, tmp_path, "fit", "--config", str(bomb))
    assert result.returncode == 2 and "expands to more than 100,000 values" in result.stderr
    (planted / "config.yaml").write_text(billion_laughs())
    result = digitnet(tiny_env, tmp_path, "fit", "--ckpt_path", "evil")
    assert result.returncode == 2 and "expands to more than 100,000 values" in result.stderr
    import torch

    checkpoint = torch.load(planted / "last.ckpt", weights_only=True)
    shared: list = [0] * 10
    for _ in range(9):
        shared = [shared] * 10
    checkpoint["hyper_parameters"]["layers"] = shared
    torch.save(checkpoint, tmp_path / "bomb.ckpt")
    result = digitnet(tiny_env, tmp_path, "test", "--ckpt_path", str(tmp_path / "bomb.ckpt"))
    assert result.returncode == 2 and "expands to more than 100,000 values" in result.stderr


async def test_the_dashboard_over_fifos_shows_the_other_runs_and_quits_on_q(tiny_env):
    from screen import until

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    make_run(root, "good")
    for name in ("status.json", "events.jsonl", "output.log", "weights.npy"):
        odd = make_run(root, f"fifo-{name.split('.')[0]}")
        (odd / name).unlink(missing_ok=True)
        os.mkfifo(odd / name)
    app = DashboardApp(root=root)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: len(rows_of(app)) == 4, 30, "the runs but the FIFO one")
        for name in ("fifo-events", "fifo-output", "fifo-weights", "good"):
            app.query_one(RunList).select(name)
            for tab in "1567":
                await pilot.press(tab)
        await pilot.press("q")
        await until(lambda: not app.is_running, 10, "the dashboard to quit")


NOT_NAMES = ["run\n", "run\x00", "a/b", "run\r", "\nrun", "../run", "run\n\n"]


@pytest.mark.parametrize("bad", NOT_NAMES, ids=repr)
def test_every_name_check_takes_the_whole_name(tmp_path, bad):
    """A pattern checked with ``match`` and ``$`` takes a final newline: every check is whole."""
    from digitnet.cli.common import resolve_checkpoint
    from digitnet.runs import manage, study, trust
    from digitnet.runs.layout import NAME_RE, check_name, check_notes

    make_run(tmp_path, "run")
    with pytest.raises(RunError):
        check_name(bad)  # fit --run_name, runs rename, sweep --study, the form's name
    with pytest.raises(RunError):
        check_notes("", [bad])  # a tag
    with pytest.raises(RunError):
        manage.run_folder_of(tmp_path, bad)  # runs rename/delete/note, the dashboard's keys
    with pytest.raises(RunError):
        resolve_checkpoint(bad, tmp_path)  # --ckpt_path NAME
    found = study.named(f"study:{bad}")  # a filter's words are split at white space
    assert found is None or NAME_RE.fullmatch(found)
    assert not trust.DOTTED.fullmatch(f"lightning.pytorch.callbacks.{bad}")


@pytest.mark.slow  # starts digitnet fit, refused before it trains
@pytest.mark.subprocess
def test_a_name_with_a_final_newline_makes_no_run_folder(tiny_env, tmp_path):
    env = {**tiny_env}
    for args in (["fit", "--run_name", "x\n"], ["runs", "rename", "r", "y\n"]):
        make_run(Path(env["DIGITNET_CHECKPOINTS"]), "r") if args[0] == "runs" else None
        done = subprocess.run(
            [sys.executable, "-m", "digitnet", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert sorted(p.name for p in Path(env["DIGITNET_CHECKPOINTS"]).iterdir()) == ["r"]


async def test_a_clone_of_a_planted_run_names_what_the_form_cannot_hold(tmp_path):
    """A value outside the form's choices (``tanh``) and control characters in a planted run's
    settings: the dashboard stays up, the choice keeps its own value with a sentence under it,
    and text is shown escaped."""
    from textual.widgets import Input, Label, Select

    run = make_run(tmp_path, "planted")
    status = json.loads((run / "status.json").read_text())
    status["settings"] = {
        "model.activation": "tanh",
        "model.lr": "0.1\x1b]0;owned\x07\x1b[2J",
        "model.layers": "784-32-10",
    }
    (run / "status.json").write_text(json.dumps(status))
    app = DashboardApp(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await looked(pilot)
        await pilot.press("k")
        await pilot.pause()
        assert app.query_one("#activation", Select).value == "relu"
        note = shown_text(app.query_one("#activation-problem", Label))
        assert "the run's activation tanh is not one this form offers; relu is shown" in note
        lr = app.query_one("#lr", Input).value
        assert "\x1b" not in lr and "\x07" not in lr and "\\x1b" in lr
        await pilot.press("n")  # a new run starts from the defaults, not the clone
        await pilot.pause()
        assert app.query_one("#lr", Input).value == "0.05"
        assert not app.query_one("#activation-problem", Label).display


async def test_a_read_only_dashboard_offers_only_what_works(tmp_path):
    from textual.widgets import TabbedContent

    make_run(tmp_path, "kept")
    app = DashboardApp(tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot)
        footer = " ".join(shown_text(key) for key in app.screen.query("FooterKey"))
        for word in ("New", "Cancel", "Resume"):
            assert word not in footer, footer
        assert "Compare" in footer or "Chart" in footer
        await pilot.press("9")  # the New-run tab's number
        await pilot.pause()
        tabs = app.query_one(TabbedContent)
        assert tabs.active != "tab-launch" and tabs.get_tab("tab-launch").display is False
