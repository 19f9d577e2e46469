"""Provides the run folder: its layout, its event log, and how to list runs. Imports no torch.

This is the contract between a training process and anything that watches it (the dashboard,
``digitnet runs``). A run lives in ``checkpoints/<run-name>/``::

    config.yaml     the full LightningCLI config of the run (``digitnet fit --config`` takes it)
    hparams.yaml    the model's hyper-parameters (Lightning's CSVLogger)
    metrics.csv     train_loss per logged step, val_loss/val_acc per epoch (CSVLogger; appended on resume)
    events.jsonl    one JSON object per line, appended; the dashboard's only input (see below)
    status.json     the latest state: {"status": "running", "pid": 4242, "epoch": 3, ...}
    launcher.json   {"pid": 4242, "args": [...], "log_offset": 0} for a run the dashboard started
                    (log_offset: where this launch's part of output.log begins)
    last.ckpt       saved at every epoch end (and on cancel); resume from it
    best.ckpt       the checkpoint with the best val_acc
    output.log      stdout and stderr of a run the dashboard launched

Each line of ``events.jsonl`` has ``"event"``, ``"time"`` (Unix seconds) and ``"launch"`` (1 for the
first training process of the run, 2 for its first resume, ...) and, by event::

    start   {"config": {...}, "max_epochs": 10, "steps_per_epoch": 782, "batch_size": 64, "resumed": false,
             "epoch": 0, "step": 0}   (a resume starts at the epoch and update count of its checkpoint)
    step    {"epoch": 0, "step": 50, "batch": 49, "train_loss": 0.31, "samples_per_s": 10432.0}
    val     {"epoch": 0, "step": 782, "val_loss": 0.11, "val_acc": 0.967, "confusion": [[...10 ints] x 10]}
    epoch   {"epoch": 0, "step": 782, "train_loss": 0.25, "val_loss": 0.11, "val_acc": 0.967, "seconds": 4.1}
    samples {"images": [[784 ints 0-255] x 24], "labels": [...], "predicted": [...], "classes": [...]}
    test    {"test_loss": 0.07, "test_acc": 0.981}
    end     {"status": "finished" | "cancelled" | "failed" | "diverged", "error": "..."}

A status of ``running`` whose process no longer exists is reported as ``failed`` (killed).
Writing a file named ``cancel`` into the folder asks the run to stop after its current step.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from digitnet.atomic import atomic_write_text
from digitnet.errors import RunError

STATUSES = ("running", "finished", "cancelled", "failed", "diverged")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def default_root() -> Path:
    return Path(os.environ.get("DIGITNET_CHECKPOINTS", "checkpoints"))


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise RunError(f"run name {name!r} may hold only letters, digits, '.', '_' and '-' (at most 100).")
    return name


def create_run_dir(root: Path, prefix: str) -> Path:
    """Make a new, empty run folder ``root/prefix-YYYYmmdd-HHMMSS[-N]``; safe when runs start at once."""
    root.mkdir(parents=True, exist_ok=True)
    base = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()  # atomic: two processes never get the same folder
            return path
        except FileExistsError:
            continue
    raise RunError(f"could not make a new run folder under {root}.")


def append_event(run_dir: Path, event: str, **fields: Any) -> None:
    """Append one event line; a single ``write`` of a whole line, so readers never see half a line."""
    line = json.dumps({"event": event, "time": time.time(), **fields}, separators=(",", ":")) + "\n"
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as handle:
        handle.write(line)


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``status.json`` (written to a temporary file and renamed)."""
    status = read_json(run_dir / "status.json")
    status.update(fields, updated=time.time())
    atomic_write_text(run_dir / "status.json", json.dumps(status, indent=1), durable=False)
    return status


def read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


def _is_int_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_int(x) for x in v)


FIELDS = {  # the type of every field the readers use; a field of another type is dropped
    "epoch": _is_int, "step": _is_int, "batch": _is_int, "max_epochs": _is_int, "steps_per_epoch": _is_int,
    "batch_size": _is_int, "pid": _is_int, "launch": _is_int, "resumed": lambda v: isinstance(v, bool),
    "train_loss": _is_number, "val_loss": _is_number, "val_acc": _is_number, "test_loss": _is_number,
    "test_acc": _is_number, "samples_per_s": _is_number, "seconds": _is_number, "time": _is_number,
    "status": lambda v: v in STATUSES, "error": lambda v: isinstance(v, str),
    "config": lambda v: isinstance(v, dict) and all(isinstance(s, dict) for s in v.values()),
    "confusion": lambda v: isinstance(v, list) and len(v) == 10 and all(_is_int_list(r) and len(r) == 10 for r in v),
    "images": lambda v: isinstance(v, list) and all(_is_int_list(i) and len(i) == 784 for i in v),
    "labels": _is_int_list, "predicted": _is_int_list,
    "classes": lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
}


def clean_event(event: Any) -> dict[str, Any] | None:
    """One line of ``events.jsonl`` with only well-typed fields, or None if it is not an event.

    The folder is untrusted: a line may be hand-written or crafted, so readers see only values of
    the documented types (``{"event": "step", "step": "x"}`` loses its ``step``).

    >>> clean_event({"event": "step", "step": 5, "train_loss": "boom", "extra": 1})
    {'event': 'step', 'step': 5}
    """
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    return {"event": event["event"], **{k: v for k, v in event.items() if k in FIELDS and FIELDS[k](v)}}


class EventReader:
    """Reads the new complete lines of an ``events.jsonl`` since the last call (tails a live run)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = Path(path), 0

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
        self.offset += end
        events = []
        for line in chunk[:end].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event = clean_event(event)
            if event is not None:
                events.append(event)
        return events


def process_alive(pid: Any, host: Any = None) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if host and host != socket.gethostname():
        return True  # cannot tell for another machine; trust its status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped by its parent) is dead too
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


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
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    log_offset: int = 0  # where the latest launch's part of output.log begins

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / "last.ckpt").is_file()


def read_run(path: Path) -> RunInfo:
    status = read_json(path / "status.json")
    launcher = read_json(path / "launcher.json")
    since = _number(launcher.get("log_offset"), int) or 0  # a resumed run's error is in its own launch's output only
    if not status:  # launched, but training has not started (or died before it could)
        status = {"status": "running", "pid": launcher.get("pid"), "updated": launcher.get("time", 0)}
    if (_number(launcher.get("time"), float) or 0) > (_number(status.get("updated"), float) or 0):  # relaunched (resume) since the last status
        alive = process_alive(launcher.get("pid"))
        status = {**status, "status": "running" if alive else "failed", "pid": launcher.get("pid"),
                  "error": "" if alive else last_error_line(path, since) or "the resumed process ended before training began"}
    state = _text(status.get("status"), "failed")
    error = _text(status.get("error"))
    if state == "running" and not process_alive(status.get("pid"), status.get("host")):
        state = "failed"
        error = error or last_error_line(path, since) or "the training process ended without a word (killed?)"
    return RunInfo(
        name=path.name, path=path, status=state if state in STATUSES else "failed",
        dataset=_text(status.get("dataset"), "?"), summary=_text(status.get("summary")),
        epoch=_number(status.get("epoch"), int) or 0, max_epochs=_number(status.get("max_epochs"), int),
        best_val_acc=_number(status.get("best_val_acc"), float), updated=_number(status.get("updated"), float) or 0.0,
        error=error, raw=status, log_offset=_number(since, int) or 0,
    )


def _text(value: Any, default: str = "") -> str:
    """A string field of a run folder's JSON, whatever was written there (the folder is untrusted)."""
    return value if isinstance(value, str) else default


def _number(value: Any, kind: type) -> Any:
    """An int or float field of a run folder's JSON, or None when it is missing or of another type."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    try:
        return kind(value)
    except (OverflowError, ValueError):
        return None


def output_tail(run_dir: Path, lines: int = 20, since: int = 0) -> list[str]:
    """The last ``lines`` lines of a run's ``output.log`` (what a dashboard-launched process printed),
    from byte ``since`` on at most."""
    try:
        with open(Path(run_dir) / "output.log", "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(since, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def last_error_line(run_dir: Path, since: int = 0) -> str:
    """The ``digitnet: error: ...`` sentence or the last line of a traceback in ``output.log`` after
    byte ``since``, else ``""``."""
    tail = [line for line in output_tail(run_dir, 50, since) if line.strip()]
    for line in reversed(tail):
        if line.startswith("digitnet: error:") or re.match(r"^[A-Za-z_.]+(Error|Exception)\b", line):
            return line
    return ""


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under ``root`` (with a status.json or launcher.json), newest first."""
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        return []
    runs = [read_run(p) for p in root.iterdir()
            if (p / "status.json").is_file() or (p / "launcher.json").is_file()]
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def count_launches(run_dir: Path) -> int:
    """How many times training started in this run folder (its ``start`` events)."""
    return sum(1 for event in iter_events(run_dir) if event["event"] == "start")


def iter_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    yield from EventReader(run_dir / "events.jsonl").read()


def resolve_checkpoint(spec: str, root: Path | None = None) -> tuple[Path, Path | None]:
    """Turn ``last``, a run name, or a file into (checkpoint file, its run folder or None).

    ``last`` is the ``last.ckpt`` of the newest run that has one; ``mnist-mlp-20261125-101500``
    is that run's ``last.ckpt``; anything else is a file path.
    """
    root = Path(root) if root is not None else default_root()
    if spec == "last":
        for run in list_runs(root):
            if run.has_checkpoint:
                return run.path / "last.ckpt", run.path
        raise RunError(f"there is no run with a last.ckpt under {root}; start one with 'digitnet fit'.")
    if NAME_RE.match(spec) and (root / spec).is_dir():
        if not (root / spec / "last.ckpt").is_file():
            raise RunError(f"run {spec} has no last.ckpt yet; it cannot be resumed.")
        return root / spec / "last.ckpt", root / spec
    path = Path(spec)
    if not path.is_file():
        raise RunError(f"--ckpt_path {spec!r} is neither 'last', a run under {root}, nor an existing file.")
    run_dir = path.parent if (path.parent / "status.json").is_file() else None
    return path, run_dir


def printable(text: Any) -> str:
    r"""``text`` with every control character written as an escape, safe to print to a terminal.

    Names, errors and settings come from run folders, which anyone can write: printed raw, ``ESC [2J``
    would clear the screen and an OSC sequence retitle the terminal.

    >>> printable("run\x1b[2J\n")
    'run\\x1b[2J\\n'
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


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
