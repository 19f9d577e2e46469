"""A study shared on a real database server: two ``digitnet sweep`` processes on a PostgreSQL
server this test starts itself (Debian's ``postgresql``: ``initdb`` and ``pg_ctl`` in a temporary
folder, as an unprivileged user), each trial run once. Skipped where the server or the driver is
not installed (``.ci/run`` installs both)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from test_sweep import SPEC, write_spec

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


def server_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres():
    """A PostgreSQL server on a free port of 127.0.0.1, its data in ``tmp_path``; its URL."""
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip("Debian's postgresql is not installed")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="digitnet-pg-"))  # in /tmp: the server's user reaches it
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "nobody")
        folder.chmod(0o700)
        as_user = ["runuser", "-u", "nobody", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def run(*args: str) -> None:
        done = subprocess.run(
            [*as_user, *args], capture_output=True, text=True, timeout=120, cwd=folder
        )
        assert done.returncode == 0, done.stdout + done.stderr

    run(str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "lab", "--auth=trust")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    log = str(folder / "server.log")  # the server's output: a pipe held open would never end
    run(
        str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l", log, "-w", "start"
    )
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "lab", "sweeps")
        yield f"postgresql://lab@127.0.0.1:{port}/sweeps"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_two_sweeps_on_one_postgresql_study_run_each_trial_once(tiny_env, tmp_path, postgres):
    spec = write_spec(tmp_path, SPEC.replace("max_epochs: 2", "max_epochs: 1"), "lab")
    command = [sys.executable, "-m", "digitnet", "sweep", str(spec), "--trials", "2"]
    both = [
        subprocess.Popen(
            [*command, "--storage", postgres],
            env=tiny_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in both:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-2000:]
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [f"lab-{n}" for n in range(4)]
    import optuna

    study = optuna.load_study(study_name="lab", storage=postgres)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert {t.state.name for t in study.trials} <= {"COMPLETE", "PRUNED"}
