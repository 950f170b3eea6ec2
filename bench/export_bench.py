"""Benchmark: retrieving and exporting coded excerpts from a large project (issue 10).

Set-up (not timed): a fresh SQLite project in local mode with the CIC codebook
(``codebooks/cic.yaml``), 200 generated transcripts of about 2,500 words
(Interviewer/participant turns, accented words, an emoji now and then) stored
through :func:`coding.work.documents.store_document`, participant attributes (role
among five, school among forty) through :func:`coding.work.documents.import_attributes`,
and 20,000 codings (100 per document, half by ana, half by ben, every fifth with
a memo) inserted in bulk. Then each step below runs in its own freshly spawned
process, best of three runs, as the lead:

* ``baseline: raw SQL, filtered`` (sqlite3): the filtered excerpts straight from
  SQL: codings of the parent code and its sub-codes in documents whose role is
  Principal, joined to their document, quote cut by ``substr``; no ORM, no checks;
* ``excerpts query, filtered``: :func:`coding.exporting.excerpts.excerpts` with
  the same filter (code ``CIC Project/Collaboration between teachers`` with its
  sub-codes, ``role = Principal``); goal at most 0.5 s;
* ``excerpts query, all``: the same query without filters (every excerpt);
* ``baseline: csv module, all rows``: the excerpt rows (read before the clock
  starts) written with the csv module, no neutralisation;
* ``export XLSX, all excerpts``: :func:`coding.exporting.exports.export`
  (query, then the writer), goal at most 5 s;
* ``export DOCX quote bank, all``: the same for the quote bank (default: one quote per passage,
  ana's and ben's overlapping codings of a code merged; memos), goal at most 10 s;
* ``DOCX quote bank, every option``: with the table of contents, the other codes on each
  passage, document variables and memos (issue 16), goal at most 10 s;
* ``export CSV, all excerpts`` and ``code x role matrix (CSV)`` for reference.

Ratios: the query steps against the raw SQL baseline, the export steps against
the csv-module baseline, both measured in this run. Memory: ``ru_maxrss`` of the
step's own process (peak RSS; goal under 1 GB), and how far the step raised it.

Run: ``.venv/bin/python bench/export_bench.py`` from the repository root. Prints
a table; it is not a timed test (DESIGN.md, How we know it works).
"""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = 20250301
N_DOCS = 200
N_CODINGS = 20_000
WORDS_PER_DOC = 2_500
REPEATS = 3
PARENT = "CIC Project/Collaboration between teachers"
ROLES = ("Principal", "Teacher", "Special educator", "UTP head", "Non-participating teacher")
GOALS = {"excerpts query, filtered": 0.5, "export XLSX, all excerpts": 5.0, "export DOCX quote bank, all": 10.0,
         "DOCX quote bank, every option": 10.0}
GOAL_MB = 1024

WORDS = ("we planned the lesson together and observed each other teaching fractions then the principal "
         "joined our sessions with materials and the team refined the evidence from students because "
         "collaboration between schools helped us share results every week with colleagues").split()
ACCENTED = ("José", "niños", "año", "reunión", "colaboración", "educación", "Concepción", "👏")


def make_transcript(i: int) -> str:
    rng = random.Random(SEED * 1_000 + i)
    turns, words, k = [], 0, 0
    while words < WORDS_PER_DOC:
        who = "Interviewer" if k % 2 == 0 else ROLES[i % len(ROLES)]
        n = rng.randint(10, 30) if k % 2 == 0 else rng.randint(60, 220)
        body = " ".join(rng.choice(ACCENTED) if rng.random() < 0.03 else rng.choice(WORDS) for _ in range(n))
        turns.append(f"{who}: {body.capitalize()}.")
        words += n
        k += 1
    return "\n\n".join(turns) + "\n"


def build(db: str) -> dict:
    """The project, through the engine; the codings in bulk (set-up only)."""
    from sqlalchemy import insert, select

    from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
    from coding.work.documents import import_attributes, store_document
    from coding.team.projects import add_member, create_project
    from coding.team.members import Member, get_member
    from coding.store import Store
    from coding.store.models import Coding, Document
    from coding.store.models import new_id

    store = Store(f"sqlite:///{db}")
    with store.session() as s:
        p = create_project(s, "bench", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(Path(__file__).resolve().parents[1] / "codebooks" / "cic.yaml"),
                        member=lead)
        coders = [add_member(s, p, n, "coder", actor=lead).id for n in ("ana", "ben")]
        rows = ["document,role,school"]
        for i in range(N_DOCS):
            name = f"P{i:03d}_interview"
            store_document(s, p, name, f"{name}.txt", make_transcript(i).encode(), actor=lead)
            rows.append(f"{name},{ROLES[i % len(ROLES)]},School {i % 40 // 10 + 1}_{i % 10}")
        import_attributes(s, p, "attributes.csv", "\n".join(rows).encode(), actor=lead)
        codable = [i.id for i in code_tree(s, p).infos if i.codable]
        docs = s.execute(select(Document.id, Document.length).where(Document.project_id == p.id)).all()
        rng = random.Random(SEED)
        codings = []
        for k in range(N_CODINGS):
            doc_id, length = docs[k % len(docs)]
            start = rng.randrange(0, length - 700)
            codings.append({"id": new_id(), "project_id": p.id, "document_id": doc_id,
                            "code_id": rng.choice(codable), "coder_id": coders[k % 2], "start": start,
                            "end": start + rng.randint(40, 600), "memo": f"memo {k}: =why" if k % 5 == 0 else "",
                            "provenance": "typed", "layer": "coder"})
        s.execute(insert(Coding), codings)
        chars = sum(length for _, length in docs)
    store.dispose()
    return {"documents": len(docs), "codings": len(codings), "characters": chars, "codes": len(codable)}


# --- the steps (each runs in a fresh process) -------------------------------------------

def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _session(db: str):
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member
    from coding.store import Store

    store = Store(f"sqlite:///{db}")
    s = store.session(write=False).__enter__()
    p = get_project(s, "bench")
    return store, s, p, Member.of(get_member(s, p, "lead"))


def step_raw_sql(db: str) -> tuple[int, int]:
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute(
        "WITH RECURSIVE t(id) AS (SELECT c.id FROM codes c WHERE c.name = ? AND c.parent_id = "
        "(SELECT id FROM codes WHERE name = ? AND parent_id IS NULL) "
        "UNION ALL SELECT c.id FROM codes c JOIN t ON c.parent_id = t.id) SELECT id FROM t",
        (PARENT.split("/")[1], PARENT.split("/")[0]))]
    marks = ",".join("?" * len(ids))
    rows = con.execute(
        f"SELECT c.id, d.name, c.start, c.\"end\", substr(d.text, c.start + 1, c.\"end\" - c.start), c.memo "
        f"FROM codings c JOIN documents d ON d.id = c.document_id "
        f"JOIN attributes a ON a.document_id = d.id AND a.name = 'role' AND a.value = 'Principal' "
        f"WHERE c.code_id IN ({marks}) ORDER BY d.name, c.start", ids).fetchall()
    con.close()
    return len(rows), sum(len(r[4]) for r in rows)


def step_query_filtered(db: str) -> tuple[int, int]:
    from coding.exporting.excerpts import excerpts

    store, s, p, lead = _session(db)
    es = excerpts(s, p, lead, codes=[PARENT], attributes={"role": ["Principal"]})
    store.dispose()
    return len(es), sum(len(e.text) for e in es)


def step_query_all(db: str) -> tuple[int, int]:
    from coding.exporting.excerpts import excerpts

    store, s, p, lead = _session(db)
    es = excerpts(s, p, lead)
    store.dispose()
    return len(es), sum(len(e.text) for e in es)


def _export(db: str, what: str, fmt: str, **kw) -> tuple[int, int]:
    from coding.exporting.exports import export

    store, s, p, lead = _session(db)
    out = export(s, p, lead, what, fmt, **kw)
    store.dispose()
    return N_CODINGS, len(out.data)


def step_xlsx(db: str):
    return _export(db, "excerpts", "xlsx")


def step_docx(db: str):
    return _export(db, "quotes", "docx", memos=True)


def step_docx_options(db: str):
    from coding.exporting.quote_bank import BankOptions

    return _export(db, "quotes", "docx", bank=BankOptions(memos=True, toc=True, other_codes=True, variables=True))


def step_csv(db: str):
    return _export(db, "excerpts", "csv")


def step_matrix(db: str):
    from coding.exporting.exports import MatrixSpec

    return _export(db, "matrix", "csv", matrix=MatrixSpec(kind="attribute", attribute="role"))


STEPS = {
    "baseline: raw SQL, filtered": (step_raw_sql, "sql"),
    "excerpts query, filtered": (step_query_filtered, "sql"),
    "excerpts query, all": (step_query_all, "sql"),
    "baseline: csv module, all rows": (None, "csv"),
    "export CSV, all excerpts": (step_csv, "csv"),
    "export XLSX, all excerpts": (step_xlsx, "csv"),
    "export DOCX quote bank, all": (step_docx, "csv"),
    "DOCX quote bank, every option": (step_docx_options, "csv"),
    "code x role matrix (CSV)": (step_matrix, "csv"),
}


def _csv_rows(db: str) -> list[list]:
    """The rows the excerpt exports write, read before the baseline's clock starts."""
    from coding.exporting.excerpts import excerpts
    from coding.exporting.writers import excerpt_rows

    store, s, p, lead = _session(db)
    header, rows = excerpt_rows(excerpts(s, p, lead))
    store.dispose()
    return [header, *rows]


def _run(name: str, db: str) -> dict:
    """In a fresh spawned process: the best of REPEATS runs of one step."""
    return {"name": name, **time_step(STEPS[name][0], db)}


def time_step(fn, db: str) -> dict:
    """REPEATS runs of ``fn(db)`` (None: the csv module writing every excerpt row, the
    baseline) in this process: best and every time, its (rows, size), RSS before and peak."""
    rows = _csv_rows(db) if fn is None else None
    rss_before = _maxrss_mb()
    times, result = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        if fn is None:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n").writerows(rows)
            result = (len(rows) - 1, len(buf.getvalue().encode("utf-8")))
        else:
            result = fn(db)
        times.append(time.perf_counter() - t0)
    return {"seconds": min(times), "all": times, "n": result[0], "size": result[1],
            "rss_before": rss_before, "rss_peak": _maxrss_mb()}


def main() -> None:
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="export_bench_") as tmp:
        db = str(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        with ctx.Pool(1) as pool:
            info = pool.apply(build, (db,))
        built = time.perf_counter() - t0
        results = {}
        for name in STEPS:
            with ctx.Pool(1) as pool:
                results[name] = pool.apply(_run, (name, db))

    print(f"project: {info['documents']} transcripts ({info['characters'] / 1e6:.1f} M characters), "
          f"{info['codings']:,} codings on {info['codes']} codable codes by 2 coders, SQLite "
          f"(built in {built:.1f} s, not timed); filter: {PARENT} with sub-codes, role = Principal")
    print(f"seconds: best of {REPEATS} runs, each step in its own spawned process; x baseline: seconds / the "
          "baseline's seconds (queries against raw SQL, exports against the csv module); peak RSS = ru_maxrss "
          "of the step's process, +MB = how far the step raised it")
    header = (f"{'step':<32} | {'rows':>6} | {'output':>11} | {'seconds':>7} | {'x baseline':>10} | "
              f"{'peak RSS MB':>11} | {'+MB':>5} | goal")
    print(header)
    print("-" * len(header))
    base = {"sql": results["baseline: raw SQL, filtered"]["seconds"],
            "csv": results["baseline: csv module, all rows"]["seconds"]}
    missed = []
    for name, r in results.items():
        goal = GOALS.get(name)
        ok = goal is None or r["seconds"] <= goal
        ok_mem = r["rss_peak"] < GOAL_MB
        if not (ok and ok_mem):
            missed.append(name)
        unit = "chars" if STEPS[name][1] == "sql" else "bytes"
        size = f"{r['size'] / 1e6:.1f}M {unit}" if r["size"] >= 1e5 else f"{r['size']:,} {unit}"
        goal_text = (f"<= {goal:g} s, < 1 GB: {'met' if ok and ok_mem else 'NOT met'}" if goal
                     else ("< 1 GB: met" if ok_mem else "< 1 GB: NOT met"))
        print(f"{name:<32} | {r['n']:>6,} | {size:>11} | {r['seconds']:7.3f} | "
              f"{r['seconds'] / base[STEPS[name][1]]:9.1f}x | {r['rss_peak']:11.0f} | "
              f"{r['rss_peak'] - r['rss_before']:5.0f} | {goal_text}")
    raw, mine = results["baseline: raw SQL, filtered"], results["excerpts query, filtered"]
    if (raw["n"], raw["size"]) != (mine["n"], mine["size"]):
        raise SystemExit(f"the filtered query and raw SQL differ: {mine['n']} excerpts / {mine['size']} chars "
                         f"vs {raw['n']} / {raw['size']}")
    print()
    print("every goal met" if not missed else f"goals NOT met: {', '.join(missed)}")


if __name__ == "__main__":
    main()
