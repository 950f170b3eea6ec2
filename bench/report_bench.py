"""Benchmark: the methods report (issue 20) on 200 documents with 20,000 codings.

Set-up (not timed): ``export_bench.build`` (200 generated transcripts of about 2,500 words
with role and school attributes, the CIC codebook, 20,000 codings by ana and ben, SQLite),
then one revealed round with every document assigned to both coders and one codebook edit.
Each step runs in its own freshly spawned process, best of three runs, as the lead:

* ``baseline: compute_agreement``: the round's agreement with 95% bootstrap intervals
  (1,000 resamples), as the report computes it;
* ``saturation``: :func:`coding.report.saturation.project_saturation` (all coders, leaf codes);
* ``methods report (data)``: :func:`coding.report.methods.methods_report`;
* ``methods report DOCX`` / ``Markdown``: the same, then written.

Ratio: each step against compute_agreement measured in this run. Goal: the report in at most
10 s, peak RSS under 1 GB.

Run: ``.venv/bin/python bench/report_bench.py`` from the repository root. Prints a table; it
is not a timed test (DESIGN.md, How we know it works).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_bench import GOAL_MB, REPEATS, _maxrss_mb, _session, build  # noqa: E402

GOAL_S = 10.0


def prepare(db: str) -> dict:
    """The bench project, a revealed round of both coders on every document, a codebook edit."""
    from coding.codebook.edits import edit_code
    from coding.codebook.tree import code_tree
    from coding.team.members import members
    from coding.work.documents import list_documents
    from coding.work.rounds import assign, open_round, reveal

    info = build(db)
    store, _, _, _ = _session(db)
    with store.session() as s:
        from coding.team.projects import get_project
        from coding.team.members import Member, get_member
        p = get_project(s, "bench")
        lead = Member.of(get_member(s, p, "lead"))
        coders = [c for c in members(s, p) if c.name in ("ana", "ben")]
        rnd = open_round(s, p, lead, "Round 1", blind=True)
        assign(s, p, lead, rnd, list_documents(s, p), coders)
        reveal(s, p, lead, rnd)
        first = next(i for i in code_tree(s, p).infos if i.codable)
        edit_code(s, p, lead, first.id, definition="Revised after round 1.")
    store.dispose()
    return info


def step_agreement(db: str) -> int:
    from coding.agreement.project import compute_agreement
    from coding.work.documents import list_documents

    store, s, p, lead = _session(db)
    rep = compute_agreement(s, p, ["ana", "ben"], member=lead, documents=[d.name for d in list_documents(s, p)],
                            n_boot=1000)
    store.dispose()
    return len(rep.rows)


def step_saturation(db: str) -> int:
    from coding.report.saturation import project_saturation

    store, s, p, lead = _session(db)
    res = project_saturation(s, p, lead)
    store.dispose()
    return len(res.order)


def _report(db: str, fmt: str | None) -> int:
    from coding.report.methods import methods_report
    from coding.report.methods_render import to_docx, to_markdown

    store, s, p, lead = _session(db)
    rep = methods_report(s, p, lead)
    out = to_docx(rep) if fmt == "docx" else to_markdown(rep) if fmt == "md" else b""
    store.dispose()
    return len(out)


STEPS = {
    "baseline: compute_agreement": step_agreement,
    "saturation": step_saturation,
    "methods report (data)": lambda db: _report(db, None),
    "methods report DOCX": lambda db: _report(db, "docx"),
    "methods report Markdown": lambda db: _report(db, "md"),
}


def _run(name: str, db: str) -> dict:
    rss_before = _maxrss_mb()
    times, n = [], 0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        n = STEPS[name](db)
        times.append(time.perf_counter() - t0)
    return {"seconds": min(times), "n": n, "rss_before": rss_before, "rss_peak": _maxrss_mb()}


def main() -> None:
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="report_bench_") as tmp:
        db = str(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        with ctx.Pool(1) as pool:
            info = pool.apply(prepare, (db,))
        built = time.perf_counter() - t0
        load_before = os.getloadavg()[0]
        results = {}
        for name in STEPS:
            with ctx.Pool(1) as pool:
                results[name] = pool.apply(_run, (name, db))
            print(f"  {name}: {results[name]['seconds']:.3f} s", file=sys.stderr, flush=True)
    print(f"load average (1 min) before the steps {load_before:.1f}, after {os.getloadavg()[0]:.1f}, on "
          f"{os.cpu_count()} cores")
    print(f"project: {info['documents']} transcripts ({info['characters'] / 1e6:.1f} M characters), "
          f"{info['codings']:,} codings by 2 coders, one revealed round on all documents, SQLite "
          f"(built in {built:.1f} s, not timed)")
    print(f"seconds: best of {REPEATS} runs, each step in its own spawned process; x baseline: seconds / "
          "compute_agreement's (with 1,000 bootstrap resamples); peak RSS = ru_maxrss of the step's process")
    header = f"{'step':<30} | {'seconds':>7} | {'x baseline':>10} | {'peak RSS MB':>11} | goal"
    print(header)
    print("-" * len(header))
    base = results["baseline: compute_agreement"]["seconds"]
    missed = []
    for name, r in results.items():
        report = name.startswith("methods report")
        ok = (not report or r["seconds"] <= GOAL_S) and r["rss_peak"] < GOAL_MB
        if not ok:
            missed.append(name)
        goal = f"<= {GOAL_S:g} s, < 1 GB" if report else "< 1 GB"
        print(f"{name:<30} | {r['seconds']:7.3f} | {r['seconds'] / base:9.2f}x | {r['rss_peak']:11.0f} | "
              f"{goal}: {'met' if ok else 'NOT met'}")
    print()
    print("every goal met" if not missed else f"goals NOT met: {', '.join(missed)}")


if __name__ == "__main__":
    main()
