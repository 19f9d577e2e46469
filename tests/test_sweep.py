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
@pytest.mark.subprocess
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
        ("epochs", "1 | 2", "epochs takes one value; ranges and choices go in layers, lr, "),
        ("lr", "0.1 |", "one of the choices of lr is empty"),
        ("lr", "0.01...0.3", "the range of lr must read low..high, got '0.01...0.3'"),
        ("lr", "0.01 | 0.2..0.3", "lr takes a range or choices, not both"),
    ],
)
def test_the_form_checks_each_part_of_a_range_or_choices(field, text, words):
    from digitnet.runs.spec import LaunchSpec

    problems = LaunchSpec(**{field: text}).errors()
    assert words in problems[field]


def test_a_run_name_is_a_name_and_a_sweeps_leaves_room_for_its_trials():
    from digitnet.runs.spec import LaunchSpec

    assert LaunchSpec(name="run..2").errors() == {}  # a legal name, not a range
    assert LaunchSpec(trials="").errors() == {}  # not a sweep: its trials do not count
    assert LaunchSpec(trials="").to_args("x")[:3] == ["fit", "--run_name", "x"]
    long = "x" * 99
    assert LaunchSpec(name=long).errors() == {}
    problem = LaunchSpec(name=long, lr="0.01..0.3", trials="10").errors()["name"]
    assert f"{long}-9 is too long for a run name" in problem


def test_a_sweep_from_the_form_refuses_a_taken_study(tmp_path):
    from digitnet.errors import BadSetting
    from digitnet.runs.process import launch_sweep
    from digitnet.runs.spec import LaunchSpec

    (tmp_path / "taken-0").mkdir()  # a trial run of an earlier sweep of that name
    with pytest.raises(BadSetting, match="a sweep named taken already exists"):
        launch_sweep(LaunchSpec(lr="0.01..0.3", name="taken"), tmp_path)
    assert not (tmp_path / "taken.sweep.yaml").exists()


@pytest.mark.slow
@pytest.mark.subprocess
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
        await wait_for(
            pilot, lambda: app.screen.control.sweeps == [], 60, "the sweep process to end"
        )
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


# -- what a sweep reports can be trusted (issue: sweeps a researcher can trust)


class AlwaysPrune:
    """An Optuna trial whose pruner always says stop; it records the epochs asked about."""

    def __init__(self) -> None:
        self.reported: list[int] = []
        self.asked: list[int] = []

    def report(self, value: float, step: int) -> None:
        self.reported.append(step)

    def should_prune(self) -> bool:
        self.asked.append(self.reported[-1])
        return True


@pytest.mark.slow
@pytest.mark.parametrize("epochs", [1, 3])
def test_a_trial_that_ran_every_epoch_is_complete_never_pruned(tiny_env, epochs):
    from digitnet.cli import experiments
    from digitnet.record.pruning import TrialPruning

    trial = AlwaysPrune()
    options = {"trainer.max_epochs": epochs, "data.val_size": 10000, "test_after_fit": False}
    result = experiments.fit(
        options,
        "t",
        Path(tiny_env["DIGITNET_CHECKPOINTS"]),
        [TrialPruning(trial)],
    )
    assert epochs - 1 not in trial.asked  # the last epoch is reported, never judged
    assert result.status == ("finished" if epochs == 1 else "pruned")
    assert trial.reported == list(range(1 if epochs == 3 else epochs))


def synthetic_study(trials: int, seed: int = 0):
    """A study where the layers clearly matter (3 points) and the learning rate hardly does."""
    import math

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        study_name="synthetic",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )

    def objective(trial):
        lr = trial.suggest_float("model.lr", 0.001, 1.0, log=True)
        layers = trial.suggest_categorical("model.layers", ["[784, 8, 10]", "[784, 32, 10]"])
        return 0.94 + (0.03 if layers == "[784, 32, 10]" else 0.0) + 0.001 * math.sin(10 * lr)

    study.optimize(objective, n_trials=trials)
    return study


def test_importance_names_what_mattered_and_what_it_rests_on():
    from digitnet.cli.sweep import summarize
    from digitnet.runs.study import line

    summary = summarize(synthetic_study(12))
    assert max(summary["importance"], key=summary["importance"].get) == "layers"
    assert summary["importance"]["layers"] > 0.8
    assert summary["importance_trials"] == 12 and summary["importance_evaluator"] == "fANOVA"
    assert "importance (fANOVA, 12 complete trials): layers" in line(summary)


def test_importance_is_withheld_below_the_trials_it_needs():
    from digitnet.cli.sweep import summarize
    from digitnet.runs.study import line

    summary = summarize(synthetic_study(5))
    assert "importance" not in summary
    assert "importance needs 8 complete trials, this study has 5" in line(summary)


@pytest.mark.slow
def test_a_sweep_whose_trials_all_fail_says_so_in_a_line_each_and_exits_non_zero(
    tiny_env, tmp_path, capsys
):
    spec = write_spec(tmp_path, SPEC + "  trainer.gradient_clip_val: 1.0\n", "fails")
    assert main(["sweep", str(spec), "--trials", "2"]) == 2
    out, err = capsys.readouterr()
    failed = [line for line in out.splitlines() if ": failed: " in line]
    assert len(failed) == 2 and "gradient_clip_val is not supported" in failed[0]
    assert "Traceback" not in out + err
    assert "no trial of this sweep completed (2 failed, 0 pruned)" in err


@pytest.mark.parametrize(
    "fit",
    [
        "fit: {test_after_fit: false, trainer: {max_epochs: 1}}",
        "fit: {test_after_fit: false, trainer.max_epochs: 1}",
    ],
)
def test_every_fit_option_may_stand_in_a_spec_dotted_or_nested(tmp_path, fit):
    from digitnet.cli.sweepspec import load_spec

    spec = write_spec(tmp_path, f"params: {{model.lr: [0.1, 0.2]}}\n{fit}")
    params, fixed = load_spec(spec)
    assert fixed == {"test_after_fit": False, "trainer.max_epochs": 1}
    assert params == {"model.lr": [0.1, 0.2]}


def test_a_study_name_too_long_for_its_trials_is_refused_before_any_trial(
    tiny_env, tmp_path, capsys
):
    spec = write_spec(tmp_path, "params: {model.lr: [0.1]}", "x" * 99)
    assert main(["sweep", str(spec), "--trials", "10"]) == 2
    assert "leaves no room for its trials' names" in capsys.readouterr().err
    assert not Path(tiny_env["DIGITNET_CHECKPOINTS"]).exists()


@pytest.mark.parametrize(
    "rule, words",
    [
        ("{low: 1, high: 1e400, log: true}", "needs numbers low and high"),
        ("{low: -1.0e+308, high: 1.0e+308}", "range is too wide"),
        ("{low: 0.1, high: 0.3, step: -0.1}", "needs a step above 0"),
        ("{low: 0.1, high: 0.3, step: 1.0}", "step 1.0 is wider than its range"),
    ],
)
def test_numbers_optuna_would_refuse_are_one_sentence(tiny_env, tmp_path, capsys, rule, words):
    spec = write_spec(tmp_path, f"params: {{model.lr: {rule}}}")
    assert main(["sweep", str(spec)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err, err


def test_a_tampered_spec_in_the_checkpoints_folder_is_refused_by_the_trust_rules(
    tiny_env, tmp_path, capsys
):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    root.mkdir()
    outside = tmp_path / "outside"
    tampered = (
        "params: {model.lr: [0.1]}\n"
        "fit:\n"
        "  trainer.logger: {class_path: lightning.pytorch.loggers.CSVLogger, "
        f"init_args: {{save_dir: {outside}}}}}\n"
    )
    spec = write_spec(root, tampered, "kept.sweep")
    assert main(["sweep", str(spec), "--study", "kept"]) == 2
    assert "outside the run folder" in capsys.readouterr().err
    planted = "params: {model.lr: [0.1]}\nfit: {trainer.callbacks: [{class_path: os.system}]}\n"
    assert main(["sweep", str(write_spec(root, planted, "p.sweep")), "--study", "p"]) == 2
    assert "os.system" in capsys.readouterr().err
    assert not outside.exists() and sorted(p.name for p in root.iterdir()) == [
        "kept.sweep.yaml",
        "p.sweep.yaml",
    ]
    own = write_spec(tmp_path, tampered.replace(str(outside), str(root / "kept-0")), "mine")
    from digitnet.cli.sweepspec import load_spec

    assert load_spec(own, root)[1]["trainer.logger"]["class_path"].endswith("CSVLogger")


# -- the journal is a run file


def test_a_planted_link_fifo_or_garbage_as_the_journal_is_one_sentence(tiny_env, tmp_path, capsys):
    import os

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    root.mkdir()
    spec = write_spec(tmp_path, "params: {model.lr: [0.1]}", "j")
    journal = root / "j.optuna.log"
    target = tmp_path / "elsewhere.log"
    for plant, words in (
        (lambda: journal.symlink_to(target), "is a symbolic link, not a regular file"),
        (lambda: os.mkfifo(journal), "is a FIFO, not a regular file"),
        (lambda: journal.write_text("hello\nworld\n"), "is not an Optuna journal (line 1"),
        (lambda: journal.mkdir(), "is a folder, not a regular file"),
    ):
        plant()
        assert main(["sweep", str(spec), "--trials", "1"]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
        (journal.rmdir if journal.is_dir() and not journal.is_symlink() else journal.unlink)()
    assert not target.exists() and not (root / "j-0").exists()


def test_a_huge_journal_is_refused_without_reading_it(tiny_env, tmp_path, capsys):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    root.mkdir()
    with open(root / "j.optuna.log", "wb") as huge:
        huge.truncate(300 * 2**20)  # sparse: no disk used
    spec = write_spec(tmp_path, "params: {model.lr: [0.1]}", "j")
    assert main(["sweep", str(spec)]) == 2
    assert "holds 300 MiB, more than a journal of 256 MiB" in capsys.readouterr().err


def test_a_dangling_lock_is_waited_for_a_bounded_time(tmp_path):
    from digitnet.errors import BadSetting
    from digitnet.runs.journal import open_journal

    (tmp_path / "j.optuna.log.lock").symlink_to(tmp_path / "nowhere")
    with pytest.raises(BadSetting, match="has been held for 0 s"):
        open_journal(tmp_path / "j.optuna.log", wait=0.2)


@pytest.mark.slow
def test_a_torn_journal_keeps_its_records_and_the_sweep_goes_on(tiny_env, tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC.replace("max_epochs: 2", "max_epochs: 1"), "torn")
    assert main(["sweep", str(spec), "--trials", "1"]) == 0
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    journal = root / "torn.optuna.log"
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"op_code": 4, "worker_id": "x", "trial_id": 0, "par')
    capsys.readouterr()
    assert main(["sweep", str(spec), "--trials", "1"]) == 0
    out, err = capsys.readouterr()
    assert "ended in a torn record (52 bytes, from a full disk or a kill)" in err
    side = [p for p in root.iterdir() if p.name.startswith("torn.optuna.log.torn-")]
    assert len(side) == 1 and side[0].read_bytes().startswith(b'{"op_code": 4')
    assert journal.read_bytes().startswith(whole) and (root / "torn-1").is_dir()
    assert "study torn: 2 of 2 trials complete" in out


def started_trial(tiny_env, tmp_path, study: str) -> tuple[subprocess.Popen, Path]:
    """A sweep in its own process, once its first trial has finished an epoch."""
    import time

    from screen import POLL_SECONDS

    spec = write_spec(tmp_path, SPEC.replace("max_epochs: 2", "max_epochs: 500"), study)
    sweep = subprocess.Popen(
        [sys.executable, "-m", "digitnet", "sweep", str(spec), "--trials", "3"],
        env=tiny_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / f"{study}-0"
    deadline = time.monotonic() + 120
    while not (
        (run / "status.json").exists()
        and json.loads((run / "status.json").read_text()).get("epoch")
    ):
        assert sweep.poll() is None, sweep.communicate()
        assert time.monotonic() < deadline, "the first trial never finished an epoch"
        time.sleep(POLL_SECONDS)
    return sweep, run


def load_study(root: Path, name: str):
    import optuna

    journal = optuna.storages.journal.JournalFileBackend(str(root / f"{name}.optuna.log"))
    return optuna.load_study(study_name=name, storage=optuna.storages.JournalStorage(journal))


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
@pytest.mark.subprocess
def test_ctrl_c_or_sigterm_stops_the_whole_sweep_and_saves_the_trial(
    tiny_env, tmp_path, signal_name
):
    import signal

    sweep, run = started_trial(tiny_env, tmp_path, "stop")
    sweep.send_signal(getattr(signal, signal_name))
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 2, err
    assert "sweep stop stopped; trial stop-0 was saved: resume it with 'digitnet fit " in err
    assert "Traceback" not in out + err
    assert json.loads((run / "status.json").read_text())["status"] == "cancelled"
    assert (run / "last.ckpt").is_file() and not run.with_name("stop-1").exists()
    trial = load_study(run.parent, "stop").trials[0]
    assert trial.state.name == "FAIL"  # not running forever, and never complete


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_killed_trial_is_marked_failed_at_the_next_start(tiny_env, tmp_path, monkeypatch, capsys):
    from digitnet.cli import sweep as sweep_command

    sweep, run = started_trial(tiny_env, tmp_path, "killed")
    sweep.kill()
    sweep.communicate(timeout=60)
    assert load_study(run.parent, "killed").trials[0].state.name == "RUNNING"
    monkeypatch.setattr(sweep_command, "DEAD_AFTER", 0.0)  # else a minute after the last word
    spec = write_spec(tmp_path, SPEC.replace("max_epochs: 2", "max_epochs: 1"), "killed")
    assert main(["sweep", str(spec), "--trials", "1"]) == 0
    assert "trial 0: its process had died; marked failed" in capsys.readouterr().out
    assert load_study(run.parent, "killed").trials[0].state.name == "FAIL"
    assert main(["runs", "--filter", "study:killed", "--format", "json"]) == 0
    states = {r["name"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    assert states["killed-0"] == "failed"


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_full_disk_during_a_sweep_is_a_sentence_and_leaves_no_half_made_run(
    tiny_env, tiny_disk, tmp_path
):
    """A real 4 MB tmpfs filled while a trial trains: each trial says so in a line, the sweep
    ends in one sentence, and no run folder holding only its lock is left behind."""
    spec = write_spec(
        tmp_path,
        SPEC + "  trainer.callbacks: [{class_path: faults.Fault}]\n",
        "disk",
    )
    env = {
        **tiny_env,
        "DIGITNET_CHECKPOINTS": str(tiny_disk),
        "DIGITNET_TEST_FAULT": "fill:20",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    done = subprocess.run(
        [sys.executable, "-m", "digitnet", "sweep", str(spec), "--trials", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "No space left on device" in done.stdout + done.stderr
    for run in (p for p in tiny_disk.iterdir() if p.is_dir()):
        assert {p.name for p in run.iterdir()} - {".lock"}, f"{run.name} holds only its lock"
    (tiny_disk / "filler").unlink()
    for path in tiny_disk.glob("disk*"):
        if path.is_file():
            path.unlink()
    with open(tiny_disk / "filler", "wb", buffering=0) as filler:  # full from the start
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass
    again = subprocess.run(
        [sys.executable, "-m", "digitnet", "sweep", str(spec), "--trials", "1", "--study", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 2 and "Traceback" not in again.stderr, again.stderr
    assert "cannot be written (No space left on device)" in again.stderr
