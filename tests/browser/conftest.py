"""Harness for browser tests: a system Chromium driven by Playwright, and Streamlit
apps started on a free local port.

Playwright's own browser download cannot run here, so the tests use the Debian
``chromium`` package at /usr/bin/chromium (or $CHROMIUM_PATH).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real Chromium through Playwright")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(proc: subprocess.Popen, log) -> None:
    """Stop a server started in its own session (SIGTERM, then SIGKILL) and close its log."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    log.close()


@contextlib.contextmanager
def run_streamlit(app_path: str | os.PathLike, env: dict | None = None, port: int | None = None,
                  timeout: float = 60.0) -> Iterator[str]:
    """Run ``streamlit run APP`` headless on 127.0.0.1; yield its base URL; stop it after."""
    port = port or _free_port()
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app_path),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n"
                                   f"{log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f}s:\n"
                                   f"{log.read().decode(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        stop_server(proc, log)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    # The Debian package may still be installing in the background: give it a moment.
    deadline = time.monotonic() + float(os.environ.get("CHROMIUM_WAIT", "0"))
    while not os.access(path, os.X_OK) and time.monotonic() < deadline:
        time.sleep(2)
    if not os.access(path, os.X_OK):
        pytest.skip(f"no Chromium at {path}: install the Debian package `chromium` "
                    "(apt-get install -y chromium) or set CHROMIUM_PATH")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def streamlit_server():
    """The ``run_streamlit`` context manager, for tests that want it as a fixture."""
    return run_streamlit
