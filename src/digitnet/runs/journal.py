"""Provides :func:`open_journal`: a sweep's journal file (``<study>.optuna.log`` in the
checkpoints folder, Optuna's ``JournalFileBackend``), opened as every run file is opened.

The checkpoints folder is shared, so the journal and its lock are untrusted like any file in it:

- the journal must be a regular file (no link, no FIFO, no folder) of at most :data:`MOST` bytes;
- every line is one JSON record; a last line torn by a full disk or a kill is set aside in a side
  file (``<study>.optuna.log.torn-<time>``) and the sweep goes on from the complete records, with
  one sentence; a bad line before the end means the file is no journal, and it is refused;
- the lock (``<journal>.lock``, the link Optuna's own lock makes, so several sweeps still share
  one journal) is waited for at most :data:`LOCK_WAIT` seconds, then refused in one sentence
  (Optuna's own loop spins at full CPU forever on a planted dangling link).

Each refusal is a :class:`~digitnet.errors.BadSetting` naming the file and what to do.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from digitnet import untrusted
from digitnet.atomic import atomic_file
from digitnet.errors import BadSetting

MOST = 256 * 2**20  # bytes: about a million trial records
LOCK_WAIT = 30.0  # seconds: Optuna holds the lock for one append or read at a time


def lock_class() -> type:
    """A subclass of Optuna's link lock whose wait is bounded (made when Optuna is imported)."""
    from optuna.storages.journal import JournalFileSymlinkLock

    class BoundedLock(JournalFileSymlinkLock):
        """Optuna's lock protocol (a link ``<journal>.lock`` made with ``os.symlink``), waited for
        at most ``wait`` seconds."""

        def __init__(self, journal: str, wait: float = LOCK_WAIT) -> None:
            super().__init__(journal, grace_period=None)
            self.journal, self.lock_path, self.wait = journal, journal + ".lock", wait

        def acquire(self) -> bool:
            deadline, pause = time.monotonic() + self.wait, 0.001
            while True:
                try:
                    os.symlink(self.journal, self.lock_path)
                    return True
                except FileExistsError:
                    if time.monotonic() > deadline:
                        raise BadSetting(
                            f"the sweep's journal lock {self.lock_path} has been held for "
                            f"{self.wait:.0f} s: another sweep is writing, or one that was killed "
                            "left it behind; if no sweep of this study runs, delete it."
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.1)

        def release(self) -> None:
            try:
                os.unlink(self.lock_path)
            except FileNotFoundError:
                pass

    return BoundedLock


def check_file(path: Path) -> None:
    """Refuse a journal that is a link, not a regular file, or too large, in one sentence."""
    kind = untrusted.kind_of(path)
    if kind == "missing":
        return
    if kind != "a regular file":
        raise BadSetting(
            f"the sweep's journal {path} is {kind}, not a regular file; move it away, or give "
            "--storage journal:PATH."
        )
    size = path.lstat().st_size
    if size > MOST:
        raise BadSetting(
            f"the sweep's journal {path} holds {size / 2**20:,.0f} MiB, more than a journal of "
            f"{MOST // 2**20} MiB; move it away, or give --storage journal:PATH."
        )


def set_torn_tail_aside(path: Path) -> str | None:
    """Keep the journal's complete records; a torn last record goes to a side file. Returns the
    sentence that says so, or None where the journal is whole.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.optuna.log").write_bytes(b'{"op_code": 0}\\n{"op_co')
    >>> "a torn record (7 bytes" in set_torn_tail_aside(folder / "s.optuna.log")
    True
    >>> (folder / "s.optuna.log").read_bytes()
    b'{"op_code": 0}\\n'
    """
    if untrusted.kind_of(path) == "missing":
        return None
    data = untrusted.read_bytes(path, MOST)
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: b"" when the file ends whole
    for number, line in enumerate(lines, start=1):
        if not _record(line):
            if number < len(lines) or tail:
                raise BadSetting(
                    f"{path} is not an Optuna journal (line {number} is not a JSON record); "
                    "move it away, or give --study another name."
                )
            tail, lines = line + b"\n", lines[:-1]  # a whole last line that is torn inside
    if not tail:
        return None
    side = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%d-%H%M%S')}")
    with atomic_file(side) as handle:
        handle.write(tail)
    with atomic_file(path) as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
    return (
        f"digitnet: note: the journal {path} ended in a torn record ({len(tail)} bytes, from a "
        f"full disk or a kill): kept in {side.name}, and the sweep goes on from the complete "
        "records."
    )


def _record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def open_journal(path: Path, wait: float = LOCK_WAIT) -> tuple[Any, str | None]:
    """An Optuna ``JournalStorage`` over ``path`` with the lock waited for at most ``wait``
    seconds, and the note of a torn tail set aside (or None)."""
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = Path(path)
    check_file(path)
    lock = lock_class()(str(path), wait)
    lock.acquire()
    try:
        check_file(path)  # again, under the lock
        note = set_torn_tail_aside(path)
    except (untrusted.NotRegularFile, untrusted.TooLarge) as error:
        raise BadSetting(f"the sweep's journal {path} cannot be read ({error}).") from None
    finally:
        lock.release()
    return JournalStorage(JournalFileBackend(str(path), lock_obj=lock)), note
