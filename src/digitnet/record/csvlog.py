"""Provides :class:`RunCSVLogger`: a run's ``metrics.csv`` and ``hparams.yaml``, kept across
resumes.

Lightning's own ``CSVLogger`` starts ``metrics.csv`` afresh when it opens a folder that has one; a
digitnet run is resumed in place, so this logger appends instead, and :meth:`drop_after` removes
the rows a killed or cancelled launch wrote past the checkpoint the run resumes from, so the
file reads as one uninterrupted run. The format is Lightning's: a header of the sorted metric
names, one row per logged step, empty cells for metrics not logged at that step::

    epoch,step,train_loss,val_acc,val_loss
    0,50,0.4123,,
    0,782,,0.9671,0.1102

A row is written whole with one ``write``; when a new metric name appears the file is rewritten
(to a temporary file, then renamed) with the wider header.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from lightning.pytorch.core.saving import save_hparams_to_yaml
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from digitnet import untrusted
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.runs.files import RunFolder


class RunFolderLogger(Logger):
    """A Lightning logger of one run folder: named after it, with no versions (a digitnet run is
    resumed in place, never beside itself)."""

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def version(self) -> str:
        return ""


class RunCSVLogger(RunFolderLogger):
    """Write ``<run_dir>/metrics.csv`` and ``<run_dir>/hparams.yaml`` (rank 0 only)."""

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__(run_dir)
        self.path = RunFolder(self.run_dir).metrics
        self.keys: list[str] = []
        self.dropped_lines = 0  # lines of the last read too long to be a row (see _lines)

    @property
    def save_dir(self) -> str:
        return str(self.run_dir)  # Trainer.log_dir, where LightningCLI saves config.yaml

    @property
    def root_dir(self) -> str:
        return str(self.run_dir)

    @property
    def log_dir(self) -> str:
        return str(self.run_dir)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        params = params if isinstance(params, dict) else vars(params)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as private:  # Lightning's format, then our atomic write
            save_hparams_to_yaml(RunFolder(Path(private)).hparams, params)
            text = RunFolder(Path(private)).hparams.read_text(encoding="utf-8")
        try:
            atomic_write_text(RunFolder(self.run_dir).hparams, text)
        except OSError as error:
            raise write_failed(self.run_dir, error) from None

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if not metrics:  # Lightning's row of a logged "step" alone: it carries nothing
            return
        row = {k: _cell(k, v) for k, v in metrics.items()}
        if step is not None:
            row["step"] = str(int(step))
        header = self._header()
        if not set(row) <= set(header):
            self._rewrite(sorted(set(header) | set(row)), [*self._read_rows(), row])
            return
        buffer = io.StringIO()
        csv.DictWriter(buffer, fieldnames=header, lineterminator="\n").writerow(row)
        try:
            with untrusted.open_append(self.path) as handle:
                handle.write(buffer.getvalue().encode("utf-8"))
        except OSError as error:  # a full disk or a planted link: one sentence, not a traceback
            raise write_failed(self.run_dir, error) from None

    @rank_zero_only
    def drop_after(self, step: int, epoch: int) -> int:
        """Forget what a stopped launch logged past its checkpoint, taken at update ``step`` in (or
        at the end of) the epoch before ``epoch``: rows after ``step``, validation rows of ``epoch``
        or later (Lightning validates when a run is stopped early, which an uninterrupted run would
        not), and any row torn by a kill. Returns how many rows went."""
        if not untrusted.is_regular(self.path):
            return 0
        rows = self._read_rows()
        kept = [
            row
            for row in rows
            if _step(row) is not None
            and _step(row) <= step
            and not (_is_validation(row) and (_step(row, "epoch") or 0) >= epoch)
        ]
        if len(kept) != len(rows) or self.dropped_lines or _torn(self.path):
            self._rewrite(self._header(), kept)
        return len(rows) - len(kept)

    def _header(self) -> list[str]:
        if not self.keys and untrusted.is_regular(self.path):
            self.keys = next(csv.reader(self._lines()), [])
        return self.keys

    def _read_rows(self) -> list[dict[str, str]]:
        if not untrusted.is_regular(self.path):
            return []
        reader = csv.DictReader(self._lines())
        return [row for row in reader if None not in row and None not in row.values()]

    def _lines(self) -> io.StringIO:
        """The file's text (read whole: a run's metrics.csv is a few hundred KB at most), without
        lines longer than any row digitnet writes (a planted 10 MB line would make the csv module
        fail, and is dropped as a torn row is)."""
        try:
            data = untrusted.read_bytes(self.path, MOST_BYTES)
        except OSError as error:
            raise write_failed(self.run_dir, error) from None
        lines = data.decode("utf-8", "replace").splitlines(keepends=True)
        kept = [line for line in lines if len(line) <= MOST_LINE]
        self.dropped_lines = len(lines) - len(kept)
        return io.StringIO("".join(kept), newline="")

    def _rewrite(self, header: list[str], rows: list[dict[str, str]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write_text(self.path, buffer.getvalue())
        except OSError as error:
            raise write_failed(self.run_dir, error) from None
        self.keys = header


def _cell(key: str, value: Any) -> str:
    """A metric as Lightning's CSV shows it; ``epoch`` and ``step`` as whole numbers (``3``, not
    ``3.0``)."""
    value = value.item() if hasattr(value, "item") else value
    if key in ("epoch", "step") and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _step(row: dict[str, str], key: str = "step") -> int | None:
    try:
        return int(float(row.get(key) or "nan"))
    except ValueError:
        return None


def _is_validation(row: dict[str, str]) -> bool:
    return any(value for key, value in row.items() if key.startswith("val_"))


MOST_BYTES = 256 * 1024 * 1024  # a metrics.csv past this is not one digitnet wrote
MOST_LINE = 64 * 1024  # characters: a row of digitnet's is about a hundred


def _torn(path: Path) -> bool:
    """True if the file does not end with a newline: a row was cut off by a kill."""
    with untrusted.open_read(path) as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"
