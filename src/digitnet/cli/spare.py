"""Provides ``digitnet spare``: a process that has done a run's slow start-up (importing torch,
Lightning and digitnet's training code) and waits for the run it will be.

The dashboard keeps one while its New-run form is open (:class:`digitnet.runs.process.Spare`):
Start then hands it the run's arguments and its ``output.log`` as one JSON line on its stdin,
``{"args": ["fit", ...], "log": "checkpoints/RUN/output.log"}``, and the process becomes that run
(its output appended to the log, its stdin /dev/null, its exit status the run's). Start to the
run's first point then skips the seconds the imports take. A spare whose stdin closes without a
line (the form was left, the dashboard quit) exits at once; it is never shown in ``--help``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path


def run_spare(argv: list[str], main: Callable[[list[str]], int]) -> int:
    """Wait for the run, then be it: ``main`` is digitnet's entry point, handed in by it."""
    # the imports a run spends its start-up on, done before the run is known
    import digitnet.cli.lightning_cli  # noqa: F401
    import digitnet.data.module  # noqa: F401
    import digitnet.model.classifier  # noqa: F401
    import digitnet.record.folder  # noqa: F401
    from digitnet import untrusted

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    args, log = request["args"], Path(request["log"])
    if not (isinstance(args, list) and all(isinstance(a, str) for a in args) and args):
        return 2
    with untrusted.open_append(log) as output:  # the run's output from here on
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return main(args)
