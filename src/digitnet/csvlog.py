"""Provides :class:`AppendingCSVLogger`: Lightning's CSVLogger, but a resumed run appends to its metrics.csv.

Lightning's own ``CSVLogger`` deletes an existing ``metrics.csv`` when it opens a non-empty folder;
a resumed digitnet run keeps its history instead, so ``metrics.csv`` reads as one continuous run.
"""

from __future__ import annotations

import csv
import os

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as handle:
                self.metrics_keys = sorted(next(csv.reader(handle), []))


class AppendingCSVLogger(CSVLogger):
    """A CSVLogger writing ``<save_dir>/<name>/metrics.csv`` that appends on resume (``version=""``)."""

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment
