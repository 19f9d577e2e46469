"""Each promise of docs/reliability.md, proved by making its fault happen."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conftest import tiny_variables
from digitnet.atomic import remove_stale_temporaries
from digitnet.cli.main import main
from digitnet.errors import CheckpointError
from digitnet.model.checkpoints import atomic_save, load_checkpoint
from faults import Payload
from screen import POLL_SECONDS, alert_of, epoch_rows, looked, status_of, wait_for

TESTS = Path(__file__).parent
RUN = [
    "--data.val_size",
    "10000",
    "--data.batch_size",
    "16",
    "--model.layers",
    "[784, 24, 10]",
    "--trainer.max_epochs",
    "4",
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.log_every_n_steps",
    "5",
    "--trainer.enable_model_summary",
    "false",
    "--test_after_fit",
    "false",
]


def cli(env: dict, *args: str, fault: str = "", check: bool = False) -> subprocess.CompletedProcess:
    # faults.Fault is trusted by name, as a user would trust a callback of their own on resume
    env = {
        **env,
        "PYTHONPATH": os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]),
        "DIGITNET_ALLOW_CLASSES": "faults.Fault",
    }
    env.pop("DIGITNET_TEST_FAULT", None)
    if fault:
        env["DIGITNET_TEST_FAULT"] = fault
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


def epoch_metrics(run: Path) -> dict[int, tuple]:
    """The last-written val metrics of each epoch (a re-run epoch overwrites its partial first
    try)."""
    found = {}
    for line in (run / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "epoch":
            found[event["epoch"]] = (event["val_loss"], event["val_acc"])
    return found


def metrics_rows(run: Path) -> list[tuple]:
    """metrics.csv as (epoch, step, train_loss, val_acc, val_loss) tuples, empty cells as nan."""
    import csv

    with open(run / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    cell = lambda row, key: float(row[key]) if row.get(key) else float("nan")  # noqa: E731
    return [
        (
            int(row["epoch"]),
            int(row["step"]),
            *(cell(row, k) for k in ("train_loss", "val_acc", "val_loss")),
        )
        for row in rows
    ]


@pytest.fixture(scope="module")
def reference(tiny_data, tmp_path_factory):
    """The uninterrupted run every stopped run is compared with, trained once for this file."""
    root = tmp_path_factory.mktemp("reference") / "checkpoints"
    env = {**os.environ, **tiny_variables(tiny_data, root)}
    cli(
        env, "fit", *RUN, "--run_name", "reference", "--trainer.callbacks+=faults.Fault", check=True
    )
    return root / "reference"


# -- 1 and 11: exact resume after SIGKILL, SIGTERM (graceful stop) and cancel
# -----------------------
@pytest.mark.parametrize(
    "fault", ["kill:40", "kill:80", "kill:113", "term:50", "term:75", "cancel:60"]
)
@pytest.mark.slow
@pytest.mark.subprocess
def test_a_stopped_run_resumed_from_last_matches_the_uninterrupted_one(tiny_env, reference, fault):
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "broken"
    result = cli(
        tiny_env,
        "fit",
        *RUN,
        "--run_name",
        "broken",
        "--trainer.callbacks+=faults.Fault",
        fault=fault,
    )
    assert result.returncode == (-signal.SIGKILL if fault.startswith("kill") else 2), result.stderr[
        -2000:
    ]
    if not fault.startswith("kill"):
        assert json.loads((run / "status.json").read_text())["status"] == "cancelled"
        assert "was cancelled; resume it with" in result.stderr
    assert (run / "last.ckpt").is_file()
    cli(tiny_env, "fit", "--ckpt_path", "last", check=True)
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    ours, theirs = weights(run / "last.ckpt"), weights(reference / "last.ckpt")
    for name in theirs:
        assert torch.allclose(ours[name], theirs[name], atol=1e-6), name
    assert epoch_metrics(run) == pytest.approx(epoch_metrics(reference), abs=1e-6)
    ours, theirs = metrics_rows(run), metrics_rows(reference)  # one history, as if never stopped
    assert [row[:2] for row in ours] == [row[:2] for row in theirs]
    values = lambda rows: [v for row in rows for v in row[2:]]  # noqa: E731
    assert values(ours) == pytest.approx(values(theirs), abs=1e-5, nan_ok=True)


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_mid_epoch_resume_with_another_steps_per_call_is_refused_and_the_run_kept(tiny_env):
    """The place inside an epoch is counted in items of k mini-batches: another k would skip the
    wrong number of them, so it is refused in one sentence, the run left as it was."""
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "grouped"
    grouped = ["--data.steps_per_call", "4", "--trainer.callbacks+=faults.Fault"]
    assert (
        cli(tiny_env, "fit", *RUN, "--run_name", "grouped", *grouped, fault="term:12").returncode
        == 2
    )
    kept = (run / "last.ckpt").read_bytes()
    status = lambda: {  # noqa: E731
        k: v for k, v in json.loads((run / "status.json").read_text()).items() if k != "updated"
    }
    before = status()
    again = ["--ckpt_path", "grouped", "--data.steps_per_call", "2"]
    result = cli(tiny_env, "fit", *again)
    assert result.returncode == 2
    assert "resume with --data.steps_per_call 4 (it changes speed, never results)" in (
        result.stderr
    )
    assert (run / "last.ckpt").read_bytes() == kept
    assert status() == before and before["status"] == "cancelled"
    again[-1] = "4"
    assert cli(tiny_env, "fit", *again).returncode == 0


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_run_stopped_by_max_steps_inside_an_epoch_resumes_the_partial_epoch(tiny_env, reference):
    """--trainer.max_steps ends training inside epoch 2 (48 updates, 38 an epoch): the run reads
    stopped, with one epoch done, its schedule laid over those 48 updates (the run it was asked
    to be); a resume without the limit finishes the epochs with the updates of the uninterrupted
    run, its schedule now laid over them, ending at 0."""
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "limited"
    limited = ["--trainer.max_steps", "48"]
    result = cli(tiny_env, "fit", *RUN, "--run_name", "limited", *limited)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stopped at its --trainer.max_steps or --trainer.max_time inside epoch 2" in (
        result.stderr
    )
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "stopped" and status["epoch"] == 1
    assert torch.load(run / "last.ckpt", weights_only=True)["digitnet_epochs_done"] == 1
    rates = [float(row["lr"]) for row in csv_rows(run) if row.get("lr")]
    assert rates[-1] < 0.05 * rates[0]  # the 48 updates' schedule ran its course
    cli(tiny_env, "fit", "--ckpt_path", "limited", "--trainer.max_steps", "-1", check=True)
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    ours, theirs = csv_rows(run), csv_rows(reference)
    assert [row["step"] for row in ours] == [row["step"] for row in theirs]
    assert float([row["lr"] for row in ours if row.get("lr")][-1]) < 0.05 * rates[0]


def csv_rows(run: Path) -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader((run / "metrics.csv").open()))


# -- 2: atomic checkpoints
# ---------------------------------------------------------------------------
SAVER = """
import sys, torch
from pathlib import Path
from digitnet.model.checkpoints import atomic_save
path, i = Path(sys.argv[1]), 0
while True:
    i += 1
    print(i, flush=True)  # save i begins
    atomic_save({"state_dict": {"w": torch.full((512, 512), float(i))}, "i": i}, path)
"""


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_kill_at_any_moment_of_a_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    """Six kills, each once the saver says save N has begun (N = 2..7: at least one save has
    replaced the file before), wherever in its save the kill then lands."""
    path = tmp_path / "last.ckpt"
    atomic_save({"state_dict": {"w": torch.zeros(512, 512)}, "i": 0}, path)
    for begun in range(2, 8):
        process = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        while int(process.stdout.readline() or 0) < begun:
            assert process.poll() is None, "the saver ended before the save to interrupt"
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        checkpoint = load_checkpoint(path)
        w = checkpoint["state_dict"]["w"]
        # whole, never half of two saves, and a save of this process (the kill came after one)
        assert torch.equal(w, torch.full_like(w, float(checkpoint["i"])))
        assert begun - 1 <= checkpoint["i"]
    remove_stale_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


@pytest.mark.slow
def test_leftover_temporary_files_are_removed_when_a_run_starts(tiny_env):
    assert main(["fit", *RUN, "--trainer.max_epochs", "1", "--run_name", "t"]) == 0
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "t"
    (run / ".last.ckpt.abc123.tmp").write_bytes(b"half a checkpoint")
    assert (
        main(
            [
                "fit",
                "--ckpt_path",
                "t",
                "--trainer.max_epochs",
                "2",
                "--trainer.enable_progress_bar",
                "false",
            ]
        )
        == 0
    )
    assert not list(run.glob(".*.tmp"))


# -- 3: corrupt and foreign checkpoints
# --------------------------------------------------------------
@pytest.mark.slow
def test_a_bit_flip_inside_the_weights_is_caught(tiny_env, tmp_path, capsys):
    assert main(["fit", *RUN, "--trainer.max_epochs", "1", "--run_name", "flip"]) == 0
    import zipfile

    path = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "flip" / "last.ckpt"
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:  # the largest stored tensor: the first layer's weights
        info = max(archive.infolist(), key=lambda i: i.file_size)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.file_size // 2] ^= 0x10
    flipped = tmp_path / "flipped.ckpt"
    flipped.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(flipped)
    capsys.readouterr()
    assert main(["fit", "--ckpt_path", str(flipped)]) == 2
    assert "corrupt" in capsys.readouterr().err


# -- 4: untrusted checkpoints, dashboard path
# -------------------------------------------------------
@pytest.mark.slow
@pytest.mark.subprocess
async def test_the_dashboard_resume_of_a_crafted_checkpoint_reports_it_and_runs_nothing(
    tiny_env, tmp_path, monkeypatch
):
    from digitnet.dashboard.app import DashboardApp
    from fake_runs import T0, make_run

    mark = tmp_path / "pwned"
    monkeypatch.setenv("PAYLOAD_MARK", str(mark))
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    run = make_run(
        Path(tiny_env["DIGITNET_CHECKPOINTS"]),
        "evil",
        status="cancelled",
        age=T0 - time.time() + 3600,
    )  # stopped an hour ago
    torch.save({"state_dict": {}, "x": Payload()}, run / "last.ckpt")
    app = DashboardApp(poll_seconds=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await looked(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: "could run code" in alert_of(app), 60, "the refusal")
        assert "the last resume did not start" in alert_of(app)
        assert status_of(app, "evil") == "cancelled"  # a refused resume leaves the run as it was
    assert not mark.exists()


# -- 5: bad data files under python -O
# ----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.subprocess
def test_a_label_out_of_range_is_refused_under_python_O(tiny_env, tmp_path):
    import numpy as np

    from tiny import idx_bytes, write_tiny

    root = tmp_path / "bad"
    checksums = write_tiny(root, n_train=200, n_test=20)
    labels_path = root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    labels = np.frombuffer(labels_path.read_bytes()[8:], np.uint8).copy()
    labels[5] = 12
    labels_path.write_bytes(idx_bytes(labels))
    table = json.loads(checksums.read_text())
    table["mnist"]["train-labels-idx1-ubyte"] = hashlib.sha256(labels_path.read_bytes()).hexdigest()
    checksums.write_text(json.dumps(table))
    env = {**tiny_env, "DIGITNET_DATA": str(root), "DIGITNET_CHECKSUMS": str(checksums)}
    result = subprocess.run(
        [sys.executable, "-O", "-m", "digitnet", "fit", "--data.val_size", "50"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "label 12 is out of range" in result.stderr
    assert not any(Path(env["DIGITNET_CHECKPOINTS"]).glob("*/last.ckpt"))


# -- 7: bad hyper-parameters, property-based
# -----------------------------------------------------------
BAD_VALUES = st.one_of(
    st.tuples(st.just("--model.lr"), st.sampled_from(["0", "-1", "-0.5", "1e-400", "inf", "-inf"])),
    st.tuples(st.just("--data.batch_size"), st.sampled_from(["0", "-3"])),
    st.tuples(st.just("--data.val_size"), st.sampled_from(["-1", "60000", "99999"])),
    st.tuples(
        st.just("--model.layers"),
        st.sampled_from(["[]", "[784]", "[784, 0, 10]", "[10, 10]", "[784, 5]"]),
    ),
    st.tuples(st.just("--model.activation"), st.text(alphabet="abcxyz", min_size=1, max_size=6)),
    st.tuples(st.just("--model.loss"), st.sampled_from(["l1", "hinge", "MSE"])),
    st.tuples(st.just("--model.momentum"), st.sampled_from(["-0.1", "nan"])),
    st.tuples(st.just("--data.dataset"), st.sampled_from(["cifar10", "emnist", "MNIST"])),
)


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(BAD_VALUES)
def test_every_invalid_setting_is_refused_before_data_or_files(tiny_env, capsys, monkeypatch, bad):
    option, value = bad
    if option == "--model.activation" and value in ("relu",):
        return
    monkeypatch.setenv("DIGITNET_DATA", "/nonexistent/never-read")
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    before = sorted(root.rglob("*")) if root.exists() else []
    assert main(["fit", option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("digitnet: error:") and "never-read" not in err
    assert (sorted(root.rglob("*")) if root.exists() else []) == before


# -- 8: a full disk
# ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_full_disk_stops_the_run_clearly_and_keeps_the_previous_checkpoint(
    tiny_env, capsys, monkeypatch
):
    assert main(["fit", *RUN, "--trainer.max_epochs", "1", "--run_name", "disk"]) == 0
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "disk"
    good = (run / "last.ckpt").read_bytes()
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    capsys.readouterr()
    assert (
        main(
            [
                "fit",
                "--ckpt_path",
                "disk",
                "--trainer.max_epochs",
                "2",
                "--trainer.enable_progress_bar",
                "false",
            ]
        )
        == 2
    )
    monkeypatch.setattr(os, "fsync", real_fsync)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "No space left on device" in err and "previous checkpoint is intact" in err
    assert (run / "last.ckpt").read_bytes() == good
    assert not list(run.glob(".*.tmp"))
    assert json.loads((run / "status.json").read_text())["status"] == "failed"


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_real_full_disk_keeps_the_previous_checkpoint_and_ends_in_one_sentence(
    tiny_env, tiny_disk
):
    env = {**tiny_env, "DIGITNET_CHECKPOINTS": str(tiny_disk)}
    result = cli(
        env, "fit", *RUN, "--run_name", "full", "--trainer.callbacks+=faults.Fault", fault="fill:45"
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("Traceback") == 0
    assert (
        "No space left on device" in result.stderr
        and "previous checkpoint is intact" in result.stderr
    )
    run = tiny_disk / "full"
    load_checkpoint(run / "last.ckpt")  # the epoch-0 checkpoint, whole
    assert not list(run.glob(".*.tmp"))
    (tiny_disk / "filler").unlink()
    listing = subprocess.run(
        [sys.executable, "-m", "digitnet", "runs", "--checkpoints_dir", str(tiny_disk)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "full" in listing.stdout and "failed" in listing.stdout


# -- 9: concurrent runs and two dashboards
# ---------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.subprocess
def test_two_runs_started_at_once_get_separate_folders(tiny_env):
    env = {**tiny_env}
    args = [sys.executable, "-m", "digitnet", "fit", *RUN, "--trainer.max_epochs", "1"]
    processes = [
        subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait(timeout=180) for p in processes] == [0, 0]
    runs = sorted(Path(tiny_env["DIGITNET_CHECKPOINTS"]).iterdir())
    assert len(runs) == 2
    pids = [
        {
            json.loads(line)["pid"]
            for line in (r / "events.jsonl").read_text().splitlines()
            if '"start"' in line
        }
        for r in runs
    ]
    assert len(pids[0]) == len(pids[1]) == 1 and pids[0] != pids[1]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["testint:0", "testterm:0"])
@pytest.mark.subprocess
def test_an_interrupted_test_after_fit_leaves_the_finished_run_finished(tiny_env, fault):
    args = RUN[:-2]  # without --test_after_fit false
    result = cli(
        tiny_env,
        "fit",
        *args,
        "--trainer.max_epochs",
        "1",
        "--run_name",
        "t",
        "--trainer.callbacks+=faults.Fault",
        fault=fault,
    )
    assert result.returncode != 0
    assert (
        "the test of run t was interrupted; the run and its checkpoints are intact" in result.stderr
    )
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "t"
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_double_ctrl_c_before_the_first_checkpoint_is_not_called_resumable(tiny_env):
    result = cli(
        tiny_env,
        "fit",
        *RUN,
        "--run_name",
        "early",
        "--trainer.callbacks+=faults.Fault",
        fault="int2:5",
    )
    assert result.returncode != 0
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "early"
    status = json.loads((run / "status.json").read_text())
    assert not (run / "last.ckpt").exists()
    assert status["status"] == "failed" and "before its first checkpoint" in status["error"]


def race(env: dict, *args: str) -> list[subprocess.CompletedProcess]:
    """Start ``digitnet fit ARGS`` twice at once, and wait for both."""
    command = [sys.executable, "-m", "digitnet", "fit", *args]
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    second = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=300), "", p.stderr.read())
        for p in (first, second)
    ]


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_runs_with_one_name_never_share_its_folder(tiny_env):
    results = race(tiny_env, *RUN, "--trainer.max_epochs", "2", "--run_name", "same")
    assert sorted(r.returncode for r in results) == [0, 2]
    refused = next(r for r in results if r.returncode == 2).stderr
    assert "run same is in use by process" in refused or "run same already exists" in refused
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "same"
    steps = [(*row[:2], math.isnan(row[2])) for row in metrics_rows(run)]
    assert len(steps) == len(set(steps))  # one writer: no row twice (a step has a training and
    # a validation row at an epoch's end)
    assert (
        len(
            {
                json.loads(line)["pid"]
                for line in (run / "events.jsonl").read_text().splitlines()
                if '"start"' in line
            }
        )
        == 1
    )


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_resumes_of_one_run_at_once_are_refused_but_one(tiny_env):
    cli(tiny_env, "fit", *RUN, "--trainer.max_epochs", "1", "--run_name", "r", check=True)
    results = race(tiny_env, "--ckpt_path", "r", "--trainer.max_epochs", "3")
    assert sorted(r.returncode for r in results) == [0, 2]
    refused = next(r for r in results if r.returncode == 2).stderr
    # refused while the other trains, or, when that one was quicker than this one's start-up,
    # on the checkpoint it left: the run is locked before its checkpoint is read
    assert "run r is in use by process" in refused or "run r already finished 3 epochs" in refused
    rows = metrics_rows(Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "r")
    steps = [(*row[:2], math.isnan(row[2])) for row in rows]
    assert len(steps) == len(set(steps))


def test_a_folder_that_is_not_a_run_is_never_written(tiny_env, capsys):
    notes = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "notes"
    notes.mkdir(parents=True)
    (notes / "metrics.csv").write_text("my own numbers\n")
    assert main(["fit", *RUN, "--run_name", "notes"]) == 2
    assert "is not a digitnet run (it holds metrics.csv)" in capsys.readouterr().err
    assert sorted(p.name for p in notes.iterdir()) == ["metrics.csv"]
    assert (notes / "metrics.csv").read_text() == "my own numbers\n"


@pytest.mark.slow
@pytest.mark.subprocess
async def test_two_dashboards_watch_the_same_run(tiny_env):
    from digitnet.dashboard.app import DashboardApp

    env = {**tiny_env}
    process = subprocess.Popen(
        [sys.executable, "-m", "digitnet", "fit", *RUN, "--run_name", "shared"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    one, two = DashboardApp(poll_seconds=0.2), DashboardApp(poll_seconds=0.2)
    async with one.run_test(size=(100, 30)) as p1, two.run_test(size=(100, 30)) as p2:
        for app, pilot in ((one, p1), (two, p2)):  # each sees the run end on its own polls
            await wait_for(pilot, lambda app=app: status_of(app, "shared") == "finished", 120)
            await pilot.press("2")
            await wait_for(pilot, lambda app=app: epoch_rows(app) == 4, 10, "four epochs")
    assert process.wait(timeout=10) == 0


# -- 10: the dashboard under failure
# -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("fault, state", [("raise:3", "failed"), ("flood:50", "finished")])
@pytest.mark.subprocess
async def test_the_dashboard_shows_a_crashing_or_flooding_run_and_stays_usable(
    tiny_env, fault, state
):
    from digitnet.dashboard.app import DashboardApp

    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    env = {**tiny_env, "DIGITNET_TEST_FAULT": fault, "PYTHONPATH": path}
    log = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "out.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "digitnet",
                "fit",
                *RUN,
                "--run_name",
                "faulty",
                "--trainer.max_epochs",
                "2",
                "--trainer.callbacks+=faults.Fault",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        app = DashboardApp(poll_seconds=0.2)
        async with app.run_test(size=(100, 30)) as pilot:

            async def keys_still_handled() -> bool:
                await pilot.press("down", "up")  # keys are still handled while it runs
                return status_of(app, "faulty") == state

            deadline = time.monotonic() + 120
            while not await keys_still_handled():
                assert time.monotonic() < deadline, f"the run never read {state}"
                await asyncio.sleep(POLL_SECONDS)
            if state == "failed":
                await wait_for(
                    pilot,
                    lambda: "RuntimeError: injected failure at step" in alert_of(app),
                    30,
                    "the failure's sentence",
                )
            await pilot.press("n")
            assert app.query_one("#tabs").active == "tab-launch"
        process.wait(timeout=60)


# -- 9, continued: folders that cannot be written or read
@pytest.fixture
def read_only_disk(tmp_path):
    """A real read-only tmpfs (root only: even root cannot write it); skipped where none can be
    mounted."""
    mount = tmp_path / "read-only"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)]
    if os.geteuid() != 0 or subprocess.run(command, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.subprocess
def test_a_read_only_working_folder_gets_one_sentence(
    tiny_env, read_only_disk, capsys, monkeypatch
):
    monkeypatch.delenv("DIGITNET_CHECKPOINTS")
    monkeypatch.chdir(read_only_disk)
    assert main(["fit", *RUN]) == 2
    err = capsys.readouterr().err
    assert "cannot write the checkpoints folder checkpoints (Read-only file system)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["file", "read-only"])
@pytest.mark.subprocess
def test_a_data_folder_that_is_a_file_or_read_only_gets_one_sentence_and_no_run_folder(
    tiny_env, tmp_path, capsys, monkeypatch, request, where
):
    if where == "file":
        data = tmp_path / "data-file"
        data.write_text("not a folder")
        expected = f"the data folder {data} is a file, not a folder"
    else:
        data = request.getfixturevalue("read_only_disk")
        expected = f"mnist is not in {data}, and {data} cannot be written to fetch it"
    monkeypatch.setenv("DIGITNET_DATA", str(data))
    for command in (["fit", *RUN], ["data", "fetch", "mnist"]):
        assert main(command) == 2
        assert expected in capsys.readouterr().err
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert not root.exists() or list(root.iterdir()) == []  # no empty run folder left behind


@pytest.mark.slow
def test_an_unreadable_run_folder_is_left_out_of_the_list(tiny_env, capsys, monkeypatch):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert main(["fit", *RUN, "--trainer.max_epochs", "1", "--run_name", "mine"]) == 0
    (root / "theirs").mkdir()
    real_is_file = Path.is_file

    def is_file(path: Path) -> bool:  # what a folder of another user gives (root reads them all)
        if path.parent.name == "theirs":
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    capsys.readouterr()
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "theirs" not in out


@pytest.mark.slow
@pytest.mark.subprocess
def test_ctrl_c_of_a_run_piped_into_tee_is_a_cancel_not_a_failure(tiny_env, tmp_path):
    """Ctrl-C reaches the whole pipeline (`digitnet fit | tee`): tee ends, so the run's output
    meets a closed pipe; the run still reads cancelled, and its sentence is not an error."""
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "piped"
    fit = " ".join(
        [sys.executable, "-m", "digitnet", "fit", *RUN[:-2], "--trainer.max_epochs", "400"]
        + ["--run_name", "piped", "--trainer.enable_progress_bar", "true"]
    ).replace("[784, 24, 10]", "'[784, 24, 10]'")
    shell = subprocess.Popen(
        ["bash", "-c", f"{fit} | tee {tmp_path / 'log'}"],
        env=tiny_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline, events = time.monotonic() + 120, run / "events.jsonl"
    while not events.is_file() or '"step"' not in events.read_text():
        assert time.monotonic() < deadline and shell.poll() is None, "training never started"
        time.sleep(POLL_SECONDS)
    os.killpg(shell.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, stderr = shell.communicate(timeout=120)
    assert json.loads((run / "status.json").read_text())["status"] == "cancelled", stderr[-2000:]
    assert "digitnet: run piped was cancelled; resume it with" in stderr
    assert "error" not in stderr.split("digitnet: run piped was cancelled")[1]


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_planted_huge_line_in_metrics_csv_does_not_break_a_resume(tiny_env):
    """A 10 MB line in metrics.csv made the csv module fail (and the run read failed): it is
    dropped as a torn row is, and the resume trains on."""
    run = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "huge"
    small = [*RUN, "--trainer.max_epochs", "1", "--run_name", "huge"]
    cli(tiny_env, "fit", *small, check=True)
    with open(run / "metrics.csv", "a") as metrics:
        metrics.write("0," + "9" * 10_000_000 + "\n")
    result = cli(tiny_env, "fit", "--ckpt_path", "huge", "--trainer.max_epochs", "2")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    assert max(len(line) for line in (run / "metrics.csv").read_text().splitlines()) < 1000


def test_runs_note_over_a_folder_or_a_read_only_disk_is_one_sentence(tmp_path, capsys):
    from digitnet.cli.main import main
    from fake_runs import make_run

    run = make_run(tmp_path, "noted")
    (run / "notes.json").mkdir()
    code = main(["runs", "note", "noted", "hello", "--checkpoints_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write" in err and "the note was not kept" in err, err
    assert "Traceback" not in err and (run / "notes.json").is_dir()
