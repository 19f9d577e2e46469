"""Provides :func:`serve`: the dashboard in a browser, through textual-serve, and the rules its
server keeps (:class:`Guard`).

For a class or a lab where people watch a shared training server from their laptops: each
browser that opens the page gets a dashboard of its own, run by this machine over the same run
folders. Bound to this machine only (``127.0.0.1``) unless ``--host`` says otherwise, and
read-only unless started with ``--allow_actions``: whoever reaches the port could otherwise start,
cancel, resume, rename and delete runs.

A WebSocket is not bound by the browser's same-origin rule, so any web page the user opens could
connect to ``ws://127.0.0.1:8000`` and drive a dashboard (Cross-Site WebSocket Hijacking). The
server therefore takes a page or a WebSocket only (1) with the secret token that ``--web`` prints
in its link (the page sets it as a ``SameSite=Strict`` cookie, as Jupyter does, so the browser
sends it back on the page's own WebSocket and on no other site's), (2) whose ``Host`` is one of
the server's own names, so a hostile name resolved to this machine (DNS rebinding) gets nothing,
and (3) whose ``Origin``, where a browser sends one, is the server's own or one that
``--allowed_origins`` names. It also caps what a client may ask for: the terminal size and the
number of dashboards at once. Imports neither torch nor textual until it serves.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from digitnet.dashboard.webguard import MAX_CLIENTS, Guard, check_origins
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


def serve(
    root: Path,
    host: str,
    port: int,
    allow_actions: bool,
    allowed_origins: tuple[str, ...] = (),
    max_clients: int = MAX_CLIENTS,
) -> int:
    try:
        from digitnet.dashboard.webserver import GuardedServer
    except ImportError:
        raise BadSetting(
            "digitnet dashboard --web needs textual-serve; install it with pip install "
            "textual-serve."
        ) from None
    if not 0 < port < 65536:
        raise BadSetting(f"--port must be from 1 to 65535, got {port}.")
    if max_clients < 1:
        raise BadSetting(f"--max_clients must be 1 or more, got {max_clients}.")
    guard = Guard(host, port, allowed_origins=check_origins(list(allowed_origins)))
    server = GuardedServer(
        shlex.join(command(root, allow_actions)), guard, max_clients, host=host, port=port
    )
    mode = "actions allowed" if allow_actions else "read-only"
    print(f"digitnet dashboard on {guard.url} ({mode}); Ctrl-C stops it", file=sys.stderr)
    try:
        server.serve()
    except OSError as error:
        raise BadSetting(
            f"cannot listen on {host} port {port} ({error.strerror or error}); pick another "
            "with --port, or another address with --host."
        ) from None
    return 0
