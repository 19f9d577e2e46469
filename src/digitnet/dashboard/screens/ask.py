"""Provides the dashboard's two questions: :class:`Confirm` (yes or no) and :class:`AskName`.

Each is a modal screen that answers through ``dismiss``: the caller passes a callback to
``push_screen`` and gets ``True``/``False``, or the new name/``None``.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from digitnet.errors import DigitnetError

CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 70; height: auto; border: round $accent; background: $panel;
    padding: 1 2; }}
{name} Horizontal {{ height: auto; margin-top: 1; }}
{name} Button {{ margin-right: 2; }}
{name} .problem {{ color: $error; }}
"""


class Confirm(ModalScreen[bool]):
    """``question`` with Yes and No; ``y`` and ``n`` (or Esc) answer from the keyboard."""

    DEFAULT_CSS = CSS.format(name="Confirm")
    BINDINGS = [("y", "answer(True)", "Yes"), ("n", "answer(False)", "No"),
                ("escape", "answer(False)", "No")]  # fmt: skip

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question, self.yes = question, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question))  # it may hold a run's name: never markup
            with Horizontal():
                yield Button(f"{self.yes} (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AskName(ModalScreen["str | None"]):
    """A text field for a new name, checked by ``check`` as it is typed; Enter answers, Esc
    cancels."""

    DEFAULT_CSS = CSS.format(name="AskName")
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str, check: Callable[[str], object]) -> None:
        super().__init__()
        self.question, self.value, self.check = question, value, check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question))
            yield Input(self.value, id="answer")
            yield Label("", classes="problem", id="problem")

    def problem(self, value: str) -> str:
        try:
            self.check(value)
        except DigitnetError as error:
            return str(error)
        return ""

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#problem", Label).update(Text(self.problem(event.value)))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if not self.problem(event.value):
            self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
