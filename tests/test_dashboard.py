"""The dashboard driven as a person would, with Textual's Pilot, over real training processes on tiny data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from textual.widgets import Button, DataTable, Input, Label, Static

from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.screens.help import HelpScreen
from digitnet.dashboard.widgets.charts import AccuracyChart, LossChart
from digitnet.dashboard.widgets.run_list import RunList
from fake_runs import T0, make_run

SIZE = (100, 32)


async def wait_for(pilot, predicate, timeout: float = 90.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.2)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


def shown_text(widget) -> str:
    """What a widget shows on screen, as plain text."""
    return "\n".join(strip.text for strip in widget.render_lines(widget.size.region))


def status_of(app: DashboardApp, name: str) -> str | None:
    info = app.infos.get(name)
    return info.status if info else None


async def fill(pilot, app: DashboardApp, **fields: str) -> None:
    await pilot.press("n")
    for name, value in fields.items():
        field = app.query_one(f"#{name}", Input)
        field.focus()
        field.value = ""
        await pilot.press(*value)  # typed key by key, as a person would
    await pilot.pause(0.1)


async def start_run(pilot, app: DashboardApp, **fields: str) -> str:
    """Fill the form, press Start, and return the new run's name once it is in the list."""
    await fill(pilot, app, layers="784, 32, 10", **fields)
    await pilot.click("#start")
    await wait_for(pilot, lambda: app.query_one(RunList).row_count == 1, 30, "the new run in the list")
    return app.query_one(RunList).selected


async def test_the_form_explains_a_bad_value_and_keeps_start_disabled(tmp_path):
    app = DashboardApp(tmp_path / "checkpoints")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, app, lr="-1")
        assert "lr must be a positive" in str(app.query_one("#lr-problem", Label).render())
        assert app.query_one("#start", Button).disabled
        await fill(pilot, app, lr="0.1", layers="784,0,10")
        assert "at least 1 neuron" in str(app.query_one("#layers-problem", Label).render())
        assert app.query_one("#start", Button).disabled
        await fill(pilot, app, layers="784, 64, 10")
        assert not app.query_one("#start", Button).disabled
        assert not app.query_one("#lr-problem", Label).display


async def test_start_a_run_watch_points_arrive_and_see_it_finish(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="3")
        await wait_for(pilot, lambda: app.tails[name].view.train_losses, 60, "training-loss points")
        await wait_for(pilot, lambda: status_of(app, name) == "finished", 120, "the run to finish")
        await pilot.pause(0.5)
        view = app.tails[name].view
        assert len(view.val_accs) == 3 and view.val_accs[-1] > 0.9
        assert "finished" in shown_text(app.query_one("#progress", Static))
        await wait_for(pilot, lambda: app.processes == [], 60, "the ended process to be reaped (no zombie)")
        assert app.query_one(LossChart)._datasets and app.query_one(AccuracyChart)._datasets
        await pilot.press("2")  # the Epochs tab is filled when it is opened
        await pilot.pause(0.3)
        assert app.query_one("#epoch-table", DataTable).row_count == 3
    assert (Path(tiny_env["DIGITNET_CHECKPOINTS"]) / name / "best.ckpt").is_file()


async def test_cancel_saves_a_checkpoint_and_resume_continues_the_run(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="400")
        await wait_for(pilot, lambda: len(app.tails[name].view.epoch_rows) >= 1, 90, "a finished epoch")
        await pilot.press("c")
        await wait_for(pilot, lambda: status_of(app, name) == "cancelled", 60, "the run to be cancelled")
        run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / name
        assert (run / "last.ckpt").is_file() and not (run / "cancel").exists()
        epochs_before = len(app.tails[name].view.epoch_rows)
        await pilot.press("r")
        await wait_for(pilot, lambda: status_of(app, name) == "running", 30, "the run to resume")
        await wait_for(pilot, lambda: len(app.tails[name].view.epoch_rows) > epochs_before, 90, "a new epoch")
        await pilot.press("c")
        await wait_for(pilot, lambda: status_of(app, name) == "cancelled", 60, "the second cancel")
    starts = [json.loads(l) for l in (run / "events.jsonl").read_text().splitlines() if '"start"' in l]
    assert [s["resumed"] for s in starts] == [False, True]
    assert starts[1]["epoch"] >= epochs_before


async def test_a_failing_run_shows_its_error_and_the_app_keeps_working(tiny_env, tmp_path, monkeypatch):
    bad = tmp_path / "wrong-checksums.json"
    bad.write_text(json.dumps({"mnist": {n: "0" * 64 for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}}))
    monkeypatch.setenv("DIGITNET_CHECKSUMS", str(bad))
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="2")
        await wait_for(pilot, lambda: status_of(app, name) == "failed", 90, "the failure")
        await pilot.pause(0.5)
        alert = str(app.query_one("#alert", Static).render())
        assert "failed" in alert and "SHA-256" in alert
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await fill(pilot, app, epochs="3")
        assert not app.query_one("#start", Button).disabled  # ready for the next run


async def test_a_killed_run_is_reported_failed(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="400")
        await wait_for(pilot, lambda: status_of(app, name) == "running" and app.tails[name].view.train_losses, 90,
                       "training")
        os.kill(app.processes[-1].pid, signal.SIGKILL)
        await wait_for(pilot, lambda: status_of(app, name) == "failed", 30, "the kill to show")
        assert "killed" in app.infos[name].error


async def test_a_run_started_elsewhere_appears_and_updates_live(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one(RunList).row_count == 0
        process = subprocess.Popen([sys.executable, "-m", "digitnet", "fit", "--run_name", "outside",
                                    "--model.layers", "[784, 32, 10]", "--trainer.max_epochs", "2",
                                    "--trainer.enable_progress_bar", "false"], env=tiny_env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await wait_for(pilot, lambda: "outside" in app.infos, 60, "the outside run")
            await wait_for(pilot, lambda: status_of(app, "outside") == "finished", 120, "it to finish")
            await pilot.pause(0.5)
            assert len(app.tails["outside"].view.val_accs) == 2
        finally:
            process.wait(timeout=60)


async def test_compare_overlays_the_curves_of_marked_runs(tmp_path):
    root = tmp_path / "checkpoints"
    make_run(root, "fast", rate=1.5)
    make_run(root, "slow", rate=0.5)
    app = DashboardApp(root, clock=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "down", "m")
        await pilot.pause(0.3)
        labels = app.query_one(AccuracyChart)._labels
        assert sorted(labels) == ["fast", "slow"]
        await pilot.press("m", "up", "m")  # unmark both: only the selected run is left
        await pilot.pause(0.3)
        assert len(app.query_one(AccuracyChart)._labels) == 1


async def test_a_hidden_tab_catches_up_when_it_is_opened(tmp_path):
    root = tmp_path / "checkpoints"
    run = make_run(root, "grows", epochs=2)
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause(0.3)
        table = app.query_one("#epoch-table", DataTable)
        assert table.row_count == 2
        await pilot.press("1")
        with open(run / "events.jsonl", "a") as events:
            events.write(json.dumps({"event": "epoch", "time": T0, "epoch": 2, "train_loss": 0.1, "val_loss": 0.1,
                                     "val_acc": 0.97, "seconds": 1.5}) + "\n")
        await pilot.pause(0.5)
        assert app.tails["grows"].view.counts["epoch"] == 3
        assert table.row_count == 2  # only the tab in view is drawn
        await pilot.press("2")
        await pilot.pause(0.3)
        assert table.row_count == 3
        assert table.get_row_at(2)[0] == 3


async def test_a_chart_redraws_only_for_new_points_and_keeps_its_legend(tmp_path):
    root = tmp_path / "checkpoints"
    make_run(root, "steady", epochs=2)
    app = DashboardApp(root, clock=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        chart = app.query_one(LossChart)
        legend = chart.query_one("#legend", Static)
        updates = []
        original = legend.update
        legend.update = lambda *args, **kwargs: (updates.append(args), original(*args, **kwargs))
        shown = [("steady", app.tails["steady"].view)]
        drawn = chart._datasets
        chart.show_runs(shown)
        assert chart._datasets is drawn  # nothing new: no redraw
        app.tails["steady"].view.apply({"event": "step", "epoch": 1, "step": 41, "batch": 0, "train_loss": 0.2})
        chart.show_runs(shown)
        assert chart._datasets is not drawn and len(chart._datasets[0].x) == len(drawn[0].x) + 1
        assert updates == []  # the same labels: the legend is left alone


def test_ages_tick_by_the_minute_at_most():
    from digitnet.runs.listing import format_age

    assert [format_age(s) for s in (0, 59.9, 60, 3599, 3600, 90000)] == ["<1m", "<1m", "1m", "59m", "1h", "1d"]


async def test_the_status_column_widens_when_a_run_finishes(tmp_path):
    root = tmp_path / "checkpoints"
    run = make_run(root, "widens", epochs=1)
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "status": "running", "pid": os.getpid()}))
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        runs_table = app.query_one(RunList)
        assert str(runs_table.get_cell_at((0, 0))) == "running"
        (run / "status.json").write_text(json.dumps(status))  # finished
        await pilot.pause(0.5)
        assert str(runs_table.get_cell_at((0, 0))) == "finished"
        assert "finished" in shown_text(runs_table)


def test_a_resumed_run_that_is_killed_reports_its_own_end_not_an_earlier_launch(tmp_path):
    from digitnet.runs.listing import read_run

    run = make_run(tmp_path, "resumed", epochs=1)
    earlier = "digitnet: error: run resumed was cancelled; resume it with 'digitnet fit --ckpt_path resumed'.\n"
    (run / "output.log").write_text(earlier + "Restoring states from the checkpoint path at resumed/last.ckpt\n")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "status": "running", "pid": gone.pid, "error": ""}))
    (run / "launcher.json").write_text(json.dumps({"pid": gone.pid, "args": [], "time": 0,
                                                   "log_offset": len(earlier)}))
    info = read_run(run)
    assert info.status == "failed"
    assert info.error == "the training process ended without a word (killed?)"
