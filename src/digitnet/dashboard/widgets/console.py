"""Provides :class:`Console`: the selected run's ``output.log``, live, newest line at the bottom.

Everything ``digitnet fit`` printed (warnings, progress, errors) for a run the dashboard started.
The lines come from :class:`~digitnet.runs.listing.LogTail`, which starts near the end of the
file, so a huge log costs no more than a small one; the pane keeps the last ``MAX_LINES``.
"""

from __future__ import annotations

import textwrap

from textual.reactive import reactive
from textual.widgets import Log

MAX_LINES = 5000


class Console(Log):
    """A scrollable log of one run's output; showing another run starts it afresh."""

    run: reactive[str | None] = reactive(None, init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, **kwargs)

    def watch_run(self, run: str | None) -> None:
        self.clear()

    def show_output(self, run: str, lines: list[str], has_log: bool) -> None:
        self.run = run
        if lines:
            self.write_lines(fold(lines, self.size.width - 2 if self.size.width > 22 else 78))
        elif not has_log and self.line_count == 0:
            sentence = (
                f"{run} has no output.log: it was started outside the dashboard, and its output "
                "went to the terminal that started it."
            )
            self.write_lines(textwrap.wrap(sentence, max(20, self.size.width - 2)))


def fold(lines: list[str], width: int) -> list[str]:
    """Each line cut into pieces of ``width`` (the pane's), the later pieces indented by ``↪``:
    a long warning or traceback line is read whole, never cut at the pane's edge.

    >>> fold(["short", "a long line of output"], 10)
    ['short', 'a long lin', '↪ e of out', '↪ put']
    """
    folded = []
    for line in lines:
        folded.append(line[:width])
        rest = line[width:]
        while rest:
            folded.append("↪ " + rest[: width - 2])
            rest = rest[width - 2 :]
    return folded
