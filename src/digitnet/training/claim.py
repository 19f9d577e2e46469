"""Provides the claim of a new run's folder (:func:`claim_run`): made, locked and marked before
anything else is written in it, removed again if the start is refused; and the folder a DDP
worker joins (:func:`joined_run`).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from digitnet.errors import RunError
from digitnet.runs import layout
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder

RUN_DIR_VARIABLE = "DIGITNET_RUN_DIR"


def joined_run() -> Path | None:
    """The run folder of rank 0, in a DDP worker Lightning started (it runs the same script, so
    it calls :func:`train` too): the worker joins that run, whose folder only rank 0 writes."""
    if int(os.environ.get("LOCAL_RANK", "0")) > 0 and os.environ.get(RUN_DIR_VARIABLE):
        return Path(os.environ[RUN_DIR_VARIABLE])
    return None


def claim_run(run_dir: Path | None, chosen: Mapping[str, Any]) -> Path:
    """The new run's folder, made and claimed (:func:`claim_new_run`)."""
    try:
        if run_dir is None:
            run_dir = layout.create_run_dir(
                layout.default_root(), f"{chosen['dataset']}-{chosen['arch']}"
            )
        else:
            layout.check_name(run_dir.name)
            if run_dir.exists() and not run_dir.is_dir():
                raise RunError(f"{run_dir} is a file, not a run folder; pick another folder.")
            run_dir.mkdir(parents=True, exist_ok=True)
        claim_new_run(run_dir)
    except OSError as error:
        if run_dir is not None:
            remove_half_made(run_dir)
        raise RunError(
            f"cannot write the run folder {run_dir} ({error.strerror or error}); pick a folder "
            "you can write."
        ) from None
    return run_dir


def claim_new_run(run_dir: Path) -> None:
    """Make ``run_dir`` a run of this process before anything else is written in it: refused if
    it holds anything but what a dashboard launch leaves, locked, checked again (another process
    may have started it meanwhile), then marked with a ``status.json`` at once. A second process
    given the same name therefore always reads "in use" or "already exists", never "not a
    digitnet run" from a folder caught half-made."""
    runlock.check_new_run_folder(run_dir)  # a folder the dashboard made for this run is fine
    runlock.claim(run_dir)
    runlock.check_new_run_folder(run_dir)
    layout.write_status(
        run_dir, status="running", pid=os.getpid(), host=socket.gethostname(), started=time.time()
    )


def remove_half_made(run_dir: Path) -> None:
    """Remove a new run folder that holds nothing but what claiming it left (its lock, a
    ``status.json``, a temporary file, a ``config.yaml``): a refused or failed start leaves no
    folder behind."""
    runlock.release(run_dir)
    try:
        left = list(run_dir.iterdir())
        folder = RunFolder(run_dir)
        made_here = {runlock.LOCK_NAME, folder.status.name, folder.config.name}
        if all(p.name in made_here or p.name.endswith(".tmp") for p in left) and not any(
            p.name == folder.events.name for p in left
        ):
            for path in left:
                path.unlink(missing_ok=True)
            run_dir.rmdir()
    except OSError:
        pass
