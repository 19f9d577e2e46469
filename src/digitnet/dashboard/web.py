"""Provides :func:`serve`: the dashboard in a browser, through textual-serve.

For a class or a lab where people watch a shared training server from their laptops: each
browser that opens the page gets a dashboard of its own, run by this machine over the same run
folders. Bound to this machine only (``127.0.0.1``) unless ``--host`` says otherwise, and
read-only unless started with ``--allow_actions``: whoever reaches the port could otherwise start,
cancel, resume, rename and delete runs. Imports neither torch nor textual until it serves.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from digitnet.errors import BadSetting


def command(root: Path, allow_actions: bool) -> list[str]:
    """What each browser's dashboard runs: ``digitnet dashboard`` over ``root``, read-only unless
    actions are allowed.

    >>> command(Path("checkpoints"), False)[-3:]
    ['--checkpoints_dir', 'checkpoints', '--read_only']
    """
    from digitnet.runs.process import digitnet_command

    args = ["dashboard", "--checkpoints_dir", str(root)]
    return digitnet_command([*args, *([] if allow_actions else ["--read_only"])])


def serve(root: Path, host: str, port: int, allow_actions: bool) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise BadSetting(
            "digitnet dashboard --web needs textual-serve; install it with pip install "
            "textual-serve."
        ) from None
    if not 0 < port < 65536:
        raise BadSetting(f"--port must be from 1 to 65535, got {port}.")
    mode = "actions allowed" if allow_actions else "read-only"
    print(f"digitnet dashboard on http://{host}:{port} ({mode}); Ctrl-C stops it", file=sys.stderr)
    Server(shlex.join(command(root, allow_actions)), host=host, port=port, title="digitnet").serve()
    return 0
