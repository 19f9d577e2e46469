"""Provides the run folder's layout and its files: names, the event log, the status.

This is the contract between a training process and anything that watches it (the dashboard,
``digitnet runs``). Imports no torch. A run lives in ``checkpoints/<run-name>/``::

    config.yaml     the full LightningCLI config of the run (``digitnet fit --config`` takes it)
    hparams.yaml    the model's hyper-parameters
    metrics.csv     train_loss per logged step, val_loss/val_acc per epoch (appended on resume)
    events.jsonl    one JSON object per line, appended; the dashboard's only input (see below)
    status.json     the latest state: {"status": "running", "pid": 4242, "epoch": 3,
                    "best_val_acc": 0.97, "test_acc": 0.98, "train_seconds": 41.5,
                    "settings": {"model.lr": 0.05, ...}, ...} (settings: see flat_settings)
    notes.json      {"note": "the baseline", "tags": ["baseline"]}: the user's, never written by
                    a run (``digitnet runs note``, the dashboard's t)
    launcher.json   {"pid": 4242, "args": [...], "log_offset": 0} for a run the dashboard
                    started (log_offset: where this launch's part of output.log begins)
    last.ckpt       saved at every epoch end (and on cancel); resume from it
    best.ckpt       the checkpoint with the best val_acc
    output.log      stdout and stderr of a run the dashboard launched
    weights.npy     the first layer's weights at the latest checkpoint, float16 [n, h, w]: one
                    28x28 image per hidden neuron of an MLP (the first 64), one 5x5 image per
                    filter of the CNN's first convolution (NumPy's format, read without pickle)

Each line of ``events.jsonl`` has ``"event"``, ``"time"`` (Unix seconds) and ``"launch"`` (1 for
the first training process of the run, 2 for its first resume, ...) and, by event::

    start   {"config": {...}, "max_epochs": 10, "steps_per_epoch": 782, "batch_size": 64,
             "resumed": false, "epoch": 0, "step": 0}
             (a resume starts at the epoch and update count of its checkpoint)
    metrics {"step": 50, "epoch": 0, "train_loss": 0.31, "lr": 0.0499}   (every value the loggers
             get, the rows of metrics.csv: the cost of the mini-batch of every
             log_every_n_steps-th update and its learning rate; val_loss and val_acc at each
             epoch's end; null for a value that is not finite: see digitnet.record.eventlog)
    step    {"epoch": 0, "step": 50, "batch": 49, "samples_per_s": 10432.0}   (progress; runs
             recorded before the metrics lines also have "train_loss" here)
    val     {"epoch": 0, "step": 782, "val_loss": 0.11, "val_acc": 0.967,
             "confusion": [[...10 ints] x 10]}
    epoch   {"epoch": 0, "step": 782, "train_loss": 0.25, "val_loss": 0.11, "val_acc": 0.967,
             "seconds": 4.1}
    samples {"images": [[784 ints 0-255] x 24], "labels": [...], "predicted": [...],
             "classes": [...]}
    test    {"test_loss": 0.07, "test_acc": 0.981, "test_images": 10000.0}
    weights {"epoch": 3, "step": 2346}   (weights.npy was rewritten, at that checkpoint)
    system  {"t": 12.0, "step": 3120, "cpu_percent": 187.5, "rss_mb": 1210.4,
             "gpu_mem_mb": 812.0, "gpu_util": 43.0}   (at most once a second while training;
             the GPU fields on CUDA only: see digitnet.runs.system)
    end     {"status": "finished" | "cancelled" | "stopped" | "failed" | "diverged", "error": "...",
             "step": 4150}   (diverged: the update whose logged cost was not finite)

A status of ``running`` whose process no longer exists is reported as ``failed`` (killed).
Writing a file named ``cancel`` into the folder asks the run to stop after its current step.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from digitnet import settings, untrusted
from digitnet.atomic import atomic_file, atomic_write_text
from digitnet.errors import RunError
from digitnet.runs.files import (
    RUN_FILES,  # noqa: F401 - every file a run folder may hold
    RunFolder,
)

# stopped: a limit (--trainer.max_steps, --trainer.max_time) ended training inside an epoch; like a
# cancelled run it saved last.ckpt there, and a resume continues the partial epoch
# pruned: a sweep's pruner stopped it after an epoch as unlikely to beat the others
STATUSES = ("running", "finished", "cancelled", "stopped", "pruned", "failed", "diverged")


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# words --ckpt_path gives a meaning of its own (digitnet's newest run, Lightning's, YAML's null)
RESERVED = ("last", "best", "hpc", "registry", "null", "none")


def default_root() -> Path:
    return Path(os.environ.get("DIGITNET_CHECKPOINTS", "checkpoints"))


def check_name(name: str) -> str:
    """A new run's name, or :class:`RunError` in one sentence.

    >>> check_name("mnist-lr0.1")
    'mnist-lr0.1'
    >>> check_name("Last")
    Traceback (most recent call last):
    ...
    digitnet.errors.RunError: run name 'Last' is a word --ckpt_path reads another way ...
    """
    if not NAME_RE.fullmatch(name or ""):
        raise RunError(
            f"run name {name!r} may hold only letters, digits, '.', '_' and '-' (at most 100)."
        )
    if name.lower() in RESERVED:
        raise RunError(
            f"run name {name!r} is a word --ckpt_path reads another way "
            f"({', '.join(RESERVED)}); pick another name, such as {name}-1."
        )
    return name


def create_run_dir(root: Path, prefix: str) -> Path:
    """Make a new, empty run folder ``root/prefix-YYYYmmdd-HHMMSS[-N]``; safe when runs start at
    once."""
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


def check_run_files(run_dir: Path) -> None:
    """Refuse, before anything is read or written, a run folder where one of the files above is
    a link, a FIFO or a folder: a resume would stop half-way on it, leaving the run changed."""
    for name in RUN_FILES:
        path = Path(run_dir) / name
        if os.path.lexists(path) and not untrusted.is_regular(path):
            raise RunError(
                f"run {Path(run_dir).name} holds {name}, which is {untrusted.kind_of(path)}, "
                f"not a regular file; digitnet writes only regular files in a run folder, so "
                f"delete {path} and try again."
            )


def flat_settings(model: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A model's and a data module's saved settings as one flat mapping: what ``status.json``
    keeps under ``settings`` for the runs table, the settings with a column in the registry
    (:func:`digitnet.settings.columns`; speed-only settings, such as the engine, and paths are
    left out)::

        >>> flat_settings({"lr": 0.05, "layers": [784, 16, 10], "dataset": "mnist"},
        ...               {"batch_size": 64, "seed": 0, "data_dir": None})
        {'model.lr': 0.05, 'model.layers': '784-16-10', 'data.batch_size': 64, 'data.seed': 0}
    """
    flat, shown = {}, settings.columns()
    for section, values in (("model", model), ("data", data)):
        for name, value in values.items():
            key = f"{section}.{name}"
            if key not in shown:
                continue
            if name == "layers" and isinstance(value, (list, tuple)):
                value = "-".join(str(v) for v in value)
            flat[key] = value
    return flat


def append_event(run_dir: Path, event: str, **fields: Any) -> None:
    """Append one event line; a single ``write`` of a whole line, so readers never see half a
    line."""
    line = json.dumps({"event": event, "time": time.time(), **fields}, separators=(",", ":")) + "\n"
    with untrusted.open_append(RunFolder(run_dir).events) as handle:
        handle.write(line.encode("utf-8"))


def write_weights(run_dir: Path, images: Any) -> None:
    """Replace ``weights.npy`` with ``images`` (an array ``[n, h, w]``), stored as float16."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(images, dtype=np.float16), allow_pickle=False)
    with atomic_file(RunFolder(run_dir).weights, durable=False) as handle:
        handle.write(buffer.getvalue())


def read_weights(run_dir: Path, limit: int = 256) -> Any:
    """``weights.npy`` as a float32 array ``[n, h, w]``, or None where it is missing, unreadable
    or not such an array (the folder is untrusted: it is read without pickle, its header's shape
    is checked against ``limit`` images of at most 64x64 and against the file's size before any
    array is made, and its values are checked)."""
    import io

    import numpy as np

    most = 128 + limit * 64 * 64 * 8  # the header and the largest array of float64
    try:
        buffer = io.BytesIO(untrusted.read_bytes(RunFolder(run_dir).weights, most))
        version = np.lib.format.read_magic(buffer)
        if version not in ((1, 0), (2, 0)):
            return None
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(buffer)
        if (
            len(shape) != 3
            or not 0 < shape[0] <= limit
            or not all(0 < side <= 64 for side in shape[1:])
            or dtype.kind != "f"
            or dtype.hasobject
            or buffer.getbuffer().nbytes - buffer.tell() != int(np.prod(shape)) * dtype.itemsize
        ):
            return None
        buffer.seek(0)
        array = np.load(buffer, allow_pickle=False)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    array = array.astype(np.float32)
    return array if np.isfinite(array).all() else None


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``status.json`` (written to a temporary file and renamed)."""
    status = read_json(RunFolder(run_dir).status)
    status.update(fields, updated=time.time())
    atomic_write_text(RunFolder(run_dir).status, json.dumps(status, indent=1), durable=False)
    return status


def read_notes(run_dir: Path) -> tuple[str, list[str]]:
    """A run's note and tags from its ``notes.json`` (``("", [])`` where there is none): a note
    of at most 500 characters, at most 20 tags of letters, digits, ``.``, ``_`` and ``-``."""
    notes = read_json(RunFolder(Path(run_dir)).notes)
    note = notes.get("note") if isinstance(notes.get("note"), str) else ""
    tags = notes.get("tags") if isinstance(notes.get("tags"), list) else []
    return note[:500], [t for t in tags if isinstance(t, str) and TAG_RE.fullmatch(t)][:20]


def split_note(text: str) -> tuple[str, list[str]]:
    """``'the baseline #baseline #relu'`` -> the note as written and its tags.

    >>> split_note("the baseline #baseline #relu")
    ('the baseline #baseline #relu', ['baseline', 'relu'])
    """
    return text.strip(), [word[1:] for word in text.split() if word.startswith("#") and word[1:]]


def check_notes(note: str, tags: list[str]) -> None:
    """Refuse a tag that is not a word or a note past 500 characters, in one sentence."""
    bad = [tag for tag in tags if not TAG_RE.fullmatch(tag)]
    if bad:
        raise RunError(
            f"tag {bad[0]!r} may hold only letters, digits, '.', '_' and '-' (at most 30)."
        )
    if len(note) > 500:
        raise RunError(f"a note holds at most 500 characters, this one {len(note)}; shorten it.")


def write_notes(run_dir: Path, note: str, tags: list[str]) -> None:
    """Replace a run's ``notes.json`` (a file no run writes, so notes never race training)."""
    check_notes(note, tags)
    unique = list(dict.fromkeys(tags))[:20]
    path = RunFolder(Path(run_dir)).notes
    try:
        atomic_write_text(path, json.dumps({"note": note, "tags": unique}, indent=1))
    except OSError as error:  # a folder planted as notes.json, a read-only disk
        raise RunError(
            f"cannot write {path} ({error.strerror or error}); the note was not kept."
        ) from None


TAG_RE = re.compile(r"^[A-Za-z0-9._-]{1,30}$")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object of at most 1 MiB from a regular file of a run folder, else ``{}`` (missing,
    unreadable, a link, a FIFO, too large, not an object, or nested past 100,000 values)."""
    try:
        value = json.loads(untrusted.read_bytes(Path(path)))
        untrusted.check_expansion(value, str(path))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError, RecursionError):
        return {}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and v == v
        and abs(v) != float("inf")
    )


def _is_int_list(v: Any) -> bool:
    """A list of ints (not bools): checked by the set of its element types, which reads the
    ``samples`` event's 18,816 pixels several times faster than a test per element."""
    return isinstance(v, list) and set(map(type, v)) <= {int}


FIELDS = {  # the type of every field the readers use; a field of another type is dropped
    "epoch": _is_int,
    "step": _is_int,
    "batch": _is_int,
    "max_epochs": _is_int,
    "steps_per_epoch": _is_int,
    "batch_size": _is_int,
    "pid": _is_int,
    "launch": _is_int,
    "resumed": lambda v: isinstance(v, bool),
    "train_loss": _is_number,
    "lr": _is_number,
    "val_loss": _is_number,
    "val_acc": _is_number,
    "test_loss": _is_number,
    "test_acc": _is_number,
    "test_images": _is_number,
    "samples_per_s": _is_number,
    "t": _is_number,
    "cpu_percent": _is_number,
    "rss_mb": _is_number,
    "gpu_mem_mb": _is_number,
    "gpu_util": _is_number,
    "seconds": _is_number,
    "time": _is_number,
    "status": lambda v: v in STATUSES,
    "error": lambda v: isinstance(v, str),
    "config": lambda v: isinstance(v, dict) and all(isinstance(s, dict) for s in v.values()),
    "confusion": lambda v: (
        isinstance(v, list) and len(v) == 10 and all(_is_int_list(r) and len(r) == 10 for r in v)
    ),
    "images": lambda v: isinstance(v, list) and all(_is_int_list(i) and len(i) == 784 for i in v),
    "labels": _is_int_list,
    "predicted": _is_int_list,
    "classes": lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
}


def clean_event(event: Any) -> dict[str, Any] | None:
    """One line of ``events.jsonl`` with only well-typed fields, or None if it is not an event.

    The folder is untrusted: a line may be hand-written or crafted, so readers see only values of
    the documented types (``{"event": "step", "step": "x"}`` loses its ``step``).

    >>> clean_event({"event": "step", "step": 5, "train_loss": "boom", "extra": 1})
    {'event': 'step', 'step': 5}

    A ``metrics`` line keeps what a user's own code logged under ``extra``:

    >>> clean_event({"event": "metrics", "step": 50, "grad_norm": 1.5, "x\x1b": 2.0, "y": "no"})
    {'event': 'metrics', 'step': 50, 'extra': {'grad_norm': 1.5}}
    """
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    clean = {
        "event": event["event"],
        **{k: v for k, v in event.items() if k in FIELDS and FIELDS[k](v)},
    }
    if event["event"] == "metrics":  # what a user's own module or callback logged, drawn too
        extra = {k: v for k, v in event.items() if k not in FIELDS and k not in KNOWN_KEYS}
        extra = {k: v for k, v in extra.items() if METRIC_NAME.fullmatch(str(k)) and _is_number(v)}
        if extra:
            clean["extra"] = dict(list(extra.items())[:MOST_EXTRA])
    return clean


METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,63}")  # as self.log names them
MOST_EXTRA = 16  # metrics of a line beyond digitnet's own
KNOWN_KEYS = {"event", "time", "launch", "test_images", "extra"}


class EventReader:
    """Reads the new complete lines of an ``events.jsonl`` since the last call (tails a live
    run), at most ``MOST_BYTES`` a call, so a huge file is read over several calls; a line
    longer than that is skipped whole."""

    MOST_BYTES = 16 * 1024 * 1024

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.skipping = Path(path), 0, False

    def read(self) -> list[dict[str, Any]]:
        try:
            with untrusted.open_read(self.path) as handle:
                handle.seek(self.offset)
                chunk = handle.read(self.MOST_BYTES)
        except OSError:
            return []
        if self.skipping:  # the rest of a line longer than a whole read
            newline = chunk.find(b"\n")
            if newline < 0:
                self.offset += len(chunk)
                return []
            chunk, self.skipping = chunk[newline + 1 :], False
            self.offset += newline + 1
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
        if end == 0 and len(chunk) == self.MOST_BYTES:
            self.offset, self.skipping = self.offset + len(chunk), True
            return []
        self.offset += end
        events = []
        for line in chunk[:end].splitlines():
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue
            event = clean_event(event)
            if event is not None:
                events.append(event)
        return events


def count_launches(run_dir: Path) -> int:
    """How many times training started in this run folder (its ``start`` events)."""
    return sum(1 for event in iter_events(run_dir) if event["event"] == "start")


def iter_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    reader = EventReader(RunFolder(run_dir).events)
    while True:
        before = reader.offset
        yield from reader.read()
        if reader.offset == before:
            return
