"""The dashboard's cost to the training it watches, measured inside one run (A/B by windows).

Machine noise on a small shared box moves whole epochs by 30% (see docs/benchmarks.md), far more
than the 3% to be measured, so comparing one run against another cannot resolve it. Here one
training run is launched the dashboard's way (:func:`digitnet.runs.process.launch`) and watched by a
real ``digitnet dashboard`` process in a pseudo-terminal (so it also writes its screen updates);
every ``window`` seconds the dashboard is frozen (SIGSTOP) or let run (SIGCONT). A frozen dashboard
costs nothing, so frozen windows are the headless baseline, side by side with the watched ones.

Throughput per window comes from the run's ``step`` events: updates per second of training,
counting only the time between two step events of the same epoch (validation and checkpoint
writing are left out, as they fall in windows at random).
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import psutil

from digitnet.runs.layout import iter_events
from digitnet.runs.process import launch
from digitnet.runs.spec import LaunchSpec


class Terminal:
    """A command on a pseudo-terminal of the given size: its output is read (and dropped) as a
    terminal would, with the time of each read kept, and keys can be typed into it."""

    def __init__(self, command: list[str], columns: int = 100, rows: int = 30) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.reads: list[tuple[float, int]] = []  # (time, bytes) of each read
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.reads.append((time.perf_counter(), len(chunk)))

    def key_ms(self, key: str, timeout: float = 5.0) -> float | None:
        """Type ``key``; milliseconds until the program's first screen update after it."""
        begin = time.perf_counter()
        os.write(self.master, key.encode())
        while time.perf_counter() - begin < timeout:
            answered = [t for t, _ in self.reads[-20:] if t > begin]
            if answered:
                return 1000 * (answered[0] - begin)
            time.sleep(0.0005)
        return None

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the program so far."""
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def close(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(10)
        self.reader.join(5)
        os.close(self.master)


def window_rates(
    events: list[dict], windows: list[tuple[float, float, bool]]
) -> list[tuple[bool, float]]:
    """Training updates per second in each window, from consecutive step events of one epoch.

    >>> steps = [{"event": "step", "time": t, "step": 100 * t, "epoch": 0} for t in range(5)]
    >>> window_rates(steps, [(0.5, 2.5, True)])
    [(True, 100.0)]
    """
    steps = [e for e in events if e.get("event") == "step"]
    spans = [
        (a["time"], b["time"], b["step"] - a["step"])
        for a, b in zip(steps, steps[1:])
        if a.get("epoch") == b.get("epoch") and b["time"] > a["time"]
    ]
    rates = []
    for start, end, watched in windows:
        seconds = updates = 0.0
        for t0, t1, n in spans:
            overlap = min(end, t1) - max(start, t0)
            if overlap > 0:
                seconds += overlap
                updates += n * overlap / (t1 - t0)
        if seconds > 0.5 * (end - start):
            rates.append((watched, updates / seconds))
    return rates


# `digitnet dashboard`, except that SIGCONT is left to the kernel: Textual answers it (its Ctrl-Z
# support) by entering application mode again and repainting the whole screen, a cost that the
# freezing here would add to every watched window and that watching a run never has.
DASHBOARD = """
import signal, sys
from pathlib import Path
from digitnet.dashboard.app import DashboardApp

class Benched(DashboardApp):
    def on_mount(self):  # after Textual has set its own handlers up
        signal.signal(signal.SIGCONT, signal.SIG_DFL)

Benched(Path(sys.argv[1])).run()
"""


def run_ab(
    root: Path, epochs: int = 40, window: float = 2.0, control: bool = False, keys_every: int = 2
) -> dict:
    """One default MNIST run of ``epochs`` epochs, watched in alternate windows; see the module
    docstring.

    In every ``keys_every``-th watched window a person looks at the Epochs tab and back to Live
    (keys 2 and 1), each timed to the dashboard's answer on screen. ``control=True`` toggles a
    sleeping process instead of the dashboard: the method's own noise, with nothing to measure.
    """
    command = ["sleep", "3600"] if control else [sys.executable, "-c", DASHBOARD, str(root)]
    terminal = Terminal(command)
    time.sleep(3.0)  # first paint
    name, training = launch(LaunchSpec(epochs=str(epochs)), root)
    run_dir = root / name
    while training.poll() is None and not any(e["event"] == "step" for e in iter_events(run_dir)):
        time.sleep(0.1)
    windows, watched, key_ms = [], True, []
    cpu_before = terminal.cpu_seconds()
    try:
        while training.poll() is None:
            start = time.time()
            if watched and not control and len(windows) % (2 * keys_every) == 0:
                time.sleep(window / 4)
                for key in "21":
                    key_ms.append(terminal.key_ms(key))
                    time.sleep(window / 4)
            time.sleep(max(0.0, window - (time.time() - start)))
            windows.append((start, time.time(), watched))
            watched = not watched
            terminal.process.send_signal(signal.SIGCONT if watched else signal.SIGSTOP)
    finally:
        cpu = terminal.cpu_seconds() - cpu_before
        terminal.close()
    rates = window_rates(list(iter_events(run_dir)), windows)
    # each watched window against the mean of the frozen windows either side of it
    ratios = []
    for i, (is_watched, rate) in enumerate(rates):
        around = [r for w, r in rates[max(0, i - 1) : i + 2] if not w]
        if is_watched and around:
            ratios.append(rate / statistics.mean(around))
    on = [r for w, r in rates if w]
    off = [r for w, r in rates if not w]
    return {
        "run": name,
        "windows": len(rates),
        "watched_rates": on,
        "frozen_rates": off,
        "ratios": ratios,
        "pooled_ratio": statistics.mean(on) / statistics.mean(off),
        "cpu_seconds": cpu,
        "watched_seconds": sum(end - start for start, end, w in windows if w),
        "key_ms": key_ms,
    }
