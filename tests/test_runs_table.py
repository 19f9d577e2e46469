"""``digitnet runs`` as a table of what tells runs apart, for people and scripts; diffs; notes and
tags kept beside a run (never in a file the run writes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digitnet.cli.main import main
from fake_runs import make_run


def settle(run: Path, **fields) -> None:
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, **fields}))


@pytest.fixture
def three(tiny_env) -> Path:
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    base = {"model.layers": "784-100-10", "model.activation": "relu", "data.batch_size": 64}
    for name, lr, test, age in (("slow", 0.013, 0.95, 600), ("fast", 0.027, 0.97, 300)):
        settle(make_run(root, name, age=age), settings={**base, "model.lr": lr}, test_acc=test,
               train_seconds=42.0)  # fmt: skip
    settle(make_run(root, "wide", age=900), settings={**base, "model.lr": 0.013,
           "model.layers": "784-300-10"}, train_seconds=185.0)  # fmt: skip
    return root


def test_the_table_shows_only_the_settings_that_differ(three, capsys):
    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    assert header == [
        "status",
        "name",
        "best",
        "test",
        "time",
        "data",
        "epochs",
        "layers",
        "lr",
        "tags",
    ]  # fmt: skip (the figures first: they are what a user ranks by)
    fast = next(line for line in lines if line.split()[1] == "fast").split()
    assert fast[3:5] == ["97.00", "42s"] and fast[6:9] == ["5/5", "784-100-10", "0.027"]
    assert lines[-1].startswith("3 runs;")


def test_sort_by_any_column_and_filter_by_name_or_tag(three, capsys):
    assert main(["runs", "note", "slow", "the", "baseline", "#baseline"]) == 0
    capsys.readouterr()
    assert main(["runs", "--sort", "lr"]) == 0
    names = [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert names[-1] == "fast"  # 0.013, 0.013, then 0.027
    assert main(["runs", "--sort", "test"]) == 0
    names = [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert names == ["fast", "slow", "wide"]  # best first; no test last
    assert main(["runs", "--filter", "tag:baseline"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:-1]
    assert [row.split()[1] for row in rows] == ["slow"] and rows[0].endswith("#baseline")
    assert main(["runs", "--sort", "nosuch"]) == 2
    assert "is not a column" in capsys.readouterr().err


def test_json_and_csv_give_scripts_the_same_table(three, capsys):
    assert main(["runs", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    fast = next(r for r in records if r["name"] == "fast")
    assert fast["settings"]["model.lr"] == 0.027 and fast["test_acc"] == 0.97
    assert fast["seconds"] == 42.0 and fast["tags"] == []
    assert main(["runs", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "status,name,best,test,time,data,epochs,layers,lr,tags"
    assert len(rows) == 4


def test_diff_puts_what_differs_first(three, capsys):
    assert main(["runs", "diff", "slow", "fast"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["≠", "lr", "0.013", "0.027"]
    assert any(line.split()[:2] == ["layers", "784-100-10"] for line in lines)
    assert main(["runs", "diff", "slow", "nosuch"]) == 2
    assert "there is no run nosuch" in capsys.readouterr().err


def test_notes_live_in_their_own_file_and_are_checked(three, capsys):
    run = three / "fast"
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main(["runs", "note", "fast", "lr", "doubled", "#lr", "#try2"]) == 0
    notes = json.loads((run / "notes.json").read_text())
    assert notes == {"note": "lr doubled #lr #try2", "tags": ["lr", "try2"]}
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != "notes.json"} == before
    assert main(["runs", "note", "fast", "#bad/tag"]) == 2
    assert "tag 'bad/tag' may hold only" in capsys.readouterr().err


async def test_the_dashboards_runs_tab_sorts_clones_notes_and_diffs(three):
    from textual.widgets import Input

    from digitnet.dashboard.app import DashboardApp
    from digitnet.dashboard.screens.ask import AskName
    from digitnet.dashboard.widgets.launch_form import LaunchForm
    from digitnet.dashboard.widgets.run_list import RunList
    from digitnet.dashboard.widgets.runs_table import RunsTable
    from fake_runs import T0
    from screen import looked, rows_of, shown_text, wait_for

    app = DashboardApp(three, clock=lambda: T0)
    async with app.run_test(size=(120, 40)) as pilot:
        await looked(pilot)
        await pilot.press("a")  # all runs, as a table
        grid = app.query_one(RunsTable)
        await wait_for(pilot, lambda: grid.row_count == 3, 10, "the table")
        assert [c.value for c in grid.columns] == [
            "status", "name", "best", "test", "time", "data", "epochs", "model.layers",
            "model.lr", "tags"]  # fmt: skip
        await pilot.click(RunsTable, offset=(50, 0))  # a header: sort by it
        grid.sort = ("test", False)
        await pilot.pause()
        assert [str(grid.get_row_at(i)[1]) for i in range(3)] == ["fast", "slow", "wide"]

        app.query_one(RunList).select("fast")
        await pilot.press("k")  # clone: the form with fast's settings
        form = app.query_one(LaunchForm)
        assert form.query_one("#lr", Input).value == "0.027"
        assert form.query_one("#layers", Input).value == "784, 100, 10"
        assert app.query_one("#tabs").active == "tab-launch"

        await pilot.press("escape", "t")
        assert isinstance(app.screen, AskName)
        field = app.screen.query_one("#answer", Input)
        field.value = ""
        await pilot.press(*"keep #best", "enter")
        await wait_for(pilot, lambda: (three / "fast" / "notes.json").is_file(), 10, "the note")
        await pilot.press("slash", *"tag:best", "enter")
        await wait_for(pilot, lambda: [r["name"] for r in rows_of(app)] == ["fast"], 10, "filter")
        await pilot.press("escape")  # the filter goes
        await wait_for(pilot, lambda: len(rows_of(app)) == 3, 10, "every run again")

        app.query_one(RunList).select("slow")
        await pilot.press("m")
        app.query_one(RunList).select("fast")
        await pilot.press("m", "5")  # two marked: Details shows them side by side
        details = app.query_one("#details")
        await wait_for(pilot, lambda: "side by side" in shown_text(details), 10, "the diff")
        lines = [line.strip() for line in shown_text(details).splitlines()]
        first = next(line for line in lines if line.startswith("≠"))
        assert first.split()[:4] == ["≠", "lr", "0.027", "0.013"]


def test_equal_best_scores_rank_the_run_that_ended_first_first():
    """As a study's best trial: of two trials at 100.00%, the first to get there."""
    from digitnet.runs import table
    from digitnet.runs.listing import RunInfo

    first = RunInfo("ui-0", Path("."), "finished", best_val_acc=1.0, updated=100.0)
    second = RunInfo("ui-1", Path("."), "finished", best_val_acc=1.0, updated=200.0)
    worse = RunInfo("ui-2", Path("."), "finished", best_val_acc=0.5, updated=50.0)
    newest_first = [second, worse, first]
    ranked = sorted(newest_first, key=lambda run: table.value(run, "best"))
    assert [run.name for run in ranked] == ["ui-0", "ui-1", "ui-2"]


def test_runs_fits_the_terminal_and_ranks_a_studys_trials_best_first(tmp_path, capsys, monkeypatch):
    root = tmp_path / "checkpoints"
    for name, rate in (("s-0", 0.5), ("s-1", 1.0), ("s-2", 0.7)):
        make_run(root, name, rate=rate)
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["runs", "--checkpoints_dir", str(root), "--filter", "study:s"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 60 for line in lines), lines
    assert [line.split()[1] for line in lines[1:4]] == ["s-1", "s-2", "s-0"]  # best first
    assert lines[0].split()[:5] == ["status", "name", "best", "test", "time"]


def test_runs_as_csv_is_safe_to_open_in_a_spreadsheet(tmp_path, capsys):
    import csv

    root = tmp_path / "checkpoints"
    run = make_run(root, "plain")
    status = json.loads((run / "status.json").read_text())
    status["dataset"] = '=HYPERLINK("http://x")\x1b[2J'
    (run / "status.json").write_text(json.dumps(status))
    (run / "notes.json").write_text(json.dumps({"note": "", "tags": ["@SUM"]}))
    assert main(["runs", "--checkpoints_dir", str(root), "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert rows[0]["data"] == '\'=HYPERLINK("http://x")\\x1b[2J'
    assert all(not v.startswith(("=", "+", "@", "-", "\t", "\r")) for v in rows[0].values())


def fake_study(root: Path, name: str = "s") -> None:
    """Six trials of study ``name`` as run folders, and its summary as a sweep writes it."""
    history = []
    for n, (lr, layers, epochs, state) in enumerate(
        [
            (0.1, [784, 16, 10], [0.90, 0.93], "complete"),
            (0.03, [784, 32, 10], [0.92, 0.96], "complete"),
            (0.2, [784, 16, 10], [0.85], "pruned"),
            (0.05, [784, 32, 10], [0.93, 0.97], "complete"),
            (0.01, [784, 16, 10], [0.80], "fail"),
            (0.07, [784, 32, 10], [0.91, 0.95], "complete"),
        ]
    ):
        make_run(root, f"{name}-{n}", epochs=len(epochs), rate=1.0 + n)
        value = epochs[-1] if state == "complete" else None
        params = {"lr": lr, "layers": json.dumps(layers)}
        history.append(
            {
                "trial": n,
                "run": f"{name}-{n}",
                "state": state,
                "value": value,
                "params": params,
                "epochs": epochs,
            }  # fmt: skip
        )
    summary = {
        "study": name, "trials": 6, "finished": 4, "history": history,
        "best": {"trial": 3, "run": f"{name}-3", "val_acc": 0.97, "params": {"lr": "0.05"}},
        "importance_note": "importance needs 8 complete trials, this study has 4",
    }  # fmt: skip
    (root / f"{name}.sweep.json").write_text(json.dumps(summary))


async def test_a_studys_views_history_settings_importance_and_epochs(tmp_path):
    from textual.widgets import Input

    from digitnet.dashboard.app import DashboardApp
    from digitnet.dashboard.widgets.study import StudyView
    from screen import looked, marks_of_widget, shown_text, wait_for

    fake_study(tmp_path)
    app = DashboardApp(tmp_path, poll_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await looked(pilot, 2)
        await pilot.press("a", "slash", *"study:s", "enter")
        study = app.query_one(StudyView)
        await wait_for(pilot, lambda: study.display and study.found, 10, "the study view")
        assert app.query_one("#filter", Input).value == "study:s"
        seen = []
        for _ in range(5):  # history, layers, lr, importance, epochs
            await pilot.pause()
            title = shown_text(study.query_one("#study-title"))
            seen.append(title.split("·")[1].split("(")[0].strip())
            if study.view == "importance":
                text = " ".join(shown_text(study.query_one("#study-text")).split())
                assert "importance needs 8 complete trials, this study has 4" in text
            else:
                assert marks_of_widget(study.query_one("#study-plot"))[0] > 10, study.view
            if study.view == "setting:layers":
                assert "0: 784-16-10  1: 784-32-10" in shown_text(study.query_one("#study-foot"))
            if study.view == "epochs":
                assert "1 pruned" in shown_text(study.query_one("#study-foot"))
            await pilot.press("v")
        assert seen == ["history", "layers", "lr", "importance", "epochs"]
