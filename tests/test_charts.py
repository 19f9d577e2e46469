"""The Live tab's charts as a person uses them: they fill the pane at 80x24, 120x40 and 200x50,
read off values at a cursor, switch to a log scale, smoothing and another x axis, zoom and follow
a live run, overlay up to eight runs in colours they keep, and never die on a bad number."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from digitnet.dashboard import plotting
from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.plotting import ChartSettings
from digitnet.dashboard.widgets.run_list import RunList
from fake_runs import T0, make_run
from screen import legend_of, looked, marks_of, row_of, shown_text, status_of, wait_for

SIZES = {(80, 24): (0.60, 8), (120, 40): (0.70, 12), (200, 50): (0.70, 20)}


def chooser(app) -> str:
    return shown_text(app.query_one("#chooser"))


def x_labels(app, chart: str = "loss") -> str:
    """The x axis's tick labels as shown under a chart."""
    margin = app.query_one(f"#chart-{chart}").query_one("RunPlot #margin-bottom")
    return shown_text(margin)


def y_labels(app, chart: str = "loss") -> list[str]:
    margin = app.query_one(f"#chart-{chart}").query_one("RunPlot #margin-left")
    return shown_text(margin).split()


@pytest.mark.parametrize("size", list(SIZES), ids=[f"{w}x{h}" for w, h in SIZES])
async def test_the_charts_fill_their_pane_and_label_the_last_epoch(tmp_path, size):
    make_run(tmp_path, "ten-epochs", epochs=10)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=size) as pilot:
        await looked(pilot, 2)
        pane = app.query_one("#tabs").region.width
        columns, rows = marks_of(app, "loss")
        share, least_rows = SIZES[size]
        assert columns >= share * pane and rows >= least_rows, (columns, rows, pane)
        assert x_labels(app).split()[-1] == "10"  # the last epoch is labelled
        roomy = size != (80, 24)
        assert app.query_one("#chart-accuracy").display == roomy  # loss and accuracy with room
        if roomy:
            assert marks_of(app, "accuracy")[1] >= 6


async def test_a_shortened_run_is_drawn_by_its_own_epochs(tmp_path):
    """Epochs of 20 updates where a full epoch would hold 782 (``limit_train_batches``, or a run
    recorded before the epoch axis read the run's epoch ends): the curves still span the pane and
    the last epoch's point is at 10, the axis's end."""
    run = make_run(tmp_path, "shortened", epochs=10)
    events = (run / "events.jsonl").read_text().splitlines()
    start = json.loads(events[0])
    events[0] = json.dumps({**start, "steps_per_epoch": 782})
    (run / "events.jsonl").write_text("\n".join(events) + "\n")
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot, 2)
        pane = app.query_one("#tabs").region.width
        columns, _ = marks_of(app, "loss")
        assert columns >= 0.60 * pane, (columns, pane)
        assert x_labels(app).split()[-1] == "10"


async def test_every_tab_and_key_is_findable_at_80x24(tmp_path):
    make_run(tmp_path, "mnist-mlp-h32-sigmoid-20261202-051820")
    make_run(tmp_path, "mnist-mlp-h32-sigmoid-20261202-061820", age=600)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot)
        tabs = {shown_text(tab).strip(): tab.region for tab in app.query("Tab")}
        short = ["Live", "Ep", "Conf", "Imgs", "Info", "Log", "Wts", "Draw", "New", "All"]
        assert list(tabs) == short
        assert all(0 < region.width and region.right <= 80 for region in tabs.values())
        keys = {shown_text(key).replace(" ", ""): key.region for key in app.query("FooterKey")}
        for key in ("/Filter", "?Help", "qQuit", "gChart", "mCompare"):
            assert key in keys and keys[key].right <= 80, key
        shown = shown_text(app.query_one(RunList))
        assert "051820" in shown and "061820" in shown  # told apart by their ends
        await pilot.press("8")  # the Draw tab, its canvas focused: ? and q still on screen
        await pilot.pause()
        keys = {shown_text(key).replace(" ", ""): key.region for key in app.query("FooterKey")}
        for key in ("?Help", "qQuit"):
            assert key in keys and keys[key].right <= 80, (key, list(keys))
        await pilot.press("1")  # a number switches tabs from the Draw tab too
        await pilot.pause()
        assert app.query_one("TabbedContent").active == "tab-live"
        await pilot.press("question_mark")
        help_text = app.screen.query_one("Markdown").source
        for words in ("log scale", "smoothing", "x axis", "zoom", "cursor", "rename", "delete"):
            assert words in help_text.lower(), words


async def test_the_cursor_reads_every_series_at_one_x(tmp_path):
    make_run(tmp_path, "read-me", epochs=4)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        await pilot.press("right")  # the cursor appears at the newest point
        header = legend_of(app, "loss")
        assert header.startswith("Loss epoch 4.00")
        view = app.screen.views["read-me"]
        drawn = plotting.smooth(view.train_loss.values, 0.6)[-1]  # what the line shows there
        raw = plotting.format_value(view.train_loss.values[-1])
        assert f"━ train {plotting.format_value(drawn)} (raw {raw})" in header
        assert f"● val {plotting.format_value(view.val_loss.values[-1])}" in header
        await pilot.press(*["left"] * 25)  # half the window to the left
        assert legend_of(app, "loss").startswith("Loss epoch 2.00")
        await pilot.press("escape")
        assert legend_of(app, "loss") == "Loss ━ train ● val"


async def test_a_click_on_the_plot_puts_the_cursor_there(tmp_path):
    make_run(tmp_path, "clicked", epochs=4)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        plot = app.query_one("#chart-loss").query_one("RunPlot")
        left = plot.margin_left
        width = plot.size.width - left
        await pilot.click(plot, offset=(left + width // 2, 5))
        readout = legend_of(app, "loss").split()
        assert readout[:2] == ["Loss", "epoch"] and 1.7 < float(readout[2]) < 2.3


async def test_log_scale_smoothing_and_the_x_axis_change_by_key(tmp_path):
    make_run(tmp_path, "keys", epochs=6)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        assert "epochs linear smooth 0.6" in " ".join(chooser(app).split())
        await pilot.press("l")
        assert "log" in chooser(app).split()
        assert {"0.1", "1"} <= set(y_labels(app))  # powers of ten
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert "smooth 0.9" in chooser(app)
        await pilot.press(*["left_square_bracket"] * 6)
        assert "raw" in chooser(app).split()
        assert legend_of(app, "loss") == "Loss ━ train ● val"
        await pilot.press("x")
        assert "updates" in chooser(app) and x_labels(app).split()[-1] == "120"
        await pilot.press("x")
        assert "time" in chooser(app)
        await pilot.press("x")
        assert "epochs" in chooser(app)


async def test_zoom_pan_and_reset_by_key(tmp_path):
    make_run(tmp_path, "zoom", epochs=8)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        full = x_labels(app).split()
        await pilot.press("plus")
        assert "zoom" in chooser(app)
        labels = [float(t) for t in x_labels(app).split()]
        assert labels[0] >= 4 and labels[-1] == 8  # the newer half, following the run's end
        await pilot.press("shift+left")
        labels = [float(t) for t in x_labels(app).split()]
        assert labels[-1] < 8 and "following" not in chooser(app)
        await pilot.press("0")
        assert "zoom" not in chooser(app) and x_labels(app).split() == full


async def test_zoomed_on_a_live_run_the_newest_points_stay_in_view(tmp_path):
    """A 5-epoch run during epoch 2, zoomed twice: the window ends at the newest point (not at
    the empty epochs 3.75-5), carries tick labels, and moves on as the run grows."""
    from fake_runs import mark_running

    run = make_run(tmp_path, "growing", epochs=2)
    mark_running(run)
    events = (run / "events.jsonl").read_text().splitlines()
    start = json.loads(events[0])
    events[0] = json.dumps({**start, "max_epochs": 5})
    (run / "events.jsonl").write_text("\n".join(e for e in events if '"end"' not in e) + "\n")
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot, 2)
        await pilot.press("plus", "plus")
        await pilot.pause()
        pane = app.query_one("#tabs").region.width
        assert marks_of(app, "loss")[0] >= 0.5 * pane
        labels = [float(t) for t in x_labels(app).split()]
        assert labels and 0.7 <= labels[0] and labels[-1] <= 2.0, labels
        for _ in range(3):
            await pilot.press("shift+left", "plus")
        assert x_labels(app).split(), "a zoomed and panned axis carries tick labels"
        await pilot.press("0", "plus", "plus")
        steps = 20  # fake_runs' updates an epoch
        more = [
            {"event": "metrics", "time": T0, "train_loss": 0.1, "lr": 0.01, "step": 2 * steps + s}
            for s in range(1, steps + 1)
        ]
        with open(run / "events.jsonl", "a") as log:
            log.write("".join(json.dumps(line) + "\n" for line in more))
        app.screen.CHART_SECONDS = 0.0  # a live run's charts take new points at every look
        await looked(pilot, 2)
        chart = app.query_one("#chart-loss")
        assert chart.window[1] == pytest.approx(3.0, abs=0.05)  # moved on with the run


def test_a_zoomed_window_follows_a_live_run_until_panned_away():
    settings = ChartSettings().zoomed((0.0, 10.0), 0.5)
    assert settings.window == (5.0, 10.0) and settings.follow
    assert plotting.x_window(settings, (0.0, 12.0), newest=12.0) == (7.0, 12.0)
    panned = settings.panned((0.0, 10.0), -0.5)
    assert panned.window == (2.5, 7.5) and not panned.follow
    assert plotting.x_window(panned, (0.0, 12.0), newest=12.0) == (2.5, 7.5)
    assert panned.panned((0.0, 10.0), 1.0).follow  # back at the end: following again


async def test_eight_runs_overlay_in_colours_they_keep_and_a_legend_that_fits(tmp_path):
    names = [f"mnist-mlp-h{32 * (i + 1)}-relu-lr0.0{i + 1}-20261202-0518{i:02d}" for i in range(9)]
    for i, name in enumerate(names):
        make_run(tmp_path, name, epochs=3, rate=0.5 + i / 4, age=60 * (i + 1))
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot, 2)
        for _ in range(8):
            await pilot.press("m", "down")
        await pilot.press("m")  # a ninth: refused
        await looked(pilot)
        screen = app.screen
        assert len(app.query_one(RunList).compared) == 8
        colours = dict(screen.run_colors)
        assert len(set(colours.values())) == len(colours) >= 8
        header = app.query_one("#chart-loss").query_one(".chart-header")
        assert header.size.height <= 3  # every run named, cut in the middle, on three lines
        legend = legend_of(app, "loss")
        assert legend.count("━") == 9 + 1  # eight marked, the selected one, the marks' key
        labels = legend.split("━")[1:-1]
        assert len(set(labels)) == len(labels) == 9, legend  # each run told apart
        await pilot.press("home", "m")  # unmark the first, mark it again: the same colour
        await looked(pilot)
        await pilot.press("m")
        await looked(pilot)
        assert screen.run_colors == colours


def write_events(run: Path, lines: list[dict]) -> None:
    with open(run / "events.jsonl", "a") as handle:
        for line in lines:
            handle.write(json.dumps({"time": T0, **line}) + "\n")


@pytest.mark.parametrize("bad", ["nan", "inf", "huge", "negative", "missing"])
async def test_a_run_full_of_bad_numbers_keeps_the_dashboard_up(tmp_path, bad):
    """NaN and inf written as JSON's bare words (``NaN``, ``Infinity``), 1e308, negative losses
    and accuracies past 100%, and a status.json of the same: drawn up to the last good point."""
    run = make_run(tmp_path, "bad", epochs=2, status="diverged", error="the training loss")
    value = {"nan": "NaN", "inf": "Infinity", "huge": "1e308", "negative": "-3", "missing": "null"}
    with open(run / "events.jsonl", "a") as handle:
        for step in range(41, 60):
            handle.write(
                f'{{"event": "metrics", "step": {step}, "train_loss": {value[bad]}, '
                f'"lr": {value[bad]}, "val_acc": {value[bad]}, "val_loss": {value[bad]}}}\n'
            )
        handle.write(
            f'{{"event": "system", "step": 60, "cpu_percent": {value[bad]}, '
            f'"rss_mb": {value[bad]}}}\n'
        )
        handle.write('{"event": "end", "status": "diverged", "step": 60}\n')
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(
        json.dumps({**status, "best_val_acc": 1e308 if bad == "huge" else -3, "epoch": -5}).replace(
            "1e+308", value[bad] if bad in ("nan", "inf") else "1e308"
        )
    )
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        for key in ("g", "g", "g", "g", "l", "x", "right", "plus", "1", "2", "5"):
            await pilot.press(key)
        await looked(pilot)
        assert app.is_running
        assert status_of(app, "bad") == "diverged" and row_of(app, "bad")["best"] == "-"
        await pilot.press("1")
        await wait_for(pilot, lambda: "diverged at update 60" in legend_of(app, "loss"), 10, "mark")


async def test_a_run_with_no_finite_loss_says_so_instead_of_drawing(tmp_path):
    run = tmp_path / "all-nan"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"status": "diverged", "max_epochs": 1}))
    write_events(
        run,
        [
            {"event": "start", "max_epochs": 1, "steps_per_epoch": 100, "epoch": 0, "step": 0},
            {"event": "metrics", "step": 50, "train_loss": None, "lr": 0.1},
            {"event": "end", "status": "diverged", "step": 50},
        ],
    )
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        assert "no finite value: diverged at update 50" in legend_of(app, "loss")
        assert marks_of(app, "loss") == (0, 0)
        assert "0 epochs, diverged at update 50" in shown_text(app.query_one("#progress"))


@pytest.mark.slow
async def test_a_real_diverged_run_reads_diverged_with_its_mark(tiny_env):
    from digitnet.cli.main import main

    args = ["fit", "--run_name", "boom", "--model.lr", "1e4", "--model.layers", "[784, 32, 10]"]
    assert main([*args, "--trainer.max_epochs", "1", "--data.val_size", "100"]) == 2
    status = json.loads(
        (Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "boom" / "status.json").read_text()
    )
    assert status.get("best_val_acc") is None  # the pass after the NaN scores no weights of its
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot, 2)
        assert status_of(app, "boom") == "diverged"
        loss = legend_of(app, "loss")
        assert "diverged at update" in loss
        at = int(loss.split("diverged at update")[1].split()[0].replace(",", ""))
        assert at > 0 and app.screen.views["boom"].diverged_at == at
        for key in ("g", "g", "g", "g", "l", "right", "2", "3", "4", "5", "7", "1"):
            await pilot.press(key)
        await looked(pilot)
        assert app.is_running and "diverged" in shown_text(app.query_one("#progress"))


def test_smoothing_and_the_guard_never_let_a_bad_number_through():
    assert plotting.smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    from digitnet.dashboard.state import RunView

    view = RunView()
    for value in (math.nan, math.inf, -1.0, 1e308, 0.5):
        view.apply({"event": "metrics", "step": 1, "train_loss": value, "val_acc": value})
    assert view.train_loss.values == [0.5] and view.val_acc.values == [0.5]
    assert view.train_loss.steps == [1.0]  # the same step, replaced


@pytest.mark.slow
async def test_a_metric_a_users_own_code_logs_is_drawn_without_dashboard_code(tiny_env):
    """A callback of the user's logs ``grad_norm`` with ``self.log``: the dashboard's Other
    metrics chart draws it, named, with no code written for it."""
    import lightning as L

    from digitnet import DigitClassifier, DigitDataModule, run_folder

    class GradNorm(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            pl_module.log("grad_norm", 1.0 + batch_idx % 3)

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        **run_folder(root / "own-metric", log_every_n_steps=1, callbacks=[GradNorm()]),
    )
    import csv

    model = DigitClassifier(layers=[784, 16, 10])
    trainer.fit(model, datamodule=DigitDataModule(val_size=100, steps_per_call=4))
    rows = list(csv.DictReader((root / "own-metric" / "metrics.csv").open()))
    steps = [int(row["step"]) for row in rows if row["grad_norm"]]
    assert len(steps) == trainer.global_step  # one a Lightning step ...
    assert steps[0] == 4 and steps[-1] == model.updates  # ... at the update count (4 a step)
    assert steps == sorted(set(steps))
    app = DashboardApp(root, clock=lambda: T0)
    async with app.run_test(size=(100, 32)) as pilot:
        await looked(pilot, 2)
        await pilot.press("g", "g", "g")  # loss, accuracy, learning rate, other metrics
        assert app.screen.query_one("#charts").chosen == "metrics"
        assert "grad_norm" in legend_of(app, "metrics")
        assert marks_of(app, "metrics")[0] > 20


async def test_a_run_without_a_validation_split_says_why_its_accuracy_chart_is_empty(tmp_path):
    run = make_run(tmp_path, "quickstart-like", epochs=3)
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    events[0]["config"]["data"]["val_size"] = 0
    kept = [e for e in events if e["event"] != "val"]
    for event in kept:
        event.pop("val_acc", None)
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in kept))
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(120, 40)) as pilot:
        await looked(pilot, 2)
        assert "no validation split (--data.val_size 0)" in legend_of(app, "accuracy")


async def test_log_scale_applies_to_every_chart_whose_values_are_positive(tmp_path):
    make_run(tmp_path, "positive", epochs=4)
    app = DashboardApp(tmp_path, clock=lambda: T0)
    async with app.run_test(size=(120, 40)) as pilot:
        await looked(pilot, 2)
        await pilot.press("l", "g")  # log, then the accuracy chart (all positive)
        await pilot.pause()
        chart = app.query_one("#chart-accuracy")
        assert chart.lines and all(line.log for line in chart.lines)
        assert "log" in chooser(app)
