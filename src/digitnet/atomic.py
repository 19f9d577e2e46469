"""Provides :func:`atomic_file`, the one way digitnet writes a file that must never be torn.

The bytes go to a temporary file beside the target (``.NAME.<random>.tmp``), which is flushed,
fsynced and renamed over the target; a process killed at any moment, or a full disk, leaves the
previous file whole, and the temporary file is removed on any error::

    with atomic_file(Path("checkpoints/run/status.json")) as handle:
        handle.write(b'{"status": "running"}')

Checkpoints, ``status.json``, ``launcher.json``, ``metrics.csv`` rewrites and fetched data files
all go through it. Imports nothing heavy.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from digitnet.errors import RunError
from digitnet.untrusted import NotRegularFile

TMP_SUFFIX = ".tmp"


@contextmanager
def atomic_file(path: Path, durable: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file for writing bytes; on a clean exit it replaces ``path``.

    ``durable=False`` skips the fsyncs: the file is still never torn, but a power cut may lose
    the newest version (right for ``status.json``, rewritten every epoch and rebuilt from events).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the file from other users
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if not durable:
        return
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    with atomic_file(path, durable) as handle:
        handle.write(text.encode("utf-8"))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the ``.*.tmp`` files a killed write left in ``folder``; return what was removed."""
    removed = []
    for tmp in Path(folder).glob(f".*{TMP_SUFFIX}"):
        try:
            tmp.unlink()  # a link goes, never what it points to; a folder stays
        except OSError:
            continue
        removed.append(tmp)
    return removed


def write_failed(run_dir: Path, error: OSError) -> RunError:
    """The one sentence for a write into a run folder that failed: a planted link, FIFO or folder
    in the way, or a full or failing disk.

    >>> print(write_failed(Path("checkpoints/r1"), OSError(28, "No space left on device")))
    could not write to run folder checkpoints/r1 (No space left on device); the previous \
checkpoint is intact. Free some disk space and resume with --ckpt_path r1.
    """
    run = Path(run_dir).name
    if isinstance(error, NotRegularFile):
        return RunError(
            f"run {run} holds {error.path.name}, which is {error.kind}, not a regular file; "
            f"digitnet writes only regular files in a run folder, so delete {error.path} and "
            f"resume with --ckpt_path {run}."
        )
    return RunError(
        f"could not write to run folder {run_dir} ({error.strerror or error}); the previous "
        f"checkpoint is intact. Free some disk space and resume with --ckpt_path {run}."
    )
