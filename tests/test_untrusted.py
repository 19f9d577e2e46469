"""A run folder's files are not what their names say: planted links, FIFOs and bombs.

Each test plants the thing in a folder, does what a user would (resume, rename, delete, cancel,
list, watch), and asserts that no file outside changed, nothing blocked and memory stayed
bounded. These run in-process on hand-made folders; the end-to-end resumes of a real run are in
``test_security.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import yaml

from digitnet import untrusted
from digitnet.cli.common import resolve_checkpoint
from digitnet.cli.prepare import check_user_configs
from digitnet.data.sources import inflate
from digitnet.errors import BadSetting, DataError, DigitnetError, RunError
from digitnet.record.csvlog import RunCSVLogger
from digitnet.runs import layout, listing, lock, manage, process, trust
from digitnet.runs.spec import LaunchSpec
from fake_runs import make_run

SECRET = "the user's own file\n"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A file of the user's that a planted link points to; it must never change."""
    path = tmp_path / "outside" / "precious.txt"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture
def run(tmp_path) -> Path:
    return make_run(tmp_path / "checkpoints", "shared-run")


def plant_link(run: Path, name: str, target: Path) -> Path:
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to(target)
    return run / name


def plant_fifo(run: Path, name: str) -> Path:
    (run / name).unlink(missing_ok=True)
    os.mkfifo(run / name)
    return run / name


def finishes(call, seconds: float = 10.0):
    """Run ``call`` in a thread; fail if it is still blocked after ``seconds`` (a FIFO nobody
    writes would block it for ever: it is then opened for writing, which frees it)."""
    result: dict = {}

    def target():
        try:
            result["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{call} blocked for {seconds} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


# -- 1. links: nothing is written through them -------------------------------------------------


@pytest.mark.parametrize("name", ["events.jsonl", "metrics.csv", "output.log"])
def test_an_append_never_writes_through_a_planted_link(run, outside, name):
    plant_link(run, name, outside)
    with pytest.raises(untrusted.NotRegularFile):
        untrusted.open_append(run / name)
    assert outside.read_text() == SECRET


def test_the_recorders_event_writes_refuse_a_link_in_one_sentence(run, outside):
    from digitnet.atomic import write_failed

    plant_link(run, "events.jsonl", outside)
    try:
        layout.append_event(run, "step", step=1)
    except OSError as error:
        sentence = str(write_failed(run, error))
    assert sentence == (
        f"run shared-run holds events.jsonl, which is a symbolic link, not a regular file; "
        f"digitnet writes only regular files in a run folder, so delete {run / 'events.jsonl'} "
        "and resume with --ckpt_path shared-run."
    )
    assert outside.read_text() == SECRET


def test_status_hparams_and_metrics_replace_a_link_instead_of_writing_through_it(run, outside):
    for name in ("status.json", "hparams.yaml", "metrics.csv"):
        plant_link(run, name, outside)
    layout.write_status(run, status="running")
    logger = RunCSVLogger(run)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"train_loss": 0.5, "epoch": 0}, step=50)
    assert outside.read_text() == SECRET
    for name in ("status.json", "hparams.yaml", "metrics.csv"):
        assert untrusted.is_regular(run / name), name
    assert "lr: 0.1" in (run / "hparams.yaml").read_text()


def test_the_lock_is_never_claimed_through_a_link(run, outside):
    plant_link(run, ".lock", outside)
    with pytest.raises(RunError, match=r"\.lock is a symbolic link, not a regular file; delete"):
        lock.claim(run)
    assert outside.read_text() == SECRET


def test_a_lock_that_is_a_folder_is_one_sentence(run):
    (run / ".lock").mkdir()
    with pytest.raises(RunError, match="cannot be locked: its .lock is a folder"):
        lock.claim(run)


def test_output_log_of_a_launch_is_never_written_through_a_link(run, outside):
    plant_link(run, "output.log", outside)
    (run / "last.ckpt").write_bytes(b"not used: the launch stops before")
    with pytest.raises(RunError, match="output.log, which is a symbolic link"):
        process.resume(run)
    assert outside.read_text() == SECRET
    assert not (run / "launcher.json").exists()


def test_cancel_replaces_a_planted_link_and_refuses_a_folder(run, outside, tmp_path):
    plant_link(run, "cancel", outside)
    process.cancel(run)
    assert outside.read_text() == SECRET and untrusted.is_regular(run / "cancel")
    other = make_run(tmp_path / "checkpoints", "other")
    (other / "cancel").mkdir()
    with pytest.raises(RunError, match="cannot be cancelled: its cancel is a folder"):
        process.cancel(other)


def test_a_run_folder_that_is_a_link_is_never_renamed_deleted_or_resumed(tmp_path):
    root = tmp_path / "checkpoints"
    root.mkdir()
    elsewhere = make_run(tmp_path / "elsewhere", "victim")
    before = sorted(p.name for p in elsewhere.iterdir())
    (root / "looks-normal").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "last.ckpt").write_bytes(b"x")
    for act in (
        lambda: manage.delete_run(root, "looks-normal"),
        lambda: manage.rename_run(root, "looks-normal", "renamed"),
        lambda: resolve_checkpoint("looks-normal", root),
        lambda: process.resume(root / "looks-normal"),
        lambda: lock.claim(root / "looks-normal"),
    ):
        with pytest.raises(DigitnetError, match="is a symbolic link to"):
            act()
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted([*before, "last.ckpt"])
    assert not (elsewhere / ".lock").exists()
    assert [run.name for run in listing.list_runs(root)] == []  # a link is not listed as a run


# -- 3. the Python API refuses a folder that is not a run -------------------------------------


def test_run_folder_refuses_a_users_own_project_folder(tmp_path):
    from digitnet.record.folder import run_folder

    project = tmp_path / "myproject"
    project.mkdir()
    (project / "metrics.csv").write_text("epoch,mine\n1,2\n")
    (project / "hparams.yaml").write_text("# my notes\nlr: 3\n")
    with pytest.raises(RunError) as refused:
        run_folder(project)
    assert str(refused.value) == (
        f"{project} is not a digitnet run (it holds hparams.yaml, metrics.csv); pick another run "
        "folder (--run_name), so nothing in it is overwritten."
    )
    assert (project / "metrics.csv").read_text() == "epoch,mine\n1,2\n"
    assert (project / "hparams.yaml").read_text() == "# my notes\nlr: 3\n"


def test_run_folder_accepts_a_new_an_empty_and_an_existing_run_folder(tmp_path, run):
    from digitnet.record.folder import run_folder

    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "new", tmp_path / "empty", run):
        assert run_folder(folder)["default_root_dir"] == str(folder)


# -- 4. FIFOs never block, bombs never explode ---------------------------------------------------


@pytest.mark.parametrize("name", ["status.json", "events.jsonl", "output.log", "weights.npy"])
def test_a_fifo_in_a_run_folder_blocks_no_reader(run, name):
    fifo = plant_fifo(run, name)
    try:
        finishes(lambda: listing.list_runs(run.parent))
        finishes(lambda: listing.read_run(run))
        finishes(lambda: layout.EventReader(run / "events.jsonl").read())
        finishes(lambda: listing.output_tail(run))
        finishes(lambda: listing.LogTail(run / "output.log").read())
        assert finishes(lambda: layout.read_weights(run)) is None or name != "weights.npy"
        finishes(lambda: manage.folder_size(run))
        if name == "status.json":  # without a status.json it is not a run digitnet may delete
            with pytest.raises(RunError, match="is not a digitnet run"):
                finishes(lambda: manage.delete_run(run.parent, run.name))
        else:
            finishes(lambda: manage.delete_run(run.parent, run.name))
            assert not run.exists()
    finally:
        if fifo.exists():  # free a reader a failed check left blocked
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass


def test_a_fifo_named_as_the_lock_or_a_checkpoint_is_refused_without_blocking(run, tmp_path):
    from digitnet.model.checkpoints import load_checkpoint

    plant_fifo(run, ".lock")
    with pytest.raises(RunError, match="its .lock is a FIFO"):
        finishes(lambda: lock.claim(run))
    plant_fifo(run, "last.ckpt")
    with pytest.raises(DigitnetError, match="last.ckpt is a FIFO, not a regular file"):
        finishes(lambda: load_checkpoint(run / "last.ckpt"))


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    lines.append("model: {layers: *i}")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_config_is_refused_at_once(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    assert len(bomb.read_bytes()) < 600
    started = time.monotonic()
    with pytest.raises(BadSetting, match="expands to more than 100,000 values"):
        check_user_configs(["fit", "--config", str(bomb)])
    with pytest.raises(BadSetting, match="expands to more than"):
        check_user_configs(["fit", f"--config={billion_laughs()}"])
    with pytest.raises(RunError, match="expands to more than"):
        trust.check_config(yaml.safe_load(bomb.read_text()), tmp_path, "config.yaml")
    assert time.monotonic() - started < 5


def test_checkpoint_settings_sharing_one_nested_list_are_refused_at_once():
    shared: list = [0] * 10
    for _ in range(9):
        shared = [shared] * 10  # 10^10 leaves, a few hundred objects
    started = time.monotonic()
    with pytest.raises(RunError, match="expands to more than"):
        trust.check_hparams({"layers": shared}, "last.ckpt (hyper_parameters)")
    assert time.monotonic() - started < 5


def test_a_weights_header_that_claims_a_trillion_values_is_not_read(run):
    header = {"descr": "<f2", "fortran_order": False, "shape": (10**6, 10**3, 10**3)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    (run / "weights.npy").write_bytes(buffer.getvalue() + b"\0" * 64)
    started = time.monotonic()
    assert layout.read_weights(run) is None
    assert time.monotonic() - started < 2
    layout.write_weights(run, np.ones((4, 28, 28)))
    assert layout.read_weights(run).shape == (4, 28, 28)


def test_a_gzip_bomb_in_the_data_folder_is_cut_off_at_the_official_size(tmp_path):
    inflated = 200 * 1024 * 1024  # 200 MB of zeros in about 200 KB
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=9) as stream:
        chunk = bytes(1 << 20)
        for _ in range(inflated >> 20):
            stream.write(chunk)
    assert len(packed.getvalue()) < 1024 * 1024
    packed.seek(0)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="inflates past 47,040,016 bytes"):
            inflate(packed, 47_040_016, "train-images-idx3-ubyte.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 120 * 1024 * 1024  # the bound and one chunk, never the 200 MB


def test_a_corrupt_gzip_body_is_one_sentence(tmp_path):
    good = gzip.compress(b"x" * 1000)
    with pytest.raises(DataError, match="is not a readable gzip file"):
        inflate(io.BytesIO(good[:20] + b"\xff" * 40 + good[60:]), 2000, "labels.gz")


def test_a_huge_events_file_is_read_in_bounded_pieces(run, monkeypatch):
    monkeypatch.setattr(layout.EventReader, "MOST_BYTES", 4096)
    with open(run / "events.jsonl", "a") as handle:
        handle.write('{"event": "step", "pad": "' + "x" * 10_000 + '"}\n')  # a line too long
        handle.write(json.dumps({"event": "end", "status": "finished"}) + "\n")
    reader = layout.EventReader(run / "events.jsonl")
    seen = []
    for _ in range(100):
        seen += reader.read()
    assert seen[-1] == {"event": "end", "status": "finished"}
    assert sum(1 for event in layout.iter_events(run) if event["event"] == "end") == 2


# -- 5. reserved run names -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["last", "Last", "best", "None", "null", "NULL", "hpc"])
def test_names_that_ckpt_path_reads_another_way_are_refused(run, name):
    with pytest.raises(RunError, match="is a word --ckpt_path reads another way"):
        layout.check_name(name)
    assert "name" in LaunchSpec(name=name).errors()
    with pytest.raises(RunError, match="reads another way"):
        manage.rename_run(run.parent, run.name, name)


def test_the_dashboard_resumes_a_run_by_its_checkpoints_path(tmp_path, monkeypatch):
    run = make_run(tmp_path / "checkpoints", "last-try")
    (run / "last.ckpt").write_bytes(b"x")
    started = []
    monkeypatch.setattr(process, "start_process", lambda args, folder, spare: started.append(args))
    process.resume(run)
    at = started[0].index("--ckpt_path")
    assert started[0][at + 1] == str((run / "last.ckpt").absolute())


@pytest.mark.subprocess
def test_a_stale_pid_that_now_belongs_to_another_process_is_not_a_running_run(tmp_path):
    """The run's process died long ago and its number went to a newer process: the run reads
    failed (not running), and it can be deleted (its lock is free)."""
    import subprocess
    import sys

    run = make_run(tmp_path, "old", status="running", age=3600)
    newer = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    try:
        status = json.loads((run / "status.json").read_text())
        status.update(pid=newer.pid, updated=time.time() - 100)  # written before it started
        (run / "status.json").write_text(json.dumps(status))
        assert listing.read_run(run).status == "failed"
        manage.delete_run(tmp_path, "old")
        assert not run.exists()
    finally:
        newer.kill()
        newer.wait()
