"""Provides :class:`LaunchForm`: a run's settings, checked as you type, and the Start button.

A bad value is explained right under its field and Start stays disabled until every field is good;
the checks are those of :class:`digitnet.runs.spec.LaunchSpec` (each setting's rule in
:mod:`digitnet.settings`), the same the command line
applies. A range or choices in a field (:mod:`digitnet.runs.search`) turn the run into a sweep,
and the button says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, Select

from digitnet import settings
from digitnet.runs.spec import LaunchSpec
from digitnet.text import printable

EXTRA_LABELS = {"name": "run name", "trials": "sweep trials"}


def choices(name: str) -> tuple[str, ...] | None:
    """The values a choice field offers (a select), or None for a text field."""
    return settings.row(name).choices if name not in EXTRA_LABELS else None


def label(name: str) -> str:
    """A field's label: its setting's (``learning rate``), else its name."""
    if name in EXTRA_LABELS:
        return EXTRA_LABELS[name]
    return settings.row(name).label or name


def sweep_hint() -> str:
    """What starts a sweep, naming the fields a search may vary.

    >>> sweep_hint().split(" in ")[1].split(" start ")[0]
    'layer sizes, learning rate, momentum, weight decay, batch size or seed'
    """
    names = [label(name) for name in settings.searchable()]
    return (
        "One value per field starts a run; a range (0.01..0.3) or choices (32 | 64) in "
        f"{', '.join(names[:-1])} or {names[-1]} start a sweep of runs <name>-<n>."
    )


class LaunchForm(VerticalScroll):
    """Every field of a :class:`LaunchSpec`; posts :class:`LaunchForm.Start` with a valid spec."""

    @dataclass
    class Start(Message):
        """The user asked to start a run with these settings."""

        spec: LaunchSpec

    DEFAULT_CSS = """
    LaunchForm { padding: 0 1; }
    LaunchForm .row { height: auto; }
    LaunchForm .row { margin-top: 1; }
    LaunchForm .name { width: 16; padding: 0 1 0 0; }
    LaunchForm Input, LaunchForm Select { width: 1fr; }
    LaunchForm .problem { color: $error; padding-left: 16; width: 1fr; height: auto; }
    LaunchForm #start { margin: 1 0 0 16; }
    LaunchForm #sweep-hint { color: $text-muted; width: 1fr; height: auto; margin-top: 1; }
    """

    notes: dict[str, str] = {}  # what a clone could not show, by field (see fill)

    def compose(self) -> ComposeResult:
        yield Label(sweep_hint(), id="sweep-hint")
        spec = LaunchSpec()
        for name, value in spec.as_dict().items():
            with Horizontal(classes="row"):
                yield Label(label(name), classes="name")
                if choices(name):
                    yield Select(
                        [(c, c) for c in choices(name)],
                        value=value,
                        allow_blank=False,
                        id=name,
                        compact=True,
                    )
                elif name == "name":
                    yield Input(
                        value, id=name, compact=True, placeholder="blank: from the settings"
                    )
                else:
                    yield Input(value, id=name, compact=True)
            yield Label("", id=f"{name}-problem", classes="problem")
        yield Button("Start", id="start", variant="success")

    def fill(self, spec: LaunchSpec) -> None:
        """Show ``spec`` in the fields (a clone of a run: its settings, ready to change). A run
        folder is untrusted: text is shown escaped, as the run list shows it, and a value a
        choice field does not offer is named under that field, which keeps its own."""
        self.notes = {}
        for name, value in spec.as_dict().items():
            widget = self.query_one(f"#{name}")
            if not choices(name):
                widget.value = printable(value)
            elif value in choices(name):
                widget.value = value
            else:
                self.notes[name] = (
                    f"the run's {label(name)} {printable(value)} is not one this form "
                    f"offers; {widget.value} is shown"
                )
        self.check()

    def spec(self) -> LaunchSpec:
        values = {}
        for name in LaunchSpec.field_names():
            widget = self.query_one(f"#{name}")
            values[name] = str(widget.value)
        return LaunchSpec(**values)

    def check(self) -> dict[str, str]:
        """Show each field's problem under it (as text: what was typed is never markup) and say
        on the button what Start starts."""
        spec = self.spec()
        problems = spec.errors()
        for name in LaunchSpec.field_names():
            label = self.query_one(f"#{name}-problem", Label)
            said = problems.get(name) or self.notes.get(name, "")
            label.update(Content(said))
            label.display = bool(said)
        start = self.query_one("#start", Button)
        start.disabled = bool(problems)
        start.label = Content(start_label(spec, "trials" in problems))
        return problems

    def on_mount(self) -> None:
        self.check()

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.check()

    @on(Button.Pressed, "#start")
    @on(Input.Submitted)
    def _start(self) -> None:
        if not self.check():
            self.post_message(self.Start(self.spec()))


def start_label(spec: LaunchSpec, bad_trials: bool = False) -> str:
    """What the Start button says.

    >>> start_label(LaunchSpec()), start_label(LaunchSpec(lr="0.01..0.3", trials="1"))
    ('Start', 'Start sweep of 1 trial')
    >>> start_label(LaunchSpec(lr="0.01..0.3", trials="5"))
    'Start sweep of 5 trials'
    """
    if not spec.is_sweep():
        return "Start"
    if bad_trials:
        return "Start sweep"
    trials = int(spec.trials)
    return f"Start sweep of {trials} trial{'s' if trials != 1 else ''}"
