"""The package's layers: each folder imports only from the folders below it (read from the source).

errors, untrusted,       the foundation: no digitnet imports above it
atomic, checks, updates,
settings, text
data                     the data sets
model                    the network, its engines, the LightningModule, its checkpoint files
runs                     the run folder, torch-free: its files, listing, processes, the form's model
record                   the Lightning callbacks and loggers that write a run folder
lecture                  the perceptron and the presets
training                 train(): one run from settings to a result, the steps fit takes too
dashboard                the terminal app (reads run folders; never imports torch)
cli                      the command line, over everything
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "digitnet"
LAYERS = [
    "errors",
    "untrusted",
    "atomic",
    "checks",
    "updates",
    "settings",
    "text",
    "data",
    "model",
    "runs",
    "record",
    "lecture",
    "training",
    "dashboard",
    "cli",
]
FOUNDATION = {
    "errors",
    "untrusted",
    "atomic",
    "checks",
    "updates",
    "settings",
    "text",
}  # one rank: these may import each other
RANK = {name: (0 if name in FOUNDATION else LAYERS.index(name)) for name in LAYERS}


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "digitnet" else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every ``digitnet.*`` module ``path`` imports, at the top or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                if node.module == "digitnet"
                else (node.lineno, node.module)
                for alias in node.names
            ]
    return [(line, name) for line, name in found if name.startswith("digitnet.")]


SOURCES = [
    p
    for p in PACKAGE.rglob("*.py")
    if p.name not in ("__init__.py", "__main__.py") or p.parent != PACKAGE
]


def test_every_module_belongs_to_a_layer():
    strays = [
        p.relative_to(PACKAGE)
        for p in SOURCES
        if p.relative_to(PACKAGE).parts[0].removesuffix(".py") not in RANK
    ]
    assert not strays, f"modules outside the layers {LAYERS}: {strays}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_only(path):
    mine = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upward = [
        f"line {line}: {name}"
        for line, name in imports_of(path)
        if part_of(name) in RANK and RANK[part_of(name)] > RANK[mine]
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} ({mine}) imports from a higher layer: {upward}"


def heavy_after_importing(modules: list[str], heavy: tuple[str, ...]) -> list[str]:
    """Which of ``heavy`` a fresh Python has loaded after importing ``modules``."""
    code = f"import sys, {', '.join(modules)}; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(out.stdout)


@pytest.mark.parametrize(
    "module",
    [
        "digitnet.dashboard.app",
        "digitnet.runs.listing",
        "digitnet.runs.process",
        "digitnet.data.catalog",
        "digitnet.cli.main",
        "digitnet.cli.prepare",  # a bad fit or resume is refused before Lightning is imported
    ],
)
@pytest.mark.subprocess
def test_what_the_dashboard_and_the_command_line_load_first_imports_no_torch(module):
    assert heavy_after_importing([module], ("torch", "lightning")) == []


@pytest.mark.subprocess
def test_reading_a_checkpoint_imports_torch_but_not_lightning():
    """A resume's checkpoint is checked before Lightning is imported (cli/prepare.py)."""
    assert heavy_after_importing(["digitnet.model.checkpoints"], ("torch", "lightning")) == [
        "torch"
    ]


@pytest.mark.subprocess
def test_the_run_folders_torch_free_half_imports_no_torch():
    """runs/ is the half the dashboard reads through; record/ the half that imports Lightning."""
    modules = sorted(f"digitnet.runs.{p.stem}" for p in (PACKAGE / "runs").glob("[!_]*.py"))
    assert len(modules) > 10
    assert heavy_after_importing(modules, ("torch", "lightning", "optuna")) == []


@pytest.mark.subprocess
def test_the_training_core_imports_without_textual():
    core = ["digitnet.model.classifier", "digitnet.data.module", "digitnet.record.folder"]
    assert heavy_after_importing([*core, "digitnet.cli.lightning_cli"], ("textual",)) == []


def test_only_the_run_folder_object_spells_a_run_files_name():
    import re

    from digitnet.runs.files import NAMES

    files = [name for key, name in NAMES.items() if "." in name and key != "lock"]
    spelled = re.compile("|".join(re.escape(f'"{name}"') for name in files))
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in SOURCES
        if path.name != "files.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line) and ">>>" not in line and "``" not in line
    ]
    assert not found, f"spelled outside runs/files.py: {found}"
