"""Provides :func:`rename_run` and :func:`delete_run`, for ``digitnet runs`` and the dashboard.

A run is renamed or deleted only when it is a digitnet run (it has a ``status.json`` or a
``launcher.json``) and no process trains in it: the run's lock (:mod:`digitnet.runs.lock`) is
taken for the change, so a run that starts meanwhile waits, and one that is training refuses the
change in one sentence naming its process::

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "old").mkdir(); _ = RunFolder(root / "old").status.write_text("{}")
    >>> rename_run(root, "old", "new").name
    'new'
    >>> delete_run(root, "new"); sorted(p.name for p in root.iterdir())
    []
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from digitnet import untrusted
from digitnet.errors import RunError
from digitnet.runs import lock
from digitnet.runs.files import RunFolder
from digitnet.runs.layout import NAME_RE, check_name
from digitnet.runs.listing import read_run


def run_folder_of(root: Path, name: str) -> Path:
    """The folder of run ``name`` under ``root``, or a :class:`RunError` saying what it is not."""
    path = Path(root) / name
    if not NAME_RE.fullmatch(name) or not os.path.lexists(path):
        raise RunError(f"there is no run {name} under {root}; 'digitnet runs' lists them.")
    lock.check_real_folder(path)
    if not untrusted.is_real_dir(path) or not (
        untrusted.is_regular(RunFolder(path).status)
        or untrusted.is_regular(RunFolder(path).launcher)
    ):
        raise RunError(f"{path} is not a digitnet run; digitnet leaves it alone.")
    return path


def _claim_idle(path: Path) -> None:
    """Take the run's lock, refusing a run that trains (or was launched and is starting)."""
    lock.claim(path)  # raises, naming the process, when one trains in it
    if read_run(path).status == "running":  # launched, its process alive, not yet training
        lock.release(path)
        raise RunError(f"run {path.name} is starting; wait for it, or cancel it, then try again.")


def rename_run(root: Path, old: str, new: str) -> Path:
    """Rename run ``old`` to ``new`` (a fresh name); return its new folder."""
    path = run_folder_of(root, old)
    target = Path(root) / check_name(new)
    if target.exists():
        raise RunError(f"{target} already exists; pick another name.")
    _claim_idle(path)
    try:
        path.rename(target)
    except OSError as error:
        raise RunError(
            f"cannot rename {path} ({error.strerror or error}); check that you may write "
            f"{Path(root)}."
        ) from None
    finally:
        lock.release(path)
    return target


def delete_run(root: Path, name: str) -> None:
    """Delete run ``name``: its folder, checkpoints and logs."""
    path = run_folder_of(root, name)
    _claim_idle(path)
    try:
        shutil.rmtree(path)
    except OSError as error:
        raise RunError(
            f"cannot delete all of {path} ({error.strerror or error}); what is left of it is "
            "still there, check that you may write it."
        ) from None
    finally:
        lock.release(path)


def folder_size(path: Path) -> tuple[int, int]:
    """How many files the folder holds and their bytes, for a confirmation question."""
    files = [p for p in Path(path).rglob("*") if untrusted.is_regular(p)]
    return len(files), sum(p.lstat().st_size for p in files)
