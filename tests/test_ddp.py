"""Multi-process training through Lightning's DDP strategy on 2 CPU processes (gloo)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]  # every test here trains


def run_python(args: list[str], env: dict, folder: Path) -> None:
    """Python with ``args`` in ``folder``, which must end well (its stderr's end says why not)."""
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300, cwd=folder
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("engine", ["backprop", "autograd"])
def test_two_cpu_processes_agree_and_only_rank_zero_writes_the_run(tiny_env, tmp_path, engine):
    """Each rank trains on its own half of every epoch; their weights stay equal only if the
    gradients are averaged across them (explicitly by the backprop engine, by DDP for autograd)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    env = {
        **tiny_env,
        "PROBE_DIR": str(probe),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), tiny_env.get("PYTHONPATH", "")]),
    }
    run_python(
        [
            "-m",
            "digitnet",
            "fit",
            "--trainer.strategy",
            "ddp",
            "--trainer.devices",
            "2",
            "--trainer.accelerator",
            "cpu",
            "--trainer.max_epochs",
            "2",
            "--data.val_size",
            "100",
            "--model.layers",
            "[784, 32, 10]",
            "--trainer.enable_progress_bar",
            "false",
            "--model.engine",
            engine,
            "--trainer.callbacks+=rank_probe.RankProbe",
            "--test_after_fit",
            "false",
        ],
        env,
        tmp_path,
    )
    ranks = sorted(p.read_text() for p in probe.iterdir())
    assert len(ranks) == 2 and ranks[0] == ranks[1] and ranks[0].startswith("2 ")
    runs = list(Path(tiny_env["DIGITNET_CHECKPOINTS"]).iterdir())
    assert len(runs) == 1
    status = json.loads((runs[0] / "status.json").read_text())
    assert status["status"] == "finished" and status["pid"] != os.getpid()
    starts = [
        line for line in (runs[0] / "events.jsonl").read_text().splitlines() if '"start"' in line
    ]
    assert len(starts) == 1  # rank 1 wrote nothing


def test_train_from_a_script_runs_ddp_with_the_workers_joining_rank_zeros_run(tiny_env, tmp_path):
    """Lightning starts the DDP worker by running the user's script again, so it calls train()
    too: the worker joins rank 0's run folder (never claims one of its own), and both ranks
    return the same result."""
    script = tmp_path / "script.py"
    script.write_text(
        "import os\n"
        "from digitnet import train\n"
        'settings = {"layers": [784, 16, 10], "epochs": 2, "val_size": 100, "device": "cpu"}\n'
        'result = train(settings, "checkpoints/ddp", trainer={"strategy": "ddp", "devices": 2},'
        " quiet=True)\n"
        "with open(f\"rank{os.environ.get('LOCAL_RANK', '0')}.txt\", \"w\") as out:\n"
        "    out.write(repr(result))\n"
    )
    run_python([str(script)], tiny_env, tmp_path)
    ours, theirs = ((tmp_path / f"rank{rank}.txt").read_text() for rank in (0, 1))
    assert ours == theirs and "status='finished'" in ours, (ours, theirs)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["ddp"]
    events = (tmp_path / "checkpoints/ddp/events.jsonl").read_text().splitlines()
    assert sum('"start"' in line for line in events) == 1  # rank 1 wrote nothing
