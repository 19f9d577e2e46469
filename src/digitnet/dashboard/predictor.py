"""Provides :class:`Predictor`: the helper process that classifies the Draw tab's drawings.

The dashboard never imports torch: the helper is ``digitnet predict --serve --ckpt_path
RUN/last.ckpt`` (:func:`digitnet.model.predict.serve`), a process of its own that loads the run's
checkpoint with ``weights_only=True`` and answers one JSON line per drawing. It is started when
the Draw tab needs it and stopped when the tab is left or the dashboard quits. Its calls block, so
the dashboard makes them from a worker thread; a lock keeps one request and its answer together.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from digitnet.runs.process import digitnet_command, digitnet_env


class HelperDied(Exception):
    """The helper ended or never answered; the message says how, in one line."""


class Predictor:
    """One helper process for the checkpoint ``checkpoint``, started by :meth:`start`."""

    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = Path(checkpoint)
        self.process: subprocess.Popen | None = None
        self.classes: list[str] = []
        self.lock = threading.Lock()
        self.errors = tempfile.TemporaryFile()  # its stderr: a pipe nobody reads could fill up
        self.asked = 0

    def start(self) -> None:
        """Start the helper and wait until it has loaded the checkpoint."""
        with self.lock:
            self.process = subprocess.Popen(
                digitnet_command(["predict", "--serve", "--ckpt_path", str(self.checkpoint)]),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errors,
                env=digitnet_env(),
                text=True,
                bufsize=1,
            )
            ready = self._read()
            self.classes = [str(c) for c in ready.get("classes", [])][:10]

    def ask(self, pixels: list[int]) -> dict[str, Any]:
        """The helper's answer for one drawing (784 pixels 0..255, white ink on black)."""
        with self.lock:
            if self.process is None:
                raise HelperDied("the prediction helper is not running")
            self.asked += 1
            try:
                self.process.stdin.write(json.dumps({"id": self.asked, "pixels": pixels}) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError):
                raise HelperDied(self._death()) from None
            return self._read()

    def _read(self) -> dict[str, Any]:
        line = self.process.stdout.readline()
        if not line:
            raise HelperDied(self._death())
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise HelperDied(f"the prediction helper said something unexpected: {line[:80]!r}")
        return answer

    def _death(self) -> str:
        """How the helper ended, in one line: its exit status and the last line it wrote."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self.errors.seek(0)
        lines = [line for line in self.errors.read().decode(errors="replace").splitlines() if line]
        last = lines[-1].strip()[:160] if lines else ""
        how = "it stopped" if code is None else f"exit status {code}"
        return f"the prediction helper ended ({how}{': ' + last if last else ''})"

    def stop(self, wait: bool = True) -> None:
        """End the helper: it exits when its input closes; ``wait``: wait up to 2 s for that and
        kill it if it does not (the dashboard quitting does not wait: it closes the input)."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        if not wait:
            self.errors.close()
            return
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.errors.close()
