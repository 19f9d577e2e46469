"""Provides what ``digitnet runs`` and the dashboard show of run folders: :func:`list_runs`,
:func:`read_run`.

A folder's ``status.json`` says what its process last wrote; the reader reconciles it with the
process table, so a ``running`` run whose process is gone shows as ``failed`` with the last error
line of its ``output.log``::

    >>> format_age(59), format_age(3600 * 5)
    ('<1m', '5h')

Every field is read as untrusted input: a value of the wrong type is dropped, never shown raw.
Imports no torch.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitnet import settings, untrusted
from digitnet.errors import RunError
from digitnet.runs.files import NAMES, RunFolder
from digitnet.runs.layout import (
    STATUSES,
    default_root,
    flat_settings,
    read_json,
    read_notes,
)
from digitnet.runs.process import process_alive


@dataclass
class RunInfo:
    """What ``digitnet runs`` and the dashboard's run list show of one run."""

    name: str
    path: Path
    status: str
    dataset: str = "?"
    summary: str = ""
    epoch: int = 0
    max_epochs: int | None = None
    best_val_acc: float | None = None
    updated: float = 0.0
    started: float = 0.0  # when the run first started (its first launch): "newest first"
    error: str = ""
    log_offset: int = 0  # where the latest launch's part of output.log begins
    has_checkpoint: bool = False  # a last.ckpt to resume from (a regular file, when read)
    test_acc: float | None = None
    test_images: int | None = None  # what test_acc was measured on (fewer with a limit)
    seconds: float | None = None  # in training epochs, every launch together
    settings: dict[str, Any] = field(default_factory=dict)  # see layout.flat_settings
    note: str = ""
    tags: list[str] = field(default_factory=list)


def read_run(path: Path) -> RunInfo:
    status = read_json(RunFolder(path).status)
    launcher = read_json(RunFolder(path).launcher)
    # a resumed run's error is in its own launch's output only
    since = _number(launcher.get("log_offset"), int) or 0
    known = bool(status)  # the run wrote a status of its own at least once
    if not status:  # launched, but training has not started (or died before it could)
        status = {
            "status": "running",
            "pid": launcher.get("pid"),
            "updated": launcher.get("time", 0),
        }
    # relaunched (resume) since the last status
    if (_number(launcher.get("time"), float) or 0) > (_number(status.get("updated"), float) or 0):
        launched = _number(launcher.get("time"), float)
        if process_alive(launcher.get("pid"), None, launched):
            status = {
                **status,
                "status": "running",
                "pid": launcher.get("pid"),
                "host": None,
                "updated": launched,
                "error": "",
            }
        else:  # it ended before training began: refused, so the run is as it was
            why = last_error_line(path, since) or "its process ended before training began"
            status = {
                **status,
                "status": status.get("status") if known else "failed",
                "error": f"the last resume did not start: {why}" if known else why,
            }
    note, tags = read_notes(path)
    state = _text(status.get("status"), "failed")
    error = _text(status.get("error"))
    started = _number(status.get("updated"), float)
    if state == "running" and not process_alive(status.get("pid"), status.get("host"), started):
        state = "failed"
        error = (
            error
            or last_error_line(path, since)
            or "the training process ended without a word (killed?)"
        )
    return RunInfo(
        name=path.name,
        path=path,
        status=state if state in STATUSES else "failed",
        dataset=_text(status.get("dataset"), "?"),
        summary=_text(status.get("summary")),
        epoch=_within(_number(status.get("epoch"), int), 0, 10**9) or 0,
        max_epochs=_within(_number(status.get("max_epochs"), int), -1, 10**9),
        best_val_acc=_within(_number(status.get("best_val_acc"), float), 0.0, 1.0),
        updated=_number(status.get("updated"), float) or 0.0,
        started=_number(status.get("started"), float)
        or _number(status.get("updated"), float)
        or 0.0,
        error=error,
        log_offset=_number(since, int) or 0,
        has_checkpoint=untrusted.is_regular(RunFolder(path).last_ckpt),
        test_acc=_within(_number(status.get("test_acc"), float), 0.0, 1.0),
        test_images=_within(_number(status.get("test_images"), int), 0, 10**9),
        seconds=_within(_number(status.get("train_seconds"), float), 0.0, 1e9),
        settings=_settings(status.get("settings"), path),
        note=note,
        tags=tags,
    )


def _settings(saved: Any, path: Path) -> dict[str, Any]:
    """The run's settings from its status.json, or, for a run recorded before they were kept
    there, from the start event at the head of its events.jsonl; only known keys, scalar values."""
    if not isinstance(saved, dict):
        saved = {}
        try:
            with untrusted.open_read(RunFolder(path).events) as handle:
                first = json.loads(handle.readline(1 << 20) or b"{}")
            config = first.get("config") if isinstance(first, dict) else None
            if isinstance(config, dict):
                model, data = config.get("model"), config.get("data")
                if isinstance(model, dict) and isinstance(data, dict):
                    saved = flat_settings(model, data)
        except (OSError, ValueError, RecursionError):
            pass
    shown = settings.columns()
    return {
        key: value
        for key, value in saved.items()
        if key in shown and isinstance(value, (str, int, float, bool)) and value == value
    }


def _text(value: Any, default: str = "") -> str:
    """A string field of a run folder's JSON, whatever was written there (the folder is
    untrusted)."""
    return value if isinstance(value, str) else default


def _number(value: Any, kind: type) -> Any:
    """An int or float field of a run folder's JSON, or None when it is missing or of another
    type."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    try:
        return kind(value)
    except (OverflowError, ValueError):
        return None


def _within(value: Any, low: float, high: float) -> Any:
    """``value`` if it lies in [low, high], else None: an accuracy of 1e308 or -3, or epoch -5,
    in a status.json is unknown, never shown as ``inf%``."""
    return value if value is not None and low <= value <= high else None


def output_tail(
    run_dir: Path, lines: int = 20, since: int = 0, log: str = NAMES["output"]
) -> list[str]:
    """The last ``lines`` lines of a run's ``output.log`` (what a dashboard-launched process
    printed), from byte ``since`` on at most; ``log`` names another file in the folder."""
    try:
        with untrusted.open_read(Path(run_dir) / log) as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(since, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def last_error_line(run_dir: Path, since: int = 0, log: str = NAMES["output"]) -> str:
    """The ``digitnet: error: ...`` sentence or the last line of a traceback in ``output.log`` (or
    ``log``) after byte ``since``, else ``""``."""
    tail = [line for line in output_tail(run_dir, 50, since, log) if line.strip()]
    for line in reversed(tail):
        if line.startswith("digitnet: error:") or re.match(
            r"^[A-Za-z_.]+(Error|Exception)\b", line
        ):
            return line
    return ""


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under ``root`` (with a status.json or launcher.json), newest first.

    A folder this user cannot read is left out, as anything else that is not a run; a
    checkpoints folder that cannot be read at all is a :class:`RunError` in one sentence.
    """
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        return []
    try:
        folders = list(root.iterdir())
    except OSError as error:
        raise RunError(
            f"cannot read the checkpoints folder {root} ({error.strerror or error})."
        ) from None
    runs = [read_run(p) for p in folders if is_run(p)]
    return sorted(runs, key=lambda r: r.started, reverse=True)  # newest started first


def is_run(folder: Path) -> bool:
    """A real folder (not a link to one) holding a status.json or launcher.json file; one that
    cannot be read (another user's, a broken mount) is not listed."""
    return untrusted.is_real_dir(folder) and (
        untrusted.is_regular(RunFolder(folder).status)
        or untrusted.is_regular(RunFolder(folder).launcher)
    )


def format_age(seconds: float) -> str:
    """``<1m``, ``5m``, ``3h``, ``2d``: how long ago, in the largest whole unit.

    Nothing finer than a minute, so a list of runs changes at most once a minute while they sit
    (a dashboard redraw every second for a ticking ``42s`` would take CPU from training).
    """
    seconds = max(0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "<1m"


class LogTail:
    """The new complete lines of a run's ``output.log`` at each :meth:`read`, starting near its end.

    The first read starts ``TAIL_BYTES`` before the end (a 1 GB log costs the same as a small one)
    and drops the line it lands in the middle of; each later read returns what was appended, at
    most ``MOST_BYTES`` of it, so a flood of output never stalls the reader.

        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (RunFolder(folder).output).write_text("one\\ntwo\\n")
        >>> tail = LogTail(RunFolder(folder).output)
        >>> tail.read()
        ['one', 'two']
        >>> with open(RunFolder(folder).output, "a") as log:
        ...     _ = log.write("three\\nfour (still being written)")
        >>> tail.read()
        ['three']
    """

    TAIL_BYTES = 64 * 1024
    MOST_BYTES = 1024 * 1024

    def __init__(self, path: Path) -> None:
        self.path, self.offset = Path(path), None

    def read(self) -> list[str]:
        try:
            with untrusted.open_read(self.path) as handle:
                size = handle.seek(0, os.SEEK_END)
                first = self.offset is None
                if first or self.offset > size:  # new, or truncated since
                    self.offset = max(0, size - self.TAIL_BYTES)
                handle.seek(self.offset)
                chunk = handle.read(self.MOST_BYTES)
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        start = chunk.find(b"\n") + 1 if first and self.offset > 0 else 0  # a cut first line
        self.offset += end
        return chunk[start:end].decode("utf-8", "replace").splitlines()
