"""Provides :class:`HelpScreen`, the keys and what the dashboard shows, over the main screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# digitnet dashboard

## Runs

| key | what it does |
| --- | --- |
| `↑` `↓` | choose a run in the list (the mouse works too) |
| `n` | new run: the form (Tab moves between fields, Enter or Start launches) |
| `c` | cancel the selected run: it stops after its current step and saves `last.ckpt` |
| `r` | resume the selected run from its `last.ckpt`, in place |
| `m` | mark or unmark the selected run for comparison: up to 8 marked runs overlay the charts |
| `e` | rename the selected run (not while it trains) |
| `d` | delete the selected run, after a yes (not while it trains) |
| `s` | sort the runs: newest first, best accuracy first, by name |
| `/` | filter the runs: a part of a name or data set, `tag:NAME`, `study:NAME`; `Esc` clears |
| `a` | all runs as a table: the settings that differ, test accuracy, time, tags (click a header) |
| `k` | clone: the New-run form filled with the selected run's settings, to change and start |
| `t` | a note for the selected run; `#words` in it are tags |
| `1`-`9` | tabs: live, epochs, confusion, samples, details, console, weights, draw, new run |
| draw tab | press and drag; or arrows move the pen, `space` inks, `backspace` rubs, `x` clears |
| `?` | this help; `Esc` closes it |
| `q` | quit (runs keep training: they are processes of their own) |

## Charts (the Live tab)

| key | what it does |
| --- | --- |
| `g` | next chart: loss, accuracy, learning rate, system (CPU and memory); or click its name |
| `←` `→` or `,` `.` | move the cursor: every shown series' value at its x, in the chart's header |
| click | put the cursor where you click; `Esc` hides it |
| `l` | log scale: the loss, and every chart whose values are all positive |
| `[` `]` | less or more smoothing of the training loss (the raw curve grey behind it) |
| `x` | x axis: epochs, updates, or time since the run started |
| `+` `-`, wheel | zoom the x axis; zoomed on a live run, the view follows its newest point |
| `Shift+←` `Shift+→` | pan the zoomed view (back at the end, it follows again) |
| `0` | zoom out to the whole run |

The marks in the list: `●` running, `✓` finished, `■` cancelled, `‖` stopped inside an epoch by
`--trainer.max_steps` or `max_time` (a resume continues it), `✗` failed, `~` diverged;
`▶` before a name: marked for compare (two marked: the Details tab shows them side by side).
`best` is the best validation accuracy in percent. `✂` pruned by a sweep.

Runs live in `checkpoints/`. A run started anywhere (`digitnet fit`, or Python with
`digitnet.run_folder`) shows up here and updates live. Each run keeps its colour while the
dashboard is open; the selected run is drawn on top. A run that diverged is drawn up to its last
finite value, with a red line where it diverged.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [
        ("escape", "dismiss", "Close"),
        ("question_mark", "dismiss", "Close"),
        ("q", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent;
    background: $panel; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)
