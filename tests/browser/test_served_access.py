"""The app as it is served, under ``streamlit run app.py`` and ``uvicorn app:app``, both
listening on every interface, in a real Chromium:

- every response forbids framing by another site, and the app still renders;
- local single-user mode (the demo) is decided from the connection: a request made on
  this computer may use it, one from another address (or through a proxy) may not, even
  when ``.streamlit/config.toml`` says ``server.address = "127.0.0.1"`` (uvicorn ignores it);
- a sign-in counts against the address the connection really came from: a forged
  ``X-Forwarded-For`` moves nothing unless the operator listed the peer as a proxy.

Chromium does not send a context's extra headers with the WebSocket handshake (where
Streamlit reads the request), so a tiny TCP relay in front of the server writes the
forwarded header into every request, as a hostile client or a proxy would.

The database (a copy of the session's demo + ``harbour``) is what the assertions read.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from coding.team.projects import get_project
from coding.store import Store
from coding.store.models import SessionToken, SignInAttempt

from .coding_helpers import choose, signed_in
from .conftest import stop_server

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
SERVERS = ("streamlit", "uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))  # the servers here listen on every interface
        return s.getsockname()[1]


def _outward_address() -> str | None:
    """An address of this machine that is not loopback (what another computer would use)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # UDP: no packet is sent, the kernel only picks a route
        address = s.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None


@contextlib.contextmanager
def serve(kind: str, db_url: str, extra_env: dict | None = None):
    """Serve app.py on all interfaces (0.0.0.0) from the repository folder, so the
    repository's .streamlit/config.toml applies; yield the port."""
    port = _free_port()
    if kind == "streamlit":
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "0.0.0.0", "--server.port", str(port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "0.0.0.0", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODING_DB_URL": db_url, **(extra_env or {})}
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{kind} did not start:\n{log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield port
    finally:
        stop_server(proc, log)


@contextlib.contextmanager
def page_server(html: str):
    """Serve ``html`` at http://localhost:PORT/ (another origin than 127.0.0.1:app); yield the URL."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def relay(port: int, header: str):
    """A TCP relay on a free loopback port to the server at ``port`` that adds the line
    ``header`` to the head of each connection's first request (a WebSocket handshake
    is a connection of its own); yield the relay's port."""
    listener = socket.create_server(("127.0.0.1", 0))
    open_socks = [listener]

    def pump(src, dst):
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle(client):
        server = socket.create_connection(("127.0.0.1", port))
        open_socks.extend((client, server))
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in head and (data := client.recv(65536)):
                head += data
        line, _, rest = head.partition(b"\r\n")
        server.sendall(line + b"\r\n" + header.encode() + b"\r\n" + rest)
        threading.Thread(target=pump, args=(client, server), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()

    def accept():
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                threading.Thread(target=handle, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        for sock in open_socks:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture(scope="module", params=SERVERS)
def served(request, _team_template, tmp_path_factory):
    """(server kind, port, store) for a copy of the session's demo + harbour database."""
    if not isinstance(_team_template, Path):
        pytest.skip("browser tests run on SQLite")
    path = tmp_path_factory.mktemp(f"served-{request.param}") / "team.db"
    shutil.copy(_team_template, path)
    store = Store(f"sqlite:///{path}", run_migrations=False)
    try:
        with serve(request.param, store.url) as port:
            yield request.param, port, store
    finally:
        store.dispose()


def _attempts(store, project: str) -> list[SignInAttempt]:
    with store.session(write=False) as s:
        p = get_project(s, project)
        return list(s.scalars(select(SignInAttempt).where(SignInAttempt.project_id == p.id)
                              .order_by(SignInAttempt.at)))


def _sessions(store) -> int:
    with store.session(write=False) as s:
        return len(s.scalars(select(SessionToken)).all())


def test_every_response_forbids_framing_and_the_app_still_renders(browser, served):
    kind, port, _ = served
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/", timeout=10) as r:
        index = r.read().decode()
        seen = [r.headers]
    script = re.search(r'src="(\.?/?static/[^"]+\.js)"', index)
    for path in ("/_stcore/health", "/" + script.group(1).lstrip("./") if script else "/_stcore/host-config"):
        with urllib.request.urlopen(f"{base}{path}", timeout=10) as r:
            seen.append(r.headers)
    for headers in seen:
        assert "frame-ancestors 'self'" in (headers.get("Content-Security-Policy") or ""), kind
        assert headers.get("X-Frame-Options") == "SAMEORIGIN", kind

    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(base)
        page.locator(".st-key-common_project input").wait_for(timeout=60_000)  # the app renders
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        # another site (another origin on this computer: Chromium keeps public pages out of
        # local addresses anyway) frames the app and gets nothing from it
        with page_server(f'<iframe id="f" src="{base}/" width="800" height="600"></iframe>') as elsewhere:
            page.goto(elsewhere)
            for _ in range(50):
                if len(page.frames) > 1 and page.frames[1].url.startswith("chrome-error:"):
                    break
                page.wait_for_timeout(200)
            assert page.frames[1].url.startswith("chrome-error:"), page.frames[1].url
            assert page.frame_locator("#f").locator(".st-key-common_project").count() == 0
    finally:
        ctx.close()


def test_local_mode_only_for_a_request_made_on_this_computer(browser, served):
    kind, port, store = served
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no address other than loopback")
    before = _sessions(store)
    # from another address: the demo (local mode) is refused, nothing is stored
    with relay(port, "X-Forwarded-For: 127.0.0.1") as relayed:
        for base in (f"http://{outward}:{port}", f"http://127.0.0.1:{relayed}"):
            ctx = browser.new_context()
            try:
                page = ctx.new_page()
                page.goto(base)
                page.get_by_text("is in local single-user mode").first.wait_for(timeout=60_000)
                assert page.locator(".st-key-common_who").count() == 0, (kind, base)
            finally:
                ctx.close()
    assert _sessions(store) == before and _attempts(store, "demo") == []
    # on this computer: the member signs in by name, and the session is stored
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"http://127.0.0.1:{port}")
        page.locator(".st-key-common_who input").wait_for(timeout=60_000)
        choose(page, "common_who", "ana (coder)")
        page.get_by_role("button", name="Sign in").click()
        signed_in(page)
    finally:
        ctx.close()
    assert [(a.outcome, a.source) for a in _attempts(store, "demo")] == [("ok", "127.0.0.1")]
    assert _sessions(store) == before + 1


def _wrong_sign_in(browser, port: int, forwarded_for: str) -> None:
    """Through a relay that adds ``X-Forwarded-For``: tom with a wrong password on harbour."""
    ctx = browser.new_context()
    try:
        with relay(port, f"X-Forwarded-For: {forwarded_for}") as relayed:
            page = ctx.new_page()
            page.goto(f"http://127.0.0.1:{relayed}")
            page.locator(".st-key-common_project input").wait_for(timeout=60_000)
            choose(page, "common_project", "harbour")
            page.locator(".st-key-common_name input").wait_for(timeout=60_000)
            page.locator(".st-key-common_name input").fill("tom")
            page.locator(".st-key-common_pw input").fill("not the right password")
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("name or password is wrong").first.wait_for(timeout=30_000)
    finally:
        ctx.close()


def test_a_forged_forwarded_for_does_not_move_the_sign_in_limit(browser, served):
    kind, port, store = served
    _wrong_sign_in(browser, port, "203.0.113.9")
    assert [a.source for a in _attempts(store, "harbour")][-1:] == ["127.0.0.1"], kind


def test_a_listed_proxy_forwards_the_right_most_address_it_did_not_add(browser, tmp_path, _team_template):
    if not isinstance(_team_template, Path):
        pytest.skip("browser tests run on SQLite")
    shutil.copy(_team_template, tmp_path / "team.db")
    store = Store(f"sqlite:///{tmp_path / 'team.db'}", run_migrations=False)
    try:
        with serve("uvicorn", store.url, {"CODING_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}) as port:
            # the client wrote 198.51.100.1; proxies at 10.1.1.1 and 127.0.0.1 appended what they saw
            _wrong_sign_in(browser, port, "198.51.100.1, 203.0.113.5, 10.1.1.1")
        assert [a.source for a in _attempts(store, "harbour")] == ["203.0.113.5"]
    finally:
        store.dispose()
