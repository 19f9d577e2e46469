"""Snapshots of the main screens over hand-written run folders (fixed numbers, fixed clock).

Update them after an intended change of the look with ``pytest tests/test_snapshots.py
--snapshot-update``.
"""

import pytest

from digitnet.dashboard.app import DashboardApp
from fake_runs import T0, make_run
from screen import looked

SIZE = (100, 30)


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "checkpoints"
    make_run(root, "mnist-demo", epochs=6, rate=1.0, system=30, weights=16)
    make_run(
        root,
        "mnist-broken",
        epochs=2,
        status="diverged",
        age=7200,
        error="the training loss became NaN or infinite; lower the learning rate",
    )
    return DashboardApp(root, clock=lambda: T0)


@pytest.mark.parametrize(
    "keys",
    [[], ["2"], ["3"], ["4"], ["7"], ["8"], ["9"], ["question_mark"]],
    ids=["live", "epochs", "confusion", "samples", "weights", "draw", "new-run", "help"],
)
def test_screens(app, snap_compare, keys):
    assert snap_compare(app, terminal_size=SIZE, run_before=settled(*keys))


@pytest.mark.parametrize(
    "size", [(80, 24), (120, 40), (200, 50)], ids=["80x24", "120x40", "200x50"]
)
def test_live_at_each_size(app, snap_compare, size):
    assert snap_compare(app, terminal_size=size, run_before=settled())


def test_compare_with_the_cursor_on(app, snap_compare):
    assert snap_compare(app, terminal_size=(120, 40), run_before=settled("m", "down", "m", "right"))


def test_a_diverged_run_shows_its_error(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=settled("down"))


def settled(*keys: str):
    """Press ``keys`` once the run folders were read, and wait for a look after them: the
    picture never depends on when a worker thread's read arrives."""

    async def run_before(pilot) -> None:
        await looked(pilot)
        await pilot.press(*keys)
        await looked(pilot)

    return run_before
