"""``digitnet sweep``: real tiny trials, each an ordinary run folder; two processes sharing one
study through a journal file; and bad specs refused in one sentence before any trial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from digitnet.cli.main import main

SPEC = """
params:
  model.lr: {low: 0.01, high: 0.5, log: true}
  model.layers: [[784, 8, 10], [784, 16, 10]]
fit:
  trainer.max_epochs: 2
  data.val_size: 10000
  data.batch_size: 32
"""


def write_spec(folder: Path, text: str = SPEC, name: str = "lr") -> Path:
    spec = folder / f"{name}.yaml"
    spec.write_text(text)
    return spec


@pytest.mark.slow
def test_a_sweep_trains_each_trial_as_a_run_and_ranks_them(tiny_env, tmp_path, capsys):
    spec = write_spec(tmp_path)
    assert main(["sweep", str(spec), "--trials", "3"]) == 0
    out = capsys.readouterr().out
    assert "study lr: " in out and "best: trial " in out
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    runs = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert runs == ["lr-0", "lr-1", "lr-2"]
    for run in runs:
        status = json.loads((root / run / "status.json").read_text())
        assert status["status"] in ("finished", "pruned")
        assert status["settings"]["model.layers"] in ("784-8-10", "784-16-10")
    assert (root / "lr.optuna.log").is_file()  # the study, kept beside the runs
    assert main(["sweep", str(spec), "--trials", "1"]) == 0  # started again: it goes on
    assert (root / "lr-3").is_dir()
    capsys.readouterr()
    assert main(["runs", "--filter", "study:lr", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in listed) == ["lr-0", "lr-1", "lr-2", "lr-3"]
    summary = json.loads((root / "lr.sweep.json").read_text())  # rewritten after each trial
    assert summary["trials"] == 4 and summary["best"]["run"] in [r["name"] for r in listed]
    best = max((r for r in listed if r["status"] == "finished"), key=lambda r: r["best_val_acc"])
    assert summary["best"]["val_acc"] == pytest.approx(best["best_val_acc"], abs=1e-6)
    assert "importance" not in summary  # withheld: too few complete trials to mean anything
    assert summary["importance_note"].startswith("importance needs 8 complete trials")
    assert [t["trial"] for t in summary["history"]] == [0, 1, 2, 3]
    assert main(["runs", "--filter", "study:lr"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"study lr: {summary['finished']} of 4 trials complete; best ")
    assert "; importance needs 8 complete trials, this study has " in first


@pytest.mark.slow
def test_two_processes_on_one_journal_share_the_trials(tiny_env, tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("max_epochs: 2", "max_epochs: 1"), "shared")
    journal = tmp_path / "shared.journal"
    command = [sys.executable, "-m", "digitnet", "sweep", str(spec), "--trials", "2"]
    command += ["--storage", f"journal:{journal}"]
    both = [
        subprocess.Popen(command, env=tiny_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in both:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()[-2000:]
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    runs = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert runs == ["shared-0", "shared-1", "shared-2", "shared-3"]  # four trials, each run once
    import optuna

    study = optuna.load_study(
        study_name="shared",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(journal))
        ),
    )
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "text, words",
    [
        ("fit: {}", "must be a mapping with 'params:'"),
        ("params: {model.lrr: [0.1]}", "names 'model.lrr', which is not a digitnet fit option"),
        ("params: {model.lr: []}", "model.lr has no choices"),
        ("params: {model.lr: {low: 0.5, high: 0.1}}", "has low 0.5 above high 0.1; swap them"),
        ("params: {model.lr: {low: 0, high: 1, log: true}}", "log scale, so low must be above 0"),
        ("params: {model.lr: [0.1]}\nfit: {model.lr: 0.2}", "both searches and fixes model.lr"),
        ("params: {model.lr: [0.1]}\nextra: 1", "a spec holds only 'params:' and 'fit:'"),
    ],
)
def test_a_bad_spec_is_one_sentence_before_any_trial(tiny_env, tmp_path, capsys, text, words):
    spec = write_spec(tmp_path, text)
    assert main(["sweep", str(spec)]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert not Path(tiny_env["DIGITNET_CHECKPOINTS"]).exists()


def test_a_storage_that_cannot_be_opened_is_one_sentence(tiny_env, tmp_path, capsys):
    spec = write_spec(tmp_path, "params: {model.lr: [0.1]}")
    assert main(["sweep", str(spec), "--storage", "nosuchdb://x"]) == 2
    err = capsys.readouterr().err
    assert "the sweep's storage nosuchdb://x cannot be opened" in err


@pytest.mark.parametrize(
    "field, text, words",
    [
        ("lr", "0.3..0.01", "runs backwards; write 0.01..0.3"),
        ("lr", "0.1..0.1", "holds one value"),
        ("lr", "0.01..-1", "lr must be a positive number"),
        ("layers", "784, 8, 10..784, 9, 10", "layers takes choices, not a range"),
        ("batch_size", "32 | 32", "two or more different values"),
        ("epochs", "1 | 2", "epochs takes one value; ranges and choices go in lr, momentum, "),
        ("lr", "0.1 |", "one of the choices of lr is empty"),
        ("lr", "0.01...0.3", "the range of lr must read low..high, got '0.01...0.3'"),
        ("lr", "0.01 | 0.2..0.3", "lr takes a range or choices, not both"),
    ],
)
def test_the_form_checks_each_part_of_a_range_or_choices(field, text, words):
    from digitnet.runs.process import LaunchSpec

    problems = LaunchSpec(**{field: text}).errors()
    assert words in problems[field]


def test_a_run_name_is_a_name_and_a_sweeps_leaves_room_for_its_trials():
    from digitnet.runs.process import LaunchSpec

    assert LaunchSpec(name="run..2").errors() == {}  # a legal name, not a range
    assert LaunchSpec(trials="").errors() == {}  # not a sweep: its trials do not count
    assert LaunchSpec(trials="").to_args("x")[:3] == ["fit", "--run_name", "x"]
    long = "x" * 99
    assert LaunchSpec(name=long).errors() == {}
    problem = LaunchSpec(name=long, lr="0.01..0.3", trials="10").errors()["name"]
    assert f"{long}-9 is too long for a run name" in problem


def test_a_sweep_from_the_form_refuses_a_taken_study(tmp_path):
    from digitnet.errors import BadSetting
    from digitnet.runs.process import LaunchSpec, launch_sweep

    (tmp_path / "taken-0").mkdir()  # a trial run of an earlier sweep of that name
    with pytest.raises(BadSetting, match="a sweep named taken already exists"):
        launch_sweep(LaunchSpec(lr="0.01..0.3", name="taken"), tmp_path)
    assert not (tmp_path / "taken.sweep.yaml").exists()


@pytest.mark.slow
async def test_a_sweep_started_from_the_dashboard_shows_its_trials_in_the_table(tiny_env):
    from textual.widgets import Button, Input

    from digitnet.dashboard.app import DashboardApp
    from digitnet.dashboard.widgets.runs_table import RunsTable
    from screen import shown_text, wait_for

    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n")
        fields = {"lr": "0.01..0.3", "layers": "784, 8, 10 | 784, 16, 10", "epochs": "1"}
        for name, value in {**fields, "trials": "2", "name": "ui"}.items():
            field = app.query_one(f"#{name}", Input)
            field.focus()
            field.value = ""
            await pilot.press(*value)
        await pilot.pause()
        assert str(app.query_one("#start", Button).label) == "Start sweep of 2 trials"
        await pilot.press("enter")
        assert app.query_one("#tabs").active == "tab-runs"
        assert app.query_one("#filter", Input).value == "study:ui"
        grid = app.query_one(RunsTable)

        def trials_ended() -> bool:
            statuses = [str(grid.get_row_at(i)[0]).split()[-1] for i in range(grid.row_count)]
            return len(statuses) == 2 and set(statuses) <= {"finished", "pruned"}

        await wait_for(pilot, trials_ended, 300, "both trials in the table, ended")
        await wait_for(pilot, lambda: app.screen.sweeps == [], 60, "the sweep process to end")
        ranked = [str(grid.get_row_at(i)[1]) for i in range(grid.row_count)]
        line = app.query_one("#study-line")
        await wait_for(pilot, lambda: "best " in shown_text(line), 30, "the study's line")
        assert f"best {ranked[0]} " in shown_text(line)  # the table is ranked, best first
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["ui-0", "ui-1"]
    for run in ("ui-0", "ui-1"):
        settings = json.loads((root / run / "status.json").read_text())["settings"]
        assert 0.01 <= settings["model.lr"] <= 0.3
        assert settings["model.layers"] in ("784-8-10", "784-16-10")
    assert "study ui: " in (root / "ui.sweep.log").read_text()  # the ranking, as in a shell


def test_a_batch_size_range_suggests_whole_numbers_on_a_log_scale():
    import optuna

    from digitnet.cli.sweep import suggest
    from digitnet.runs.search import parse

    rule = parse("batch_size", "16..256")
    assert rule == {"low": 16, "high": 256, "log": True}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    values = [suggest(study.ask(), "data.batch_size", rule) for _ in range(20)]
    assert all(type(v) is int and 16 <= v <= 256 for v in values)
    assert sum(v < 64 for v in values) > 5  # log scale: a quarter of the range, half the draws
