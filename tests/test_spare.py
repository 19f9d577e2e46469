"""The dashboard's warm start: a ``digitnet spare`` process becomes the run it is handed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digitnet.runs import process as control
from digitnet.runs.spec import LaunchSpec

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]  # each spare imports torch, and one trains


def test_a_spare_becomes_the_run_it_is_handed_and_a_dead_one_is_replaced(tiny_env, tmp_path):
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    spare = control.Spare()
    spare.prepare()
    waiting = spare.process
    spare.prepare()  # one waits already: no second one
    assert spare.process is waiting
    spec = LaunchSpec(layers="784, 16, 10", epochs="1", name="warm")
    name, run = control.launch(spec, root, spare)
    assert run is waiting and spare.process is None and run.wait(timeout=120) == 0
    folder = root / name
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"
    assert json.loads((folder / "launcher.json").read_text())["pid"] == run.pid
    assert "test accuracy" in (folder / "output.log").read_text()  # its output, in its log

    spare.prepare()
    spare.process.kill()  # a spare that died is passed over: the run starts afresh
    spare.process.wait()
    name, cold = control.launch(LaunchSpec(layers="784, 16, 10", epochs="1"), root, spare)
    assert cold.args[-1] != "spare" and cold.wait(timeout=120) == 0

    spare.prepare()
    left = spare.process
    spare.close()  # the form was left, the dashboard closed: it exits, having run nothing
    assert left.wait(timeout=60) == 0 and spare.process is None
    assert sorted(p.name for p in root.iterdir()) == sorted(["warm", name])
