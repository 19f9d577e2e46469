"""Provides the training processes a watcher controls: start (a run of a
:class:`~digitnet.runs.spec.LaunchSpec`, a sweep, a resume, in a warm :class:`Spare` where one
waits), cancel, liveness. Imports neither torch nor textual.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from digitnet import untrusted
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.errors import BadSetting, RunError
from digitnet.runs import lock
from digitnet.runs.files import RunFolder
from digitnet.runs.layout import create_run_dir
from digitnet.runs.spec import QUIET, LaunchSpec


def digitnet_command(args: list[str]) -> list[str]:
    """The command line of ``digitnet <args>`` run by this Python."""
    return [sys.executable, "-m", "digitnet", *args]


def digitnet_env() -> dict[str, str]:
    """The environment of a digitnet process started from here: unbuffered output, and no
    working folder on ``sys.path`` (``PYTHONSAFEPATH``), so nothing in the folder the dashboard
    runs in is ever imported in place of digitnet's own code."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"}


class Spare:
    """One ``digitnet spare`` process (:mod:`digitnet.cli.spare`): a run's start-up done ahead,
    waiting for the run it will be. :meth:`prepare` starts one where none waits; :meth:`take`
    hands it a run and returns it as that run's process (None where none is alive, and the run
    is then started afresh); :meth:`close` lets a waiting one go (it exits at once).

    The dashboard prepares one when its New-run form opens, so that Start skips the seconds
    that importing torch and Lightning takes (``bench/run.py --only-start`` measures it).
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def prepare(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            digitnet_command(["spare"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=digitnet_env(),
            start_new_session=True,  # the run it becomes outlives the dashboard
        )

    def take(self, args: list[str], log_path: Path) -> subprocess.Popen | None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None
        try:
            request = json.dumps({"args": args, "log": str(Path(log_path).absolute())})
            process.stdin.write(request.encode() + b"\n")
            process.stdin.close()
        except OSError:  # it died between the look and the line
            return None
        return process

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()


def spawn(args: list[str], log_path: Path, spare: Spare | None = None) -> subprocess.Popen:
    """Start ``digitnet <args>`` as its own process (a session of its own: it outlives the
    dashboard), its output appended to ``log_path``; in ``spare``'s process where one waits."""
    taken = spare.take(args, log_path) if spare is not None else None
    if taken is not None:
        return taken
    try:
        log = untrusted.open_append(log_path)
    except OSError as error:
        raise write_failed(log_path.parent, error) from None
    try:
        return subprocess.Popen(
            digitnet_command(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=digitnet_env(),
            start_new_session=True,
        )
    finally:
        log.close()


def start_process(args: list[str], run_dir: Path, spare: Spare | None = None) -> subprocess.Popen:
    """Start ``digitnet <args>`` as its own process, its output appended to ``run_dir/output.log``.

    ``launcher.json`` records the process id, so a run that dies before it writes its status (bad
    data, say) is still reported, with the end of its output.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    log = RunFolder(run_dir).output
    # a resumed run appends: its own output starts here
    offset = os.lstat(log).st_size if untrusted.is_regular(log) else 0
    process = spawn(args, log, spare)
    atomic_write_text(
        RunFolder(run_dir).launcher,
        json.dumps({"pid": process.pid, "args": args, "time": time.time(), "log_offset": offset}),
    )
    return process


def launch(
    spec: LaunchSpec, root: Path, spare: Spare | None = None
) -> tuple[str, subprocess.Popen]:
    """Start a new run of ``spec`` under ``root``, named ``spec.name`` or from its settings and
    the time (``mnist-mlp-sigmoid-20261126-101500``), in ``spare``'s process where one waits;
    return its name and process."""
    spec.values()  # the first bad field, in one sentence
    if spec.name:
        run_dir = Path(root) / spec.name
        if run_dir.exists():
            raise BadSetting(f"a run named {spec.name} already exists; pick another name.")
        run_dir.mkdir(parents=True)
    else:
        run_dir = create_run_dir(Path(root), spec.describe())
    return run_dir.name, start_process(
        [*spec.to_args(run_dir.name), "--checkpoints_dir", str(root)], run_dir, spare
    )


def launch_sweep(spec: LaunchSpec, root: Path) -> tuple[str, subprocess.Popen]:
    """Start ``digitnet sweep`` over ``spec``'s ranges and choices under ``root``; return the
    study's name (``spec.name``, or from the settings and the time) and the process.

    The spec is kept beside the runs as ``<study>.sweep.yaml`` and the sweep's own output as
    ``<study>.sweep.log``; its trials are the runs ``<study>-0``, ``<study>-1``, ...; more trials
    are added from a shell with ``digitnet sweep <study>.sweep.yaml --study <study>``.
    """
    import yaml

    spec.values()  # the first bad field, in one sentence
    root = Path(root)
    # a made-up name leaves room for the trials' numbers: <study>-<n> is at most 100 characters
    study = spec.name or f"{spec.describe()[:70]}-{time.strftime('%Y%m%d-%H%M%S')}"
    spec_path = root / f"{study}.sweep.yaml"
    taken = [spec_path, root / f"{study}.optuna.log", root / f"{study}-0"]
    if any(os.path.lexists(path) for path in taken):
        raise BadSetting(
            f"a sweep named {study} already exists; pick another name, or add trials to it from "
            f"a shell: digitnet sweep {spec_path} --study {study}."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(spec_path, yaml.safe_dump(spec.sweep_spec(), sort_keys=False))
    except OSError as error:
        raise write_failed(root, error) from None
    args = ["sweep", str(spec_path), "--trials", str(int(spec.trials)), "--study", study]
    return study, spawn([*args, "--checkpoints_dir", str(root)], root / f"{study}.sweep.log")


def resume(
    run_dir: Path, max_epochs: int | None = None, spare: Spare | None = None
) -> subprocess.Popen:
    """Continue a stopped run from its ``last.ckpt``, in place (to ``max_epochs`` where given).

    The run is named by the path of its checkpoint, never by its name: a run named like a word
    ``--ckpt_path`` reads another way (``last``) could otherwise resume a different run.
    """
    lock.check_real_folder(run_dir)
    if not untrusted.is_regular(RunFolder(run_dir).last_ckpt):
        raise BadSetting(f"run {run_dir.name} has no last.ckpt to resume from.")
    return start_process(
        [
            "fit",
            "--ckpt_path",
            str(RunFolder(Path(run_dir).absolute()).last_ckpt),
            "--checkpoints_dir",
            str(run_dir.parent),
            *(["--trainer.max_epochs", str(max_epochs)] if max_epochs else []),
            *QUIET,
        ],
        run_dir,
        spare,
    )


def reap(processes: list[subprocess.Popen]) -> None:
    """Drop the processes that ended from ``processes`` (waiting on them: no zombies left)."""
    processes[:] = [p for p in processes if p.poll() is None]


def cancel(run_dir: Path) -> None:
    """Ask a run to stop after its current step and save a resumable checkpoint."""
    if untrusted.is_real_dir(
        RunFolder(run_dir).cancel
    ):  # anything else is replaced, never written to
        raise RunError(
            f"run {run_dir.name} cannot be cancelled: its cancel is a folder, not a file; delete "
            f"{run_dir / 'cancel'}, or stop the run's process (kill -TERM its pid)."
        )
    try:
        atomic_write_text(RunFolder(run_dir).cancel, "cancel requested by the dashboard\n")
    except OSError as error:
        raise write_failed(run_dir, error) from None


def process_alive(pid: object, host: object = None, since: object = None) -> bool:
    """Whether process ``pid`` on ``host`` still runs (a zombie, killed but not reaped, does not).

    ``since`` is a time the process is known to have run at (Unix seconds: when it wrote its
    status): a process of that number started after it is another one that got the number
    again, not the run's. A process on another machine cannot be checked from here, so its
    status is trusted.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if host and host != socket.gethostname():
        return True
    import psutil  # here, not at the top: `digitnet runs` needs it only for a running run

    try:
        process = psutil.Process(pid)
        if isinstance(since, (int, float)) and process.create_time() > since + 1.0:
            return False  # the number was given to a newer process
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
