"""Shared fixtures: tiny generated data behind the real verified-file path, and a fresh run
store."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tiny import write_tiny  # tests/ is on the import path: see pythonpath in pyproject.toml

REPO = Path(__file__).resolve().parents[1]

# A shell starts background jobs with Ctrl-C ignored, and a child process inherits that: the
# tests that interrupt a run with SIGINT would then test nothing. Children start with it on.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
REAL_DATA = Path(os.environ.get("DIGITNET_REAL_DATA", REPO / "data"))

# The test workers (pytest -n 2) share the machine's cores, and the processes they start inherit
# this: one thread each for torch's arithmetic. With torch's default, a thread for every core in
# every worker, the workers' runs fought for the cores and the suite took twice as long (the
# updates grid: 120 s against 24 s). What a test asserts of threads it sets itself.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny-data")
    return root, write_tiny(root)


def tiny_variables(tiny_data: tuple[Path, Path], checkpoints: Path) -> dict[str, str]:
    """The variables that point digitnet at the tiny data and ``checkpoints``, offline."""
    data_dir, checksums = tiny_data
    return {
        "DIGITNET_DATA": str(data_dir),
        "DIGITNET_CHECKSUMS": str(checksums),
        "DIGITNET_CHECKPOINTS": str(checkpoints),
        "DIGITNET_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }


@pytest.fixture
def tiny_env(tiny_data, tmp_path, monkeypatch) -> dict[str, str]:
    """Point digitnet at the tiny data and an empty checkpoints folder, offline; returns the env for
    subprocesses."""
    env = tiny_variables(tiny_data, tmp_path / "checkpoints")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return {**os.environ, **env}


@pytest.fixture
def real_data() -> Path:
    """The real data sets; ``make test`` requires them (``DIGITNET_REQUIRE_DATA=1``: a missing
    file fails), elsewhere a test that needs them is skipped with the reason."""
    if not (REAL_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        message = f"real MNIST is not in {REAL_DATA}; run 'make data' first"
        if os.environ.get("DIGITNET_REQUIRE_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return REAL_DATA


# -- markers that select honestly -------------------------------------------------------------
# A test that trains (a Lightning fit, validate or test in this process, or a digitnet process
# that trains or loads torch) must be marked ``slow``: ``make test-fast`` leaves those out. The
# guard below fails an unmarked test the moment it starts one, so the markers cannot drift.
TORCH_COMMANDS = {"fit", "validate", "test", "predict", "export", "reproduce", "compare", "gates"}
TORCH_COMMANDS |= {"spare"}
TORCH_COMMANDS |= {"forward", "backprop"}


def _starts_torch(args) -> bool:
    words = [str(a) for a in (args if isinstance(args, (list, tuple)) else str(args).split())]
    return any(w.endswith("digitnet") for w in words) and bool(TORCH_COMMANDS & set(words))


# what a library runs once a process, in whichever test first needs it (ctypes.util's search for a
# shared library): not the test's own process
LIBRARY_PROBES = {"ldconfig", "gcc", "cc", "ld", "objdump", "uname"}


@pytest.fixture(autouse=True)
def _markers_say_what_a_test_does(request, monkeypatch):
    """A test that trains must be marked ``slow`` (it fails the moment it starts the work), and a
    test that starts any process ``subprocess`` (it fails at its end, naming the process): the
    markers cannot drift from what the tests do."""
    slow = request.node.get_closest_marker("slow") is not None
    spawns = request.node.get_closest_marker("subprocess") is not None
    name = request.node.nodeid
    unmarked: list[str] = []

    class Guarded(subprocess.Popen):
        def __init__(self, args, *rest, **kwargs):
            shown = " ".join(map(str, args if isinstance(args, (list, tuple)) else [args]))[-80:]
            if not slow and _starts_torch(args):
                pytest.fail(f"{name} starts '{shown}' but is not marked slow", pytrace=False)
            first = str(args[0] if isinstance(args, (list, tuple)) else args).split()[0]
            if not spawns and Path(first).name not in LIBRARY_PROBES:
                unmarked.append(shown)
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Guarded)
    if not slow:
        from lightning.pytorch import Trainer

        from digitnet.runs.process import Spare

        # the dashboard's New-run form starts a warm `digitnet spare` (torch imported): not here
        monkeypatch.setattr(Spare, "prepare", lambda self: None)
        for method in ("fit", "validate", "test"):

            def refuse(*args, _method=method, **kwargs):
                pytest.fail(f"{name} runs Trainer.{_method} but is not marked slow", pytrace=False)

            monkeypatch.setattr(Trainer, method, refuse)
    yield
    if unmarked:
        pytest.fail(
            f"{name} starts a process ('{unmarked[0]}') but is not marked subprocess",
            pytrace=False,
        )


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 4 MB tmpfs (root only); skipped where one cannot be mounted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)
