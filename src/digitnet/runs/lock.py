"""Provides :func:`claim`: one training process per run folder.

A process that trains in ``checkpoints/my-run/`` first takes an exclusive lock on
``checkpoints/my-run/.lock`` and holds it until it ends. The lock is the kernel's (``flock``), so
however the process ends, a crash or ``kill -9`` included, the lock goes with it: no stale lock
file to clean up. The holder writes who it is into the file, so a second process is refused with
one sentence that names it::

    run my-run is in use by process 4242 on vm since 14:03:10; wait for it to end, or cancel it
    ('c' in the dashboard), then try again.

Claims are re-entrant within a process (the CLI claims first, the recorder again). On systems
without ``fcntl`` (Windows) no lock is taken. Imports neither torch nor Lightning.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from digitnet import untrusted
from digitnet.errors import RunError
from digitnet.runs.files import NAMES, RunFolder

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = NAMES["lock"]
_held: dict[Path, int] = {}  # run folder -> the open file holding its lock, in this process


def claim(run_dir: Path) -> bool:
    """Lock ``run_dir`` for this process; True if this call took the lock, False if it held it
    already.

    Raises :class:`RunError` naming the holder when another process has it.
    """
    check_real_folder(run_dir)
    key = Path(run_dir).resolve()
    if key in _held or fcntl is None:
        return False
    try:
        fd = untrusted.open_fd(key / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    except untrusted.NotRegularFile as error:
        raise RunError(
            f"run {key.name} cannot be locked: its {error.strerror}; delete "
            f"{key / LOCK_NAME} and try again."
        ) from None
    except OSError as error:
        raise RunError(
            f"run {key.name} cannot be locked: {key / LOCK_NAME} cannot be written "
            f"({error.strerror or error}); make the run folder writable, then try again."
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _read_holder(fd)
        os.close(fd)
        since = (
            time.strftime("%H:%M:%S", time.localtime(holder.get("since", 0)))
            if holder.get("since")
            else "?"
        )
        raise RunError(
            f"run {key.name} is in use by process {holder.get('pid', '?')} "
            f"on {holder.get('host', '?')} since {since}; "
            "wait for it to end, or cancel it ('c' in the dashboard), then try again."
        ) from None
    os.ftruncate(fd, 0)
    os.write(
        fd,
        json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        ).encode(),
    )
    _held[key] = fd
    return True


def check_real_folder(run_dir: Path) -> None:
    """Refuse a run folder that is a symbolic link: what digitnet writes in a run stays under its
    checkpoints folder, never in the place a planted link points to."""
    if Path(run_dir).is_symlink():
        raise RunError(
            f"{run_dir} is a symbolic link to {os.readlink(run_dir)}, not a run folder; "
            "digitnet changes only real folders under the checkpoints folder (copy the run "
            "there to use it)."
        )


def release(run_dir: Path) -> None:
    """Give up this process's lock on ``run_dir`` (ending the process does it too)."""
    fd = _held.pop(Path(run_dir).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the file releases the flock


def held() -> set[Path]:
    """The run folders this process holds."""
    return set(_held)


def _read_holder(fd: int) -> dict:
    try:
        value = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


RUN_FILES = {NAMES["launcher"], NAMES["output"], LOCK_NAME}  # the dashboard's, before training


def check_new_run_folder(run_dir: Path) -> None:
    """Refuse to start a new run in a folder holding anything but what a dashboard launch leaves
    there."""
    if os.path.lexists(RunFolder(run_dir).status):
        raise RunError(
            f"run {run_dir.name} already exists; resume it with --ckpt_path {run_dir.name} "
            "or pick another --run_name."
        )
    check_run_or_new(run_dir)


def check_run_or_new(run_dir: Path) -> None:
    """Refuse a folder that is neither a digitnet run (it has a ``status.json``) nor new (empty,
    or holding only what a dashboard launch leaves): it is someone's own folder, and nothing in
    it may be overwritten."""
    if untrusted.is_regular(RunFolder(run_dir).status) or not untrusted.is_real_dir(run_dir):
        return
    others = sorted(p.name for p in run_dir.iterdir() if p.name not in RUN_FILES)
    if others:
        raise RunError(
            f"{run_dir} is not a digitnet run (it holds {', '.join(others[:3])}); pick another "
            "run folder (--run_name), so nothing in it is overwritten."
        )
