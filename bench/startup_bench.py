"""Benchmark: start-up of the CLI and of the app, against baselines measured in the same run
(issue 19, item 3: ``python -m coding --help`` ≤ 0.3 s, app cold start ≤ 1.5 s).

Commands, each a fresh process, run in turn with their baseline (A B A B ..., after one
warm-up each) so that a comparison holds while the shared machine's speed drifts:

* ``python -m coding --help`` and ``python -m coding documents demo`` (a command that
  opens the database) against ``python -c pass``;
* the app's cold start: ``streamlit run app.py`` on a data folder holding the demo, from
  the process's spawn until Chromium (Playwright) shows the first element the page script
  drew (the project page), against the same for a one-line Streamlit app (Streamlit's own
  floor: its server, the browser, the websocket).

Printed: the median wall seconds of each, its CPU seconds (user + system of the process
and its children: for the app, the server's CPU until the page is drawn), and the median
of the pair-by-pair ratios. Run: ``.venv/bin/python bench/startup_bench.py [-n RUNS]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
FIRST_ELEMENT = "[data-testid='stMain'] [data-testid='stElementContainer']"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_command(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of one whole process."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0, _children_cpu() - cpu0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_app(browser, app: Path, env: dict) -> tuple[float, float]:
    """Spawn ``streamlit run app`` and time it until the page's first element is drawn."""
    port = _free_port()
    cmd = [PY, "-m", "streamlit", "run", str(app), "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = browser.new_page()
    try:
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=5_000)
                break
            except Exception:  # the server is not listening yet
                if proc.poll() is not None or time.perf_counter() - t0 > 60:
                    raise RuntimeError(f"streamlit did not start ({app})") from None
                time.sleep(0.02)
        page.locator(FIRST_ELEMENT).first.wait_for(timeout=60_000)
        wall = time.perf_counter() - t0
        cpu = _proc_cpu(proc.pid)
    finally:
        page.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return wall, cpu


def _proc_cpu(pid: int) -> float:
    """User + system seconds of a running process so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paired(name: str, a, b, runs: int) -> dict:
    a(), b()  # warm-up: the file cache, bytecode
    wa, ca, wb, cb = [], [], [], []
    for _ in range(runs):
        w, c = a()
        wa.append(w), ca.append(c)
        w, c = b()
        wb.append(w), cb.append(c)
    return {"name": name, "wall": statistics.median(wa), "cpu": statistics.median(ca),
            "base_wall": statistics.median(wb), "base_cpu": statistics.median(cb),
            "ratio": statistics.median(x / y for x, y in zip(wa, wb, strict=True))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=7, help="counted runs of each (default 7)")
    ap.add_argument("--no-app", action="store_true", help="only the CLI (no Streamlit, no Chromium)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CODING_DATA_DIR": tmp, "PYTHONPATH": str(REPO)}
        env.pop("CODING_DB_URL", None)
        subprocess.run([PY, "-m", "coding", "demo"], cwd=REPO, env=env, check=True, capture_output=True)
        base = [PY, "-c", "pass"]
        rows.append(paired("python -m coding --help  vs  python -c pass",
                           lambda: run_command([PY, "-m", "coding", "--help"], env),
                           lambda: run_command(base, env), args.n))
        rows.append(paired("python -m coding documents demo  vs  python -c pass",
                           lambda: run_command([PY, "-m", "coding", "documents", "demo"], env),
                           lambda: run_command(base, env), args.n))
        if not args.no_app:
            from playwright.sync_api import sync_playwright

            floor = Path(tmp) / "floor_app.py"
            floor.write_text("import streamlit as st\nst.write('ready')\n")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                try:
                    rows.append(paired("app cold start (first element drawn)  vs  one-line Streamlit app",
                                       lambda: run_app(browser, REPO / "app.py", env),
                                       lambda: run_app(browser, floor, env), args.n))
                finally:
                    browser.close()
    print(f"Start-up, medians of {args.n} runs each, interleaved with the baseline (wall and CPU seconds)")
    print("| command vs baseline | wall s | CPU s | baseline wall s | baseline CPU s | ratio (wall, pairwise median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['wall']:.3f} | {r['cpu']:.3f} | {r['base_wall']:.3f} | {r['base_cpu']:.3f} "
              f"| {r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
