"""The dashboard driven as a person would, with Textual's Pilot, over real training processes on
tiny data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Label, Static

from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.screens.ask import Confirm
from digitnet.dashboard.screens.help import HelpScreen
from digitnet.dashboard.widgets.charts import LossChart
from digitnet.dashboard.widgets.run_list import RunList
from fake_runs import T0, make_run, mark_running
from screen import (
    alert_of,
    epoch_rows,
    legend_of,
    looked,
    marks_of,
    row_of,
    rows_of,
    shown_text,
    status_of,
    wait_for,
)

SIZE = (100, 32)


async def fill(pilot, app: DashboardApp, **fields: str) -> None:
    await pilot.press("n")
    for name, value in fields.items():
        field = app.query_one(f"#{name}", Input)
        field.focus()
        field.value = ""
        await pilot.press(*value)  # typed key by key, as a person would
    await pilot.pause()


async def start_run(pilot, app: DashboardApp, **fields: str) -> str:
    """Fill the form, press Start, and return the new run's name once it is in the list."""
    await fill(pilot, app, layers="784, 32, 10", **fields)
    await pilot.press("enter")  # in the field just typed: Enter starts, as the help says
    await wait_for(
        pilot, lambda: app.query_one(RunList).row_count == 1, 30, "the new run in the list"
    )
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


async def test_what_is_typed_in_the_form_is_shown_as_text_never_as_markup(tmp_path):
    app = DashboardApp(tmp_path / "checkpoints")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, app, lr="0.01..0.3", trials="[/]", momentum="0 | [/]")
        assert "got '[/]'" in str(app.query_one("#trials-problem", Label).render())
        assert "[/]" in str(app.query_one("#momentum-problem", Label).render())
        assert str(app.query_one("#start", Button).label) == "Start sweep"
        await fill(pilot, app, trials="1", momentum="0.9", name="[@click=app.quit]x")
        assert app.is_running  # neither a markup error nor a click action
        assert "[@click=app.quit]x" in str(app.query_one("#name-problem", Label).render())
        await fill(pilot, app, name="")
        assert str(app.query_one("#start", Button).label) == "Start sweep of 1 trial"


@pytest.mark.slow
@pytest.mark.subprocess
async def test_start_a_run_watch_points_arrive_and_see_it_finish(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="3")
        # the run is the warm spare the form started (torch imported while it was filled in)
        assert [p.args[-1] for p in app.processes] == ["spare"]
        await wait_for(pilot, lambda: "━ train" in legend_of(app, "loss"), 60, "train loss")
        await wait_for(pilot, lambda: status_of(app, name) == "finished", 120, "the run to finish")
        progress = app.query_one("#progress", Static)
        await wait_for(pilot, lambda: "finished" in shown_text(progress), 30, "the progress line")
        await wait_for(pilot, lambda: "● val" in legend_of(app, "loss"), 30, "val loss")
        await pilot.press("g")  # the accuracy chart
        assert "val accuracy %" in legend_of(app, "accuracy")
        await pilot.press("g")  # the learning rate, falling along the cosine schedule
        assert "learning rate" in legend_of(app, "lr") and marks_of(app, "lr")[0] > 10
        assert float(row_of(app, name)["best"]) > 90
        await wait_for(
            pilot, lambda: app.processes == [], 60, "the ended process to be reaped (no zombie)"
        )
        await pilot.press("2")  # the Epochs tab is filled when it is opened
        table = app.query_one("#epoch-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, 30, "the three epochs")
        assert [row[0] for row in (table.get_row_at(i) for i in range(3))] == [1, 2, 3]
    assert (Path(tiny_env["DIGITNET_CHECKPOINTS"]) / name / "best.ckpt").is_file()


@pytest.mark.slow
@pytest.mark.subprocess
async def test_cancel_saves_a_checkpoint_and_resume_continues_the_run(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="400")
        await pilot.press("2")
        await wait_for(pilot, lambda: epoch_rows(app) >= 1, 90, "a finished epoch")
        await pilot.press("c")
        await wait_for(
            pilot, lambda: status_of(app, name) == "cancelled", 60, "the run to be cancelled"
        )
        run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / name
        assert (run / "last.ckpt").is_file() and not (run / "cancel").exists()
        epochs_before = epoch_rows(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: status_of(app, name) == "running", 30, "the run to resume")
        await pilot.press("2")
        await wait_for(pilot, lambda: epoch_rows(app) > epochs_before, 90, "a new epoch")
        await pilot.press("c")
        await wait_for(pilot, lambda: status_of(app, name) == "cancelled", 60, "the second cancel")
    starts = [
        json.loads(line)
        for line in (run / "events.jsonl").read_text().splitlines()
        if '"start"' in line
    ]
    assert [s["resumed"] for s in starts] == [False, True]
    assert starts[1]["epoch"] >= epochs_before


@pytest.mark.slow
@pytest.mark.subprocess
async def test_a_failing_run_shows_its_error_and_the_app_keeps_working(
    tiny_env, tmp_path, monkeypatch
):
    bad = tmp_path / "wrong-checksums.json"
    bad.write_text(
        json.dumps(
            {
                "mnist": {
                    n: "0" * 64
                    for n in (
                        "train-images-idx3-ubyte",
                        "train-labels-idx1-ubyte",
                        "t10k-images-idx3-ubyte",
                        "t10k-labels-idx1-ubyte",
                    )
                }
            }
        )
    )
    monkeypatch.setenv("DIGITNET_CHECKSUMS", str(bad))
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="2", name="bad-sums")
        assert name == "bad-sums"  # the name typed in the form
        await wait_for(pilot, lambda: status_of(app, name) == "failed", 90, "the failure")
        await wait_for(pilot, lambda: "SHA-256" in alert_of(app), 30, "the failure's sentence")
        assert alert_of(app).startswith("failed")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await fill(pilot, app, epochs="3")
        assert not app.query_one("#start", Button).disabled  # ready for the next run


@pytest.mark.slow
@pytest.mark.subprocess
async def test_a_killed_run_is_reported_failed(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        name = await start_run(pilot, app, epochs="400")
        await wait_for(
            pilot,
            lambda: status_of(app, name) == "running" and "━ train" in legend_of(app, "loss"),
            90,
            "training",
        )
        os.kill(app.processes[-1].pid, signal.SIGKILL)
        await wait_for(pilot, lambda: status_of(app, name) == "failed", 30, "the kill to show")
        await wait_for(pilot, lambda: "killed" in alert_of(app), 30, "the kill's sentence")


@pytest.mark.slow
@pytest.mark.subprocess
async def test_a_run_started_elsewhere_appears_and_updates_live(tiny_env):
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one(RunList).row_count == 0
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "digitnet",
                "fit",
                "--run_name",
                "outside",
                "--model.layers",
                "[784, 32, 10]",
                "--trainer.max_epochs",
                "2",
                "--trainer.enable_progress_bar",
                "false",
            ],
            env=tiny_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_for(pilot, lambda: row_of(app, "outside"), 60, "the outside run")
            await wait_for(
                pilot, lambda: status_of(app, "outside") == "finished", 120, "it to finish"
            )
            await pilot.press("2")
            await wait_for(pilot, lambda: epoch_rows(app) == 2, 10, "its two epochs")
        finally:
            process.wait(timeout=60)


async def test_compare_overlays_the_curves_of_marked_runs(tmp_path):
    root = tmp_path / "checkpoints"
    make_run(root, "fast", rate=1.5)
    make_run(root, "slow", rate=0.5)
    app = DashboardApp(root, clock=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "down", "m", "g")  # g: the accuracy chart
        await looked(pilot)
        assert "━ fast" in legend_of(app, "accuracy")
        assert "━ slow" in legend_of(app, "accuracy")
        assert row_of(app, "fast")["run"] == "▶fast"
        await pilot.press("m", "up", "m")  # unmark both: only the selected run is left
        await looked(pilot)
        assert legend_of(app, "accuracy") == "Accuracy ━ val accuracy %"


async def test_a_hidden_tab_catches_up_when_it_is_opened(tmp_path):
    root = tmp_path / "checkpoints"
    run = make_run(root, "grows", epochs=2)
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = app.query_one("#epoch-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, 30, "the two epochs")
        await pilot.press("1")
        with open(run / "events.jsonl", "a") as events:
            events.write(
                json.dumps(
                    {
                        "event": "epoch",
                        "time": T0,
                        "epoch": 2,
                        "train_loss": 0.1,
                        "val_loss": 0.1,
                        "val_acc": 0.97,
                        "seconds": 1.5,
                    }
                )
                + "\n"
            )
        await looked(pilot)  # the new epoch has been read
        assert table.row_count == 2  # only the tab in view is drawn
        await pilot.press("2")
        await wait_for(pilot, lambda: table.row_count == 3, 30, "the caught-up epochs")
        assert table.get_row_at(2)[0] == 3


async def test_a_chart_redraws_only_for_new_points_and_keeps_its_legend(tmp_path):
    root = tmp_path / "checkpoints"
    run = make_run(root, "steady", epochs=2)
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await looked(pilot)
        chart = app.query_one(LossChart)
        legend_before = legend_of(app, "loss")
        draws = []
        redraw = chart.redraw
        chart.redraw = lambda: (draws.append(1), redraw())[1]
        await looked(pilot, times=3)  # three looks at the folder with nothing new: no redraw
        assert draws == []
        with open(run / "events.jsonl", "a") as events:
            step = {"event": "metrics", "time": T0, "epoch": 1, "step": 41}
            events.write(json.dumps({**step, "train_loss": 0.2}) + "\n")
        await wait_for(pilot, lambda: draws, 5, "the new point drawn")
        assert len(draws) == 1
        assert legend_of(app, "loss") == legend_before


def test_ages_tick_by_the_minute_at_most():
    from digitnet.runs.listing import format_age

    assert [format_age(s) for s in (0, 59.9, 60, 3599, 3600, 90000)] == [
        "<1m",
        "<1m",
        "1m",
        "59m",
        "1h",
        "1d",
    ]


async def test_the_status_mark_changes_when_a_run_finishes(tmp_path):
    root = tmp_path / "checkpoints"
    run = make_run(root, "turns", epochs=1)
    status = mark_running(run)
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await looked(pilot)
        assert status_of(app, "turns") == "running"
        assert "●" in shown_text(app.query_one(RunList))
        (run / "status.json").write_text(json.dumps(status))  # finished
        await looked(pilot)
        assert status_of(app, "turns") == "finished"
        assert "✓" in shown_text(app.query_one(RunList))


async def test_the_run_list_reads_at_a_glance_at_80x24_sorts_and_filters(tmp_path):
    root = tmp_path / "checkpoints"
    make_run(root, "mnist-mlp-sigmoid-mse-lr3-20261126-101500", rate=0.5)
    make_run(root, "fashion-cnn-20261126-093000", rate=1.5, dataset="fashion_mnist", age=7200)
    make_run(root, "best-one", rate=2.0, age=90000)
    app = DashboardApp(root, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot)
        shown = shown_text(app.query_one(RunList))
        assert "mnist-m…-101500" in shown  # cut in the middle: its start and end stay visible
        for column in ("data", "best", "age", "fashn", "mnist", "2h", "1d"):
            assert column in shown, column
        assert [row["run"] for row in rows_of(app)][0].startswith("mnist-m")  # newest first
        await pilot.press("s")
        best_first = [row["best"] for row in rows_of(app)]
        assert best_first == sorted(best_first, key=float, reverse=True)
        assert "best accuracy first" in str(app.query_one("#runs-title", Label).render())
        await pilot.press("slash", *"fash")
        await pilot.pause()
        assert [row["data"] for row in rows_of(app)] == ["fashn"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(rows_of(app)) == 3


async def test_a_long_run_list_at_80x24_keeps_its_age_column_whole(tmp_path):
    """Thirty runs overflow the list, so its scroll bar shows: the columns still fit beside it
    (the age read "29" and "<1", cut by the bar, in a real dashboard at 80x24)."""
    root = tmp_path / "checkpoints"
    for i in range(30):
        make_run(root, f"reproduce-nielsen-ch1-s{i}-20261205-134651", epochs=1, age=60 * (i + 29))
    app = DashboardApp(root, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot)
        table = app.query_one(RunList)
        assert table.show_vertical_scrollbar  # the list overflows
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert "29m" in shown_text(table) and "age" in shown_text(table)


@pytest.mark.subprocess
def test_a_resumed_run_that_is_killed_reports_its_own_end_not_an_earlier_launch(tmp_path):
    from digitnet.runs.listing import read_run

    run = make_run(tmp_path, "resumed", epochs=1)
    earlier = (
        "digitnet: error: run resumed was cancelled; resume it with 'digitnet fit "
        "--ckpt_path resumed'.\n"
    )
    (run / "output.log").write_text(
        earlier + "Restoring states from the checkpoint path at resumed/last.ckpt\n"
    )
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(
        json.dumps({**status, "status": "running", "pid": gone.pid, "error": ""})
    )
    (run / "launcher.json").write_text(
        json.dumps({"pid": gone.pid, "args": [], "time": 0, "log_offset": len(earlier)})
    )
    info = read_run(run)
    assert info.status == "failed"
    assert info.error == "the training process ended without a word (killed?)"


@pytest.mark.subprocess
def test_the_app_can_be_subclassed_in_code_that_has_no_file(tmp_path):
    """bench/dashboard_ab.py does it with ``python -c``; the look is found all the same."""
    code = (
        "from digitnet.dashboard.app import DashboardApp\n"
        "class Mine(DashboardApp):\n    pass\n"
        "print(len(Mine('x').css_path))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr


async def test_the_console_shows_the_end_of_a_huge_log_and_new_lines_as_they_come(tmp_path):
    from digitnet.dashboard.widgets.console import Console

    root = tmp_path / "checkpoints"
    run = make_run(root, "chatty", epochs=1)
    make_run(root, "quiet", epochs=1, age=600)
    with open(run / "output.log", "wb") as log:
        log.truncate(1 << 30)  # a 1 GB log (sparse, so it takes no disk)
        log.seek(1 << 30)
        log.write(b"\n" + b"".join(f"line {i}\n".encode() for i in range(100)))
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        console = app.query_one(Console)
        await wait_for(pilot, lambda: "line 99" in shown_text(console), 5, "the end of the log")
        assert console.line_count == 100  # read from the end: the last lines, not a gigabyte
        with open(run / "output.log", "a") as log:
            log.write("a new line\n" + "a long warning " + "x" * 300 + " its end\n")
        await wait_for(pilot, lambda: "a new line" in shown_text(console), 5, "the new line")
        await wait_for(pilot, lambda: "its end" in shown_text(console), 5, "the long line whole")
        widest = max(len(line.rstrip()) for line in shown_text(console).splitlines())
        assert widest <= console.size.width  # folded to the pane, never cut at its edge
        await pilot.press("escape", "down", "6")  # another run, with no output.log
        await wait_for(pilot, lambda: "has no output.log" in shown_text(console), 5, "the note")
        assert "line 99" not in shown_text(console)


async def test_delete_and_rename_a_run_from_the_dashboard(tmp_path):
    root = tmp_path / "checkpoints"
    make_run(root, "keep", age=600)
    make_run(root, "drop")
    mark_running(make_run(root, "busy", age=60))
    app = DashboardApp(root, clock=lambda: T0, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await looked(pilot)
        assert [row["run"] for row in rows_of(app)] == ["busy", "drop", "keep"]
        await pilot.press("d")  # busy trains: refused, nothing asked
        await pilot.pause()
        assert (root / "busy").is_dir() and not isinstance(app.screen, Confirm)
        await pilot.press("down", "d")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # no: nothing deleted
        await pilot.pause()
        assert (root / "drop").is_dir()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: len(rows_of(app)) == 2, 5, "the run gone from the list")
        assert not (root / "drop").exists()
        for _ in range(2):  # to the run "keep", as a person would
            if app.query_one(RunList).selected != "keep":
                await pilot.press("down")
        await pilot.press("e")
        field = app.screen.query_one("#answer", Input)
        field.value = ""
        await pilot.press(*"bad/name")
        assert "may hold only letters" in str(app.screen.query_one("#problem", Label).render())
        field.value = ""
        await pilot.press(*"kept-run", "enter")
        await wait_for(pilot, lambda: row_of(app, "kept-run"), 5, "the new name in the list")
        assert (root / "kept-run" / "status.json").is_file() and not (root / "keep").exists()


async def test_the_live_tab_shows_a_runs_cpu_and_memory_figures_and_small_charts(tmp_path):
    make_run(tmp_path, "sampled", system=5, age=60)
    make_run(tmp_path, "older", age=600)  # recorded before system figures existed
    app = DashboardApp(str(tmp_path), clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(RunList).select("sampled")
        line = lambda: " ".join(shown_text(part) for part in app.query("#system Static"))  # noqa: E731
        await wait_for(pilot, lambda: "last: CPU 150%" in line(), 30, "the system figures")
        assert "memory 1.03 GB" in line()
        cpu, memory = app.query_one("#cpu-spark"), app.query_one("#memory-spark")
        assert len(cpu.data) == 5 and memory.data[-1] == 1024.0 + 8 * 4
        assert cpu.region.width >= 3 and memory.region.width >= 3  # visible at 80x24
        app.query_one(RunList).select("older")
        gpu = app.query_one("#gpu-text")
        await wait_for(pilot, lambda: "system: none recorded" in shown_text(gpu), 30, "the note")
        assert not cpu.display


async def test_the_weights_tab_shows_each_hidden_neurons_weights_as_an_image(tmp_path):
    import numpy as np

    make_run(tmp_path, "learned", epochs=3, weights=8, age=60)
    crafted = make_run(tmp_path, "crafted", weights=2, age=120)
    np.save(crafted / "weights.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    make_run(tmp_path, "untrained", age=600)
    app = DashboardApp(str(tmp_path), clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(RunList).select("learned")
        await pilot.press("7")
        summary = lambda: " ".join(shown_text(app.query_one("#weights-summary")).split())  # noqa: E731
        await wait_for(
            pilot,
            lambda: (
                "after epoch 3: the first 8 of 32 hidden neurons, 28x28 weights each" in summary()
            ),
            30,
            "the weights",
        )
        tiles = app.query("#weights-grid Tile")
        assert len(tiles) == 8 and str(tiles[7].query_one(Label).render()) == "#7"
        assert tiles[0].region.width == 14  # on screen at 80x24
        for name, words in [("crafted", "missing or unreadable"), ("untrained", "no checkpoint")]:
            app.query_one(RunList).select(name)
            await wait_for(pilot, lambda w=words: w in summary(), 30, words)
            assert len(app.query("#weights-grid Tile")) == 0


@pytest.mark.slow
@pytest.mark.subprocess
async def test_draw_a_digit_see_the_ten_bars_and_the_helper_come_back_after_it_dies(tiny_env):
    from digitnet.cli.main import main
    from digitnet.dashboard.widgets.draw import Bars, DrawCanvas, DrawPane, ForwardStrip

    fit = ["fit", "--run_name", "drawn", "--model.layers", "[784, 32, 10]"]
    assert main([*fit, "--trainer.max_epochs", "1", "--data.val_size", "100"]) == 0
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(RunList).select("drawn")
        await pilot.press("8")
        pane, canvas, bars = app.query_one(DrawPane), app.query_one(DrawCanvas), app.query_one(Bars)
        assert canvas.region.width == 28 and bars.region.width >= 14  # all of it at 80x24
        await pilot.mouse_down(DrawCanvas, offset=(12, 2))  # a stroke down the canvas
        for row in range(3, 12):
            await pilot.hover(DrawCanvas, offset=(12, row))
        await pilot.mouse_up(DrawCanvas, offset=(12, 11))
        assert canvas.pixels[5:23, 12].min() == 255 and canvas.pixels[:, 20].max() == 0
        await wait_for(pilot, lambda: len(bars.shown[1]) == 10, 60, "the ten bars")
        classes, probabilities = bars.shown
        assert classes == tuple(str(i) for i in range(10))
        assert abs(sum(probabilities) - 1) < 1e-3
        assert len(shown_text(bars).strip().splitlines()) == 10
        strip = app.query_one(ForwardStrip)  # the forward pass that made the bars, under them
        await wait_for(pilot, lambda: len(shown_text(strip).strip().splitlines()) == 3, 10, "strip")
        x, hidden, z = shown_text(strip).strip().splitlines()
        assert [x, hidden, z] == ForwardStrip.lines(strip.passed, strip.size.width)  # as wide
        assert max(len(line) for line in (x, hidden, z)) <= strip.size.width  # as it has room
        inked = int(x.split()[-2] if x.endswith("inked") else x.split()[-1])
        assert 0 < inked <= 784 and x.startswith("x ")
        assert hidden.startswith("a¹ 32 ") and len(strip.passed[1][0]) == 32
        if hidden.endswith(" on"):  # how many ReLU neurons are on, where it has room
            assert int(hidden.split()[-2]) == sum(1 for a in strip.passed[1][0] if a > 0)
        best = max(range(10), key=probabilities.__getitem__)
        assert z.startswith("z 10 ") and str(best) in z.split()[-2:]
        assert strip.region.bottom <= canvas.region.bottom  # on screen at 80x24, beside the canvas
        first = pane.predictor.process.pid

        os.kill(first, signal.SIGKILL)  # the helper dies: the tab says so
        canvas.focus()
        await pilot.press("left", "left", "space")  # ink with the keyboard at the pen
        state = lambda: " ".join(shown_text(app.query_one("#draw-state")).split())  # noqa: E731
        await wait_for(pilot, lambda: "restarts it" in state(), 30, "the helper's death reported")
        assert "the prediction helper ended (exit status -9" in state()
        before = pane.answers
        await pilot.press("space")  # the next stroke starts it again
        await wait_for(pilot, lambda: pane.answers > before, 60, "bars from a new helper")
        assert pane.predictor.process.pid != first

        await pilot.click("#clear")
        await wait_for(pilot, lambda: bars.shown == ((), ()), 10, "the bars cleared")
        assert strip.passed == () and not shown_text(strip).strip()
        assert canvas.pixels.max() == 0
        helper = pane.predictor.process
        await pilot.press("escape", "1")  # leaving the tab stops the helper
        await wait_for(pilot, lambda: pane.predictor is None, 10, "the helper stopped")
        assert helper.wait(timeout=10) is not None


async def test_r_on_a_finished_run_asks_how_many_epochs_to_train_it_to(tmp_path, monkeypatch):
    from digitnet.dashboard.screens.ask import AskName
    from digitnet.runs import process

    run = make_run(tmp_path, "done", epochs=5)
    (run / "last.ckpt").write_bytes(b"x")
    asked = []

    class Ended:  # the process resume would start, ended at once
        def poll(self):
            return 0

    monkeypatch.setattr(
        process, "resume", lambda folder, epochs=None, spare=None: asked.append(epochs) or Ended()
    )
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await looked(pilot)
        await pilot.press("r")
        assert isinstance(app.screen, AskName) and asked == []
        field = app.screen.query_one("#answer", Input)
        assert field.value == "10"
        field.value = ""
        await pilot.press("5")
        assert "more than the 5 the run has done" in str(app.screen.query_one("#problem").render())
        await pilot.press("enter")  # refused: still asking
        assert isinstance(app.screen, AskName)
        await pilot.press("backspace", "1", "2", "enter")
        await wait_for(pilot, lambda: asked == [12], 10, "the resume to 12 epochs")


async def test_focus_is_always_on_a_widget_in_view(tmp_path):
    """Every tab by its key, the help screen, the form and back: the keyboard never stays with a
    hidden widget (at 80x24 a, Tab, Tab, 1, ?, Esc once left it in an invisible filter)."""
    for i in range(3):
        make_run(tmp_path, f"run-{i}")
    app = DashboardApp(tmp_path, clock=lambda: T0)

    def in_view() -> bool:
        focused = app.focused
        return focused is not None and focused.display and focused.region.area > 0

    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot, 2)
        keys = ["a", "tab", "tab", "1", "question_mark", "escape"]
        keys += [str(n) for n in range(1, 10)] + ["a", "n", "escape", "tab", "tab", "2"]
        keys += ["question_mark", "escape", "8", "escape", "a", "escape"]
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            assert in_view(), (key, app.focused)
        await pilot.press("slash", "z", "z", "z", "enter", "3")  # a filter that hides every run
        await pilot.pause()
        box = app.query_one("#filter", Input)
        assert box.display and box.region.area and box.value == "zzz"  # shown while it filters
        await pilot.press("escape")
        await pilot.pause()
        assert box.value == "" and not box.display and in_view()
