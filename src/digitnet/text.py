"""Provides the terminal-text helpers every layer prints through: names, errors and settings
from run folders made safe to print (:func:`printable`), and columns of names that line up
whatever their script (:func:`cell_width`, :func:`fit_cells`). Imports nothing of digitnet.
"""

from __future__ import annotations

from typing import Any


def printable(text: Any) -> str:
    r"""``text`` with every control character written as an escape, safe to print to a terminal.

    Names, errors and settings come from run folders, which anyone can write: printed raw, ``ESC
    [2J`` would clear the screen and an OSC sequence retitle the terminal.

    Right-to-left overrides and zero-width characters are not printable either (they reorder or
    hide what follows), so they are escaped too::

    >>> printable("run\x1b[2J\n"), printable("invoice\u202egnp.exe")
    ('run\\x1b[2J\\n', 'invoice\\u202egnp.exe')
    """
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )


def cell_width(text: str) -> int:
    """How many terminal columns ``text`` takes: East Asian wide and full-width characters take
    two, combining marks none.

    >>> cell_width("run"), cell_width("実験"), cell_width("e\u0301")
    (3, 4, 1)
    """
    import unicodedata

    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def fit_cells(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` columns (a cut ends with ``…``), so columns of
    wide names line up.

    >>> fit_cells("実験-run", 6) + "|", fit_cells("ab", 4) + "|"
    ('実験-…|', 'ab  |')
    """
    if cell_width(text) <= width:
        return text + " " * (width - cell_width(text))
    out = ""
    for c in text:
        if cell_width(out + c) > width - 1:
            break
        out += c
    return out + "…" + " " * (width - 1 - cell_width(out))
