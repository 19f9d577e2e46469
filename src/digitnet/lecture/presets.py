"""Provides the preset configs in ``digitnet/lecture/presets/*.yaml`` and the facts each one cites.

A preset is an ordinary LightningCLI config (``digitnet fit --config PATH`` takes it, and so does
``digitnet fit --preset NAME``) that opens with three comment lines::

    # description: the textbook's network.py: 784-30-10 sigmoid, quadratic cost, ...
    # source: Nielsen, Neural Networks and Deep Learning, ch. 1 (...)
    # published: 95.42 test (best epoch of 30)

``published`` is the figure the source reports, then which split it was measured on (``test`` or
``val``), then a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from digitnet.errors import BadSetting


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    description: str
    source: str
    published: float
    metric: str  # "test" or "val": the split the published figure was measured on
    note: str


def _folder() -> Path:
    return Path(str(resources.files("digitnet.lecture") / "presets"))


def load(path: Path) -> Preset:
    fields = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        fields[key] = value
    number, metric, *rest = fields["published"].split(" ", 2)
    return Preset(
        path.stem,
        path,
        fields["description"],
        fields["source"],
        float(number),
        metric,
        rest[0].strip("()") if rest else "",
    )


def all_presets() -> list[Preset]:
    return [load(p) for p in sorted(_folder().glob("*.yaml"))]


def get(name: str) -> Preset:
    path = _folder() / f"{name}.yaml"
    # no climbing out with ../
    if not path.is_file() or path.resolve().parent != _folder().resolve():
        names = ", ".join(p.name for p in all_presets())
        raise BadSetting(f"there is no preset {name!r}; the presets are {names}.")
    return load(path)
