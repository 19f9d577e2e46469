"""The dashboard over the web (textual-serve): bound to this machine, read-only unless asked, and
the run list shown in a real headless browser where one is installed."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.widgets.launch_form import LaunchForm
from digitnet.runs.spec import LaunchSpec
from fake_runs import T0, make_run
from screen import POLL_SECONDS, looked, row_of


async def test_a_read_only_dashboard_changes_nothing(tmp_path):
    run = make_run(tmp_path, "kept", status="cancelled")
    (run / "last.ckpt").write_bytes(b"x")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    app = DashboardApp(tmp_path, clock=lambda: T0, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await looked(pilot)
        for key in ("r", "d", "e", "t", "c"):
            await pilot.press(key)
            await pilot.pause()
            assert len(app.screen_stack) == 1, key  # no question asked
        await pilot.press("n")
        form = app.query_one(LaunchForm)
        form.post_message(LaunchForm.Start(LaunchSpec(epochs="1")))  # Start, however reached
        await pilot.pause()
        assert row_of(app, "kept")["status"] == "■" and app.processes == []
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(root: Path, *options: str) -> tuple[subprocess.Popen, int, str]:
    """``digitnet dashboard --web`` over ``root``, once it listens: the process, its port and the
    link it printed (with its token)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "digitnet", "dashboard", "--web", "--port", str(port),
         "--checkpoints_dir", str(root), *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    link = re.search(r"http://\S+token=\S+", server.stderr.readline()).group(0)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "the server never listened"
            time.sleep(POLL_SECONDS)
    return server, port, link


@pytest.fixture
def served(tmp_path):
    make_run(tmp_path / "checkpoints", "served-run")
    server, port, link = start_server(tmp_path / "checkpoints")
    yield port, link
    server.terminate()
    server.wait(timeout=30)


def fetch(url: str, **headers: str) -> tuple[int, str, dict]:
    """GET ``url``: its status, its text and its headers, whatever the status."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(), dict(refused.headers)


@pytest.mark.subprocess
def test_the_web_dashboard_listens_on_this_machine_only(served):
    served, link = served
    status, html, _ = fetch(link)
    assert status == 200 and "digitnet" in html
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == served
    ]
    assert listening == ["0100007F:" + f"{served:04X}"]  # 127.0.0.1


@pytest.mark.subprocess
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
async def test_a_headless_browser_shows_the_run_list(served, tmp_path):
    """A real Chromium opens the page; its script connects to a dashboard of its own, whose
    screen (drawn by xterm.js on a canvas, so read here from the page's websocket through the
    DevTools protocol) holds the run list."""
    import asyncio
    import base64
    import json

    import aiohttp

    debug = free_port()
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--remote-debugging-port={debug}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{debug}/json/list") as answer:
                        pages = [t for t in await answer.json() if t["type"] == "page"]
                    if pages:
                        break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the browser never listened"
                await asyncio.sleep(POLL_SECONDS)
            async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as cdp:
                await cdp.send_json({"id": 1, "method": "Network.enable"})
                url = served[1]
                await cdp.send_json({"id": 2, "method": "Page.navigate", "params": {"url": url}})
                seen = b""
                deadline = time.monotonic() + 90
                while b"served-run" not in seen:
                    assert time.monotonic() < deadline, "the run list never reached the page"
                    message = json.loads((await cdp.receive(timeout=90)).data)
                    if message.get("method") == "Network.webSocketFrameReceived":
                        frame = message["params"]["response"]
                        data = frame["payloadData"]
                        seen += base64.b64decode(data) if frame["opcode"] == 2 else data.encode()
    finally:
        browser.terminate()
        browser.wait(timeout=30)


@pytest.mark.subprocess
def test_the_page_needs_the_printed_token_and_sets_it_as_a_strict_cookie(served):
    port, link = served
    status, text, _ = fetch(f"http://127.0.0.1:{port}/")
    assert status == 403 and "no valid token" in text
    assert fetch(link.replace("token=", "token=x"))[0] == 403
    status, text, headers = fetch(link)
    assert status == 200 and "SameSite=Strict" in headers["Set-Cookie"]
    token = link.split("token=")[1]
    cookie = f"digitnet-token-{port}={token}"
    assert fetch(f"http://127.0.0.1:{port}/", Cookie=cookie)[0] == 200


@pytest.mark.subprocess
async def test_a_websocket_from_another_origin_or_host_is_refused_even_with_the_token(served):
    """Cross-Site WebSocket Hijacking: any page the user opens may try ws://127.0.0.1:PORT."""
    import aiohttp

    port, link = served
    token = link.split("token=")[1]
    url = f"ws://127.0.0.1:{port}/ws?token={token}&width=80&height=24"
    async with aiohttp.ClientSession() as http:
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": f"http://evil.example:{port}"},
            {"Host": f"evil.example:{port}"},  # DNS rebinding: a hostile name for this machine
        ):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url, headers=headers)
            assert refused.value.status == 403, headers
        with pytest.raises(aiohttp.WSServerHandshakeError):  # its own origin, no token
            await http.ws_connect(url.split("?")[0], headers={"Origin": link.split("/?")[0]})
        origin = f"http://127.0.0.1:{port}"
        async with http.ws_connect(url, headers={"Origin": origin}) as socket_:
            assert (await socket_.receive(timeout=60)).type in (
                aiohttp.WSMsgType.BINARY,
                aiohttp.WSMsgType.TEXT,
            )  # its own page gets a dashboard


@pytest.mark.subprocess
async def test_a_browser_over_the_cap_gets_a_clear_page(tmp_path):
    import aiohttp

    server, port, link = start_server(tmp_path, "--max_clients", "1")
    try:
        token = link.split("token=")[1]
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?token={token}") as first:
                await first.receive(timeout=60)
                status, text, _ = fetch(link)
                assert status == 503 and "the most it serves at once" in text
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.subprocess
def test_a_busy_port_is_one_sentence(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "digitnet", "dashboard", "--web", "--port", str(port),
             "--checkpoints_dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1 port {port}" in done.stderr
