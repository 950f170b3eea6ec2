"""Benchmark: the segment table, framework matrix, coded documents and agreement exports
(issue 16, items 7 and 8) on the project of ``bench/export_bench.py``.

Set-up (not timed): ``export_bench.build``: 200 generated transcripts of about 2,500 words
with role and school attributes, the CIC codebook, 20,000 codings by ana and ben (every
fifth with a memo), SQLite. Each step runs in its own freshly spawned process, best of
three runs, as the lead:

* ``baseline: excerpts query, all``: :func:`coding.exporting.excerpts.excerpts`, the query
  every step below starts with;
* ``baseline: csv module, all rows``: the excerpt rows (read before the clock starts)
  written with the csv module, no neutralisation;
* ``segments CSV|XLSX`` (and XLSX with ``names="spss"``), ``framework XLSX|DOCX|CSV``,
  ``coded documents DOCX (all 200)``:
  :func:`coding.exporting.coded_exports.export_coded` (query, then the writer);
* ``baseline: compute_agreement`` (ana and ben over all 200 documents, character unit, no
  intervals) and
  ``agreement XLSX`` / ``agreement DOCX``: :func:`coding.exporting.agreement_export.export_agreement`
  (the same computation, then the file).

Ratios: the export steps against the csv-module baseline, the agreement files against
compute_agreement, both measured in this run. Goals: a spreadsheet at most 5 s and a
Word file at most 10 s (the goals of the excerpts XLSX and the quote bank), the agreement
files within 1 s of the computation; peak RSS under 1 GB.

Run: ``.venv/bin/python bench/export_kinds_bench.py`` from the repository root. Prints a
table; it is not a timed test (DESIGN.md, How we know it works).
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

from export_bench import GOAL_MB, N_CODINGS, REPEATS, _session, build, time_step  # noqa: E402

GOALS = {"segments CSV": 5.0, "segments XLSX": 5.0, "segments XLSX, SPSS names": 5.0, "framework XLSX": 5.0,
         "framework CSV": 5.0,
         "framework DOCX": 10.0, "coded documents DOCX (all 200)": 10.0}
AGREEMENT_OVER = 1.0  # seconds an agreement file may add to the computation


def step_query(db: str) -> tuple[int, int]:
    from coding.exporting.excerpts import excerpts

    store, s, p, lead = _session(db)
    es = excerpts(s, p, lead, template="")
    store.dispose()
    return len(es), sum(len(e.text) for e in es)


def _coded(db: str, what: str, fmt: str, names: str = "paths") -> tuple[int, int]:
    from coding.exporting.coded_exports import export_coded

    store, s, p, lead = _session(db)
    out = export_coded(s, p, lead, what, fmt, names=names)
    store.dispose()
    return N_CODINGS, len(out.data)


def _documents(s, p) -> list[str]:
    """Every document: the bench's codings alternate coders by document, so each coder
    has coded half of them; named, all count (units a coder left alone: not coded)."""
    from coding.work.documents import list_documents

    return [d.name for d in list_documents(s, p)]


def step_agreement(db: str) -> tuple[int, int]:
    from coding.agreement.project import compute_agreement

    store, s, p, lead = _session(db)
    rep = compute_agreement(s, p, ["ana", "ben"], member=lead, ci=False, documents=_documents(s, p))
    store.dispose()
    return len(rep.rows), len(rep.by_document)


def _agreement(db: str, fmt: str) -> tuple[int, int]:
    from coding.exporting.agreement_export import export_agreement

    store, s, p, lead = _session(db)
    out = export_agreement(s, p, lead, fmt, coders=["ana", "ben"], ci=False, documents=_documents(s, p))
    store.dispose()
    return N_CODINGS, len(out.data)


STEPS = {
    "baseline: excerpts query, all": (step_query, "csv"),
    "baseline: csv module, all rows": (None, "csv"),
    "segments CSV": (lambda db: _coded(db, "segments", "csv"), "csv"),
    "segments XLSX": (lambda db: _coded(db, "segments", "xlsx"), "csv"),
    "segments XLSX, SPSS names": (lambda db: _coded(db, "segments", "xlsx", "spss"), "csv"),
    "framework XLSX": (lambda db: _coded(db, "framework", "xlsx"), "csv"),
    "framework DOCX": (lambda db: _coded(db, "framework", "docx"), "csv"),
    "framework CSV": (lambda db: _coded(db, "framework", "csv"), "csv"),
    "coded documents DOCX (all 200)": (lambda db: _coded(db, "document", "docx"), "csv"),
    "baseline: compute_agreement": (step_agreement, "agreement"),
    "agreement XLSX": (lambda db: _agreement(db, "xlsx"), "agreement"),
    "agreement DOCX": (lambda db: _agreement(db, "docx"), "agreement"),
}


def _run(name: str, db: str) -> dict:
    """In a fresh spawned process: the best of REPEATS runs of one step (export_bench's timer)."""
    return {"name": name, **time_step(STEPS[name][0], db)}


def main() -> None:
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="export_kinds_bench_") as tmp:
        db = str(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        with ctx.Pool(1) as pool:
            info = pool.apply(build, (db,))
        built = time.perf_counter() - t0
        results = {}
        load_before = os.getloadavg()[0]
        for name in STEPS:
            with ctx.Pool(1) as pool:
                results[name] = pool.apply(_run, (name, db))
            print(f"  {name}: {results[name]['seconds']:.3f} s", file=sys.stderr, flush=True)

    print(f"load average (1 min) before the steps {load_before:.1f}, after {os.getloadavg()[0]:.1f}, on "
          f"{os.cpu_count()} cores")
    print(f"project: {info['documents']} transcripts ({info['characters'] / 1e6:.1f} M characters), "
          f"{info['codings']:,} codings on {info['codes']} codable codes by 2 coders, SQLite "
          f"(built in {built:.1f} s, not timed)")
    print(f"seconds: best of {REPEATS} runs, each step in its own spawned process; x baseline: seconds / the "
          "baseline's seconds (exports against the csv module, agreement files against compute_agreement); "
          "peak RSS = ru_maxrss of the step's process, +MB = how far the step raised it")
    header = (f"{'step':<32} | {'rows':>6} | {'output':>11} | {'seconds':>7} | {'x baseline':>10} | "
              f"{'peak RSS MB':>11} | {'+MB':>5} | goal")
    print(header)
    print("-" * len(header))
    base = {"csv": results["baseline: csv module, all rows"]["seconds"],
            "agreement": results["baseline: compute_agreement"]["seconds"]}
    missed = []
    for name, r in results.items():
        goal = GOALS.get(name)
        if STEPS[name][1] == "agreement" and not name.startswith("baseline"):
            goal = base["agreement"] + AGREEMENT_OVER
        ok = goal is None or r["seconds"] <= goal
        ok_mem = r["rss_peak"] < GOAL_MB
        if not (ok and ok_mem):
            missed.append(name)
        size = f"{r['size'] / 1e6:.1f}M bytes" if r["size"] >= 1e5 else f"{r['size']:,}"
        goal_text = (f"<= {goal:.3g} s, < 1 GB: {'met' if ok and ok_mem else 'NOT met'}" if goal
                     else ("< 1 GB: met" if ok_mem else "< 1 GB: NOT met"))
        print(f"{name:<32} | {r['n']:>6,} | {size:>11} | {r['seconds']:7.3f} | "
              f"{r['seconds'] / base[STEPS[name][1]]:9.1f}x | {r['rss_peak']:11.0f} | "
              f"{r['rss_peak'] - r['rss_before']:5.0f} | {goal_text}")
    print()
    print("every goal met" if not missed else f"goals NOT met: {', '.join(missed)}")


if __name__ == "__main__":
    main()
