"""Provides :class:`Guard`: who may open the browser view's page and WebSocket, and the caps on
what a client may ask for (see :mod:`digitnet.dashboard.web` for why). Imports nothing of
textual-serve, so the rules are tested without a server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from digitnet.errors import BadSetting

MAX_WIDTH, MAX_HEIGHT = 400, 150  # cells: a 4K screen at a small font; 4000x4000 took 900 MB
MAX_CLIENTS = 8  # each browser runs a dashboard process of its own (about 65 MB)
WILDCARDS = {"0.0.0.0", "::", ""}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """The terminal size a client asked for, within 1..MAX_WIDTH by 1..MAX_HEIGHT cells; what is
    not a whole number reads as 80x24.

    >>> clamp_size("4000", 4000), clamp_size("abc", None), clamp_size(120, 40)
    ((400, 150), (80, 24), (120, 40))
    """

    def number(value: object, default: int, most: int) -> int:
        try:
            return max(1, min(int(str(value)), most))
        except ValueError:
            return default

    return number(width, 80, MAX_WIDTH), number(height, 24, MAX_HEIGHT)


def split_host(value: str) -> str:
    """The host name of a ``Host`` header or an origin's netloc, lower case, without the port or
    the brackets of an IPv6 address.

    >>> split_host("127.0.0.1:8000"), split_host("[::1]:8000"), split_host("LocalHost")
    ('127.0.0.1', '::1', 'localhost')
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass
class Guard:
    """Who may open the page and its WebSocket (see the module docstring).

    >>> guard = Guard("127.0.0.1", 8000, token="s3cret")
    >>> guard.refusal({"Host": "127.0.0.1:8000"}, "s3cret") is None
    True
    >>> guard.refusal({"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"}, "s3cret")
    >>> guard.refusal({"Host": "127.0.0.1:8000", "Origin": "http://evil.example"}, "s3cret")
    'this page comes from http://evil.example, not from the dashboard itself'
    >>> guard.refusal({"Host": "evil.example:8000"}, "s3cret")
    'evil.example is not a name of this server'
    >>> guard.refusal({"Host": "127.0.0.1:8000"}, "guess")
    "this link has no valid token; open the link 'digitnet dashboard --web' printed"
    """

    host: str
    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    allowed_origins: tuple[str, ...] = ()
    names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.names = {split_host(self.host), *LOOPBACK} | self.names
        if self.host in WILDCARDS:
            self.names |= own_addresses()
        self.origins = {origin.rstrip("/").lower() for origin in self.allowed_origins}

    @property
    def cookie(self) -> str:
        """The cookie that carries the token: one per port, since cookies ignore ports."""
        return f"digitnet-token-{self.port}"

    @property
    def url(self) -> str:
        """The link to open: the server's address with the token."""
        shown = "127.0.0.1" if self.host in WILDCARDS else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}/?token={self.token}"

    def refusal(self, headers, token: str | None) -> str | None:
        """Why a request with these headers and token is refused, or None to take it."""
        host = split_host(headers.get("Host", ""))
        if host not in self.names:
            return f"{host or 'a request without a Host'} is not a name of this server"
        origin = headers.get("Origin")
        if origin is not None and not self.origin_allowed(origin):
            return f"this page comes from {origin}, not from the dashboard itself"
        if not token or not secrets.compare_digest(token.encode(), self.token.encode()):
            return "this link has no valid token; open the link 'digitnet dashboard --web' printed"
        return None

    def origin_allowed(self, origin: str) -> bool:
        if origin.rstrip("/").lower() in self.origins:
            return True
        parts = urlsplit(origin)
        return (
            parts.scheme in ("http", "https")
            and split_host(parts.netloc) in self.names
            and parts.port == self.port
        )


def own_addresses() -> set[str]:
    """This machine's names and addresses, for a server bound to every network it is on."""
    import socket

    import psutil

    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for addresses in psutil.net_if_addrs().values():
        names |= {a.address.split("%")[0].lower() for a in addresses if a.family in (2, 10)}
    return names


def check_origins(origins: list[str]) -> tuple[str, ...]:
    """``--allowed_origins`` as given, each a scheme and a host (and a port).

    >>> check_origins(["https://lab.example:8443"])
    ('https://lab.example:8443',)
    >>> check_origins(["lab.example"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    digitnet.errors.BadSetting: --allowed_origins lab.example is not an origin; write it as ...
    """
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise BadSetting(
                f"--allowed_origins {origin} is not an origin; write it as a browser does, such "
                "as https://lab.example."
            )
    return tuple(origins)
