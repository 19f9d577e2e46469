"""Provides the New-run form's search syntax: a field that holds a range or a list of choices
makes the run a sweep, each choice or range the rule ``digitnet sweep`` searches it with.

``low..high`` is a range (on a log scale for the learning rate, the weight decay and the batch
size where low is above 0, else linear), ``a | b | c`` a list of choices; one value is no
search. Which fields may be searched, and how, is each setting's ``search`` in the registry
(:mod:`digitnet.settings`)::

    >>> parse("lr", "0.01..0.3")
    {'low': 0.01, 'high': 0.3, 'log': True}
    >>> parse("momentum", "0..0.9")
    {'low': 0.0, 'high': 0.9, 'log': False}
    >>> parse("layers", "784, 16, 10 | 784, 32, 10")
    [[784, 16, 10], [784, 32, 10]]
    >>> parse("lr", "0.1") is None
    True
    >>> parse("lr", "0.3..0.01")
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: the range of lr 0.3..0.01 runs backwards; write 0.01..0.3.

Each value in a search is checked with the rule of its field (:mod:`digitnet.checks`), so a sweep
never starts a trial the form would have refused as a run. Imports neither torch nor textual.
"""

from __future__ import annotations

import json
from typing import Any

from digitnet import settings
from digitnet.errors import BadSetting

ONE_VALUE = ("epochs", "trials")  # numbers the form takes one of, never a search


def is_search(text: str) -> bool:
    """Whether a field's text asks for a search rather than one value."""
    return "|" in text or ".." in text


def parse(field: str, text: str) -> Any:
    """The rule for ``field``'s text: ``{low, high, log}``, a list of choices, or None for one
    value (and for a field that is never searched: its own rule reads it, a run name ``a..b``
    included); :class:`BadSetting` in one sentence where a part is bad."""
    searchable = settings.searchable()  # the fields a search may vary, each with its rule
    if not is_search(text) or field not in (*searchable, *ONE_VALUE):
        return None
    if field not in searchable:
        raise BadSetting(
            f"{field} takes one value; ranges and choices go in "
            f"{', '.join(name.replace('_', ' ') for name in searchable)}."
        )
    check = searchable[field]
    if "|" in text and ".." in text:
        raise BadSetting(f"{field} takes a range or choices, not both: write low..high or a | b.")
    if "|" in text:
        parts = [part.strip() for part in text.split("|")]
        if not all(parts):
            raise BadSetting(f"one of the choices of {field} is empty: write a | b.")
        choices = [check(part) for part in parts]
        if len(set(map(json.dumps, choices))) < len(choices):
            raise BadSetting(f"the choices of {field} must be two or more different values.")
        return choices
    if field not in settings.ranges():
        raise BadSetting(f"{field} takes choices, not a range: write a | b.")
    parts = [part.strip() for part in text.split("..")]
    if len(parts) != 2 or not all(parts) or parts[1].startswith("."):
        raise BadSetting(f"the range of {field} must read low..high, got {text.strip()!r}.")
    low, high = (check(part) for part in parts)
    if low > high:
        raise BadSetting(
            f"the range of {field} {text.strip()} runs backwards; write {high}..{low}."
        )
    if low == high:
        raise BadSetting(
            f"the range of {field} {text.strip()} holds one value; widen it or give one."
        )
    return {"low": low, "high": high, "log": field in settings.log_scale() and low > 0}


def as_args(settings: dict[str, Any]) -> list[str]:
    """Dotted fit options as command-line arguments: a list as JSON, a flag as true/false.

    >>> as_args({"model.lr": 0.1, "model.layers": [784, 16, 10], "test_after_fit": False})
    ['--model.lr', '0.1', '--model.layers', '[784, 16, 10]', '--test_after_fit', 'false']
    """
    args = []
    for key, value in settings.items():
        plain = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        args += [f"--{key}", str(value) if plain else json.dumps(value)]
    return args
