"""Benchmark: start-up of the CLI and of the app, against baselines measured in the same run
(issue 19, item 3: ``python -m coding --help`` ≤ 0.3 s, app cold start ≤ 1.5 s).

Commands, each a fresh process, run in turn with their baseline (A B A B ..., after one
warm-up each) so that a comparison holds while the shared machine's speed drifts:

* ``python -m coding --help`` and ``python -m coding documents demo`` (a command that
  opens the database) against ``python -c pass``;
* the app's cold start: ``streamlit run app.py`` on a data folder holding the demo, from
  the process's spawn until Chromium (Playwright) shows the first element the page script
  drew (the project page), against the same for a one-line Streamlit app (Streamlit's own
  floor: its server, the browser, the websocket); timed twice: until the first element
  is drawn and until the page script has finished (the page is complete);
* ``--compare DIR``: the same cold start of another checkout's ``app.py`` (e.g. the tree
  before a change, ``git archive``-d to DIR), interleaved with this one and the floor;
* the imports of the app's first page (``app.py`` as the server imports it, then the
  project page's imports) in a bare interpreter, against ``import streamlit``.

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
PAGE_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# What the server imports before it draws the first page: app.py as a module (st.App), then,
# running app.py as the page script, app_pages.common and the project page's own imports.
FIRST_PAGE_IMPORTS = """
import ast, importlib, sys
sys.path.insert(0, sys.argv[1])
import app
for name in ("app_pages.common", "app_pages.plain", "coding.errors"):
    importlib.import_module(name)
for node in ast.parse(open(sys.argv[1] + "/app_pages/project.py").read()).body[1:]:  # after the docstring
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        break  # the page draws from here: later imports are of what some of its paths draw
    if isinstance(node, ast.ImportFrom) and node.level == 0:
        importlib.import_module(node.module)
    elif isinstance(node, ast.Import):
        for alias in node.names:
            importlib.import_module(alias.name)
"""


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


def run_app(browser, app: Path, env: dict) -> tuple[float, float, float, float]:
    """Spawn ``streamlit run app`` and time it until the page's first element is drawn
    (wall, server CPU) and until its script has finished (wall, server CPU)."""
    port = _free_port()
    cmd = [PY, "-m", "streamlit", "run", str(app), "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=app.parent, env={**env, "PYTHONPATH": str(app.parent)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        page.locator(PAGE_DONE).wait_for(timeout=60_000)
        wall_done = time.perf_counter() - t0
        cpu_done = _proc_cpu(proc.pid)
    finally:
        page.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return wall, cpu, wall_done, cpu_done


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
            "ratio": statistics.median(x / y for x, y in zip(wa, wb, strict=True)),
            "cpu_ratio": statistics.median(x / y for x, y in zip(ca, cb, strict=True))}


def app_rows(browser, apps: dict[str, Path], floor: Path, env: dict, runs: int) -> list[dict]:
    """Cold starts of each app and of the floor app, interleaved (app1 app2 .. floor, ...),
    after one warm-up each: first element and page complete, each against the floor."""
    every = {**apps, "floor": floor}
    for app in every.values():
        run_app(browser, app, env)
    got: dict[str, list] = {k: [] for k in every}
    for _ in range(runs):
        for k, app in every.items():
            got[k].append(run_app(browser, app, env))
    med = lambda k, i: statistics.median(r[i] for r in got[k])
    rows = []
    for k in apps:
        for label, w, c in (("first element drawn", 0, 1), ("page complete", 2, 3)):
            rows.append({"name": f"app cold start, {label}: {k}  vs  one-line Streamlit app",
                         "wall": med(k, w), "cpu": med(k, c), "base_wall": med("floor", w),
                         "base_cpu": med("floor", c),
                         "ratio": statistics.median(a[w] / b[w] for a, b in zip(got[k], got["floor"], strict=True)),
                         "cpu_ratio": statistics.median(a[c] / b[c]
                                                        for a, b in zip(got[k], got["floor"], strict=True))})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=7, help="counted runs of each (default 7)")
    ap.add_argument("--no-app", action="store_true", help="only the CLI (no Streamlit, no Chromium)")
    ap.add_argument("--compare", type=Path, metavar="DIR",
                    help="also the cold start of DIR/app.py (another checkout), interleaved with this one")
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
        pages = [str(REPO)] + ([str(args.compare.resolve())] if args.compare else [])
        for tree in pages:
            rows.append(paired(f"first page's imports ({'this tree' if tree == str(REPO) else tree})  vs  "
                               "import streamlit",
                               lambda t=tree: run_command([PY, "-c", FIRST_PAGE_IMPORTS, t], env),
                               lambda: run_command([PY, "-c", "import streamlit"], env), args.n))
        if not args.no_app:
            from playwright.sync_api import sync_playwright

            floor = Path(tmp) / "floor_app.py"
            floor.write_text("import streamlit as st\nst.write('ready')\n")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                try:
                    apps = {"this tree": REPO / "app.py"}
                    if args.compare:
                        apps[str(args.compare)] = args.compare.resolve() / "app.py"
                    rows += app_rows(browser, apps, floor, env, args.n)
                finally:
                    browser.close()
    print(f"Start-up, medians of {args.n} runs each, interleaved with the baseline (wall and CPU seconds)")
    print("| command vs baseline | wall s | CPU s | baseline wall s | baseline CPU s | ratio wall | ratio CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['wall']:.3f} | {r['cpu']:.3f} | {r['base_wall']:.3f} | {r['base_cpu']:.3f} "
              f"| {r['ratio']:.2f} | {r['cpu_ratio']:.2f} |")
    print("Ratios: medians of the pair-by-pair ratios (each run against the baseline run beside it).")


if __name__ == "__main__":
    main()
