"""Provides :class:`GuardedServer`: textual-serve's server with digitnet's
:class:`~digitnet.dashboard.webguard.Guard` on its page and its WebSocket, and caps on what a
client may ask for.

It overrides the two request handlers textual-serve routes to (``handle_index``,
``handle_websocket``, public methods meant to be overridden), and drives each browser's dashboard
through textual-serve's public ``AppService``: the message loop below is the one place the
terminal size a client asks for is capped.
"""

from __future__ import annotations

import html
import json

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from digitnet.dashboard.webguard import WILDCARDS, Guard, clamp_size

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>digitnet</title></head>
<body style="font-family: monospace; background: #0c181f; color: #e0e0e0; padding: 2em">
<h2>digitnet dashboard</h2><p>{}</p></body></html>"""


def page(status: int, sentence: str) -> web.Response:
    """A plain page holding one sentence, for every refusal."""
    return web.Response(
        status=status, text=PAGE.format(html.escape(sentence)), content_type="text/html"
    )


class GuardedServer(Server):
    """A :class:`textual_serve.server.Server` that serves only its own page (see
    :mod:`digitnet.dashboard.web`) and at most ``max_clients`` dashboards at once."""

    def __init__(self, command: str, guard: Guard, max_clients: int, **options) -> None:
        super().__init__(command, title="digitnet", **options)
        self.guard, self.max_clients, self.clients = guard, max_clients, 0

    def refusal(self, request: web.Request) -> web.Response | None:
        """A 403 page for a request the guard refuses, a 503 one when every place is taken."""
        token = request.query.get("token") or request.cookies.get(self.guard.cookie)
        reason = self.guard.refusal(request.headers, token)
        if reason is not None:
            return page(403, f"Refused: {reason}.")
        if self.clients >= self.max_clients:
            return page(
                503,
                f"This dashboard already serves {self.clients} browsers, the most it serves at "
                "once; close one of them, or restart it with a larger --max_clients.",
            )
        return None

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        if self.host in WILDCARDS:  # the page's WebSocket address: the name this browser used
            self.public_url = f"http://{request.host}"  # (the guard checked it is ours)
        response = await super().handle_index(request)
        response.set_cookie(
            self.guard.cookie, self.guard.token, httponly=True, samesite="Strict", path="/"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1 << 20)
        width, height = clamp_size(request.query.get("width"), request.query.get("height"))
        self.clients += 1
        service: AppService | None = None
        try:
            await websocket.prepare(request)
            service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(width, height)
            await self.relay(websocket, service)
        finally:
            self.clients -= 1
            if service is not None:
                await service.stop()
        return websocket

    async def relay(self, websocket: web.WebSocketResponse, service: AppService) -> None:
        """The browser's keys, mouse and size to its dashboard; anything else ends the session."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, data = json.loads(message.data)
            except (ValueError, TypeError):
                break
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await service.set_terminal_size(*clamp_size(data.get("width"), data.get("height")))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()
