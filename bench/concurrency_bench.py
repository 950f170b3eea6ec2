"""Benchmark: 20 coders writing at once while two leads edit the codebook.

On a fresh SQLite file and on a fresh database of the PostgreSQL server the tests
use (``bash scripts/postgres.sh`` starts it and prints its URL), in this order:

* ``1 writer alone`` (the baseline): one coder process applies 500 codings, one
  ``Store.run(apply_codes)`` transaction each, as the coding page does;
* ``20 writers + 2 leads``: 20 coder processes apply 500 codings each (every
  tenth one is clicked twice, as a double click or a second tab would) while two
  lead processes keep merging, moving (cycles included), renaming and adding
  codes through :mod:`coding.codebook.edits` and :mod:`coding.codebook.restructure`
  until the coders are done. A coder whose code was merged away is refused,
  reloads the codebook and goes on.

Every process opens its own ``Store``. Afterwards the database is checked:

* **lost**: codings ``apply_codes`` reported saved that are not stored (a merge
  that folded a coding into an identical one records it in its event: not lost);
* **duplicated**: rows beyond the first with the same document, coder, layer,
  span and code;
* **refused**: clear ``CodingError`` refusals, with their reasons below the table;
* **raw DB errors**: anything else that reached a caller (the goal is 0);
* **cycles**: codes not reachable from the top of the tree.

Then a read check (SQLite's choice of write transactions for ``Store.session()``):
a reader thread renders the coding page's data (codebook tree and one document's
codings) for a few seconds while 8 coders write, once in a write session
(``BEGIN IMMEDIATE``, queued behind writers) and once with ``write=False``
(deferred, reading its WAL snapshot beside them), against reads alone.

Then an import check (issue 15, item 8), on a project of its own: the same coders code
(each pausing ``--pause`` s between clicks, as people do) first for ``--baseline-seconds``
with no import (the baseline), then while a lead imports a ``--import-codes`` code
``.qdpx`` (:func:`coding.work.staged_import.import_qdpx_staged`, as the CLI and the Exchange
page do) and then a ``--import-docs`` transcript batch
(:func:`coding.work.documents.import_uploads_committing`, as the Project page does). Reported:
the slowest coding, refusals for a busy database, lost codings, and the import's own
longest write transaction. Goal: no coding over 2 s, 0 refused for busy, 0 lost.

Run: ``.venv/bin/python bench/concurrency_bench.py [--pg URL | --no-pg] [--coders 20] [--codings 500]
[--only-import | --no-import]`` from the repository root. Prints tables with ratios against the baseline measured
in the same run; it is not a timed test (DESIGN.md, How we know it works).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # big_imports: the big files the import check imports

GOAL_SQLITE_PER_S = 200
N_DOCS = 4
DOC_CHARS = 8000
TOP = ("CIC Project", "Implementation factors", "Synthesis")
LEAVES = ("Collaboration", "Within the school", "Between teachers", "Results in students", "Materials",
          "Sessions", "Monitoring", "Enablers", "Barriers", "Challenges", "Learning", "Keep", "Recommendations",
          "Time", "Leadership", "Workload")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_QUOTED = re.compile(r"'[^']*'")


def _reason(exc: BaseException) -> str:
    """An exception as a short reason, with ids and names folded so reasons group."""
    msg = _QUOTED.sub("'…'", _UUID.sub("<id>", str(exc)))
    return f"{type(exc).__name__}: {msg[:110]}"


def _store(url):
    from coding.store import Store

    return Store(url, run_migrations=False)


# --- set-up -------------------------------------------------------------------------

def setup(url: str, n_coders: int, project: str = "bench") -> dict:
    """Project, 2 leads, the coders (and a baseline coder), documents and a codebook."""
    from coding.codebook.edits import add_code
    from coding.team.projects import add_member, create_project
    from coding.team.members import Member, get_member
    from coding.store import Store
    from coding.store.schema import migrate
    from coding.store.engine import make_engine
    from coding.store.models import Document

    engine = make_engine(url)
    migrate(engine)  # a fresh database; PostgreSQL is only migrated explicitly
    engine.dispose()
    store = Store(url)
    rng = random.Random(7)
    with store.session() as s:
        p = create_project(s, project, lead_name="lead0", local_mode=True)
        leads = [Member.of(get_member(s, p, "lead0"))]
        leads.append(Member.of(add_member(s, p, "lead1", "lead", actor=leads[0])))
        coders = [Member.of(add_member(s, p, f"coder{i:02d}", "coder", actor=leads[0]))
                  for i in range(n_coders + 1)]
        docs = []
        for d in range(N_DOCS):
            text = " ".join(rng.choice(("we", "planned", "together", "school", "teachers", "time", "results"))
                            for _ in range(DOC_CHARS // 6))[:DOC_CHARS]
            doc = Document(project_id=p.id, name=f"P{d:02d}", text=text, sha256=f"{d:064d}", length=len(text))
            s.add(doc)
            docs.append(doc)
        s.flush()
        for t in TOP:
            folder = add_code(s, p, leads[0], None, t, codable=False)
            for leaf in LEAVES[TOP.index(t)::3]:
                add_code(s, p, leads[0], folder.id, leaf)
        ids = {"project": p.id, "leads": [m.id for m in leads], "coders": [m.id for m in coders],
               "docs": [(d.id, d.length) for d in docs]}
    store.dispose()
    return ids


def _codable(s, project_id):
    from coding.codebook.tree import code_tree
    from coding.store.models import Project

    return [i.id for i in code_tree(s, s.get(Project, project_id)).infos if i.codable]


# --- workers ------------------------------------------------------------------------

def coder(url: str, ids: dict, index: int, n: int, ready, go, stop, out, pause: float = 0.0, run: int = 0) -> None:
    """Apply ``n`` codings (or until ``stop``), one transaction each; every tenth is applied twice.
    ``pause``: seconds between clicks; ``run``: another run's spans and codes (none repeats an earlier run's)."""
    try:
        from coding.work.codings import apply_codes
        from coding.errors import CodingError
        from coding.team.members import Member
        from coding.store.models import Coder, Document, Project

        store = _store(url)
        rng = random.Random(index + 7919 * run)
        member = store.run(lambda s: Member.of(s.get(Coder, ids["coders"][index])), write=False)
        codes = store.run(lambda s: _codable(s, ids["project"]), write=False)
        saved, lat, raw = [], [], []
        refused: Counter[str] = Counter()
        second_click_skipped = 0
        ready.put(index)
        go.wait()
        t0 = time.time()
        for k in range(n):
            if stop.is_set():
                break
            doc_id, length = ids["docs"][k % N_DOCS]
            start = (10 * (k // N_DOCS) + 5 * run) % (length - 20)
            end = start + 4 + k % 5
            code = rng.choice(codes)
            for click in range(2 if k % 10 == 9 else 1):
                t = time.perf_counter()
                try:
                    made = store.run(lambda s, d=doc_id, c=code, a=start, b=end: [x.id for x in apply_codes(
                        s, s.get(Project, ids["project"]), member, s.get(Document, d), [c], a, b)])
                    if click == 1 and not made:
                        second_click_skipped += 1
                    saved += made
                except CodingError as exc:
                    refused[_reason(exc)] += 1
                    codes = store.run(lambda s: _codable(s, ids["project"]), write=False)
                except Exception as exc:  # a raw database error: what the goal forbids
                    raw.append(_reason(exc))
                lat.append(time.perf_counter() - t)
            if pause:
                time.sleep(pause)
        out.put({"kind": "coder", "index": index, "saved": saved, "refused": refused, "raw": raw, "lat": lat,
                 "t0": t0, "t1": time.time(), "second_click_skipped": second_click_skipped})
        store.dispose()
    except BaseException:
        out.put({"kind": "crash", "index": index, "trace": traceback.format_exc()})
        ready.put(index)


def lead(url: str, ids: dict, index: int, ready, go, stop, out) -> None:
    """Merge, move (cycles attempted), rename and add codes until ``stop``."""
    try:
        from coding.codebook.tree import code_tree
        from coding.codebook.edits import add_code, move_code, rename_code
        from coding.codebook.restructure import merge_codes
        from coding.errors import CodingError
        from coding.team.members import Member
        from coding.store.models import Coder, Project

        store = _store(url)
        rng = random.Random(100 + index)
        member = store.run(lambda s: Member.of(s.get(Coder, ids["leads"][index])), write=False)
        done: Counter[str] = Counter()
        refused: Counter[str] = Counter()
        raw: list[str] = []
        serial = 0
        ready.put(f"lead{index}")
        go.wait()

        def op(s):
            nonlocal serial
            p = s.get(Project, ids["project"])
            tree = code_tree(s, p)
            codable = [i for i in tree.infos if i.codable]
            folders = [i for i in tree.infos if not i.codable]
            serial += 1
            # lead0: merge 40 %, add 30 %, rename 30 %; lead1: move 60 %, rename 25 %, add 15 %.
            r = rng.random()
            action = (("merge" if r < 0.4 else "add" if r < 0.7 else "rename") if index == 0 else
                      ("move" if r < 0.6 else "rename" if r < 0.85 else "add"))
            if action == "merge" and len(codable) <= 8:
                action = "add"
            if action == "merge":
                src, dst = rng.sample(codable, 2)
                merge_codes(s, p, member, src.id, dst.id)
            elif action == "add":
                add_code(s, p, member, rng.choice(folders).id if folders else None, f"New {index}.{serial}")
            elif action == "rename":
                c = rng.choice(tree.infos)
                rename_code(s, p, member, c.id, f"{c.name.split(' #')[0]} #{index}.{serial}")
            else:  # moves anywhere, under its own branch too: those must be refused
                c = rng.choice(tree.infos)
                target = rng.choice([*tree.infos, None])
                move_code(s, p, member, c.id, target.id if target else None)
            return action

        while not stop.is_set():
            try:
                done[store.run(op)] += 1
            except CodingError as exc:
                refused[_reason(exc)] += 1
            except Exception as exc:
                raw.append(_reason(exc))
            time.sleep(0.02)
        out.put({"kind": "lead", "index": index, "done": done, "refused": refused, "raw": raw})
        store.dispose()
    except BaseException:
        out.put({"kind": "crash", "index": f"lead{index}", "trace": traceback.format_exc()})
        ready.put(f"lead{index}")


def run_writers(url: str, ids: dict, coder_indexes: list[int], n: int, leads: int, *,
                during=None, pause: float = 0.0, run: int = 0) -> dict:
    """Start the processes together; wait for the coders, then stop the leads. With
    ``during``, it is called once all are running and the coders are stopped when it returns."""
    ctx = mp.get_context("spawn")
    ready, out, go, stop = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=coder, args=(url, ids, i, n, ready, go, stop, out, pause, run))
             for i in coder_indexes]
    procs += [ctx.Process(target=lead, args=(url, ids, i, ready, go, stop, out)) for i in range(leads)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    t0 = time.time()
    go.set()
    extra = None
    if during is not None:
        time.sleep(0.5)
        try:
            extra = during()
        except BaseException:  # the workers stop too, or they would code on for ever
            stop.set()
            for p in procs:
                p.join(60)
            raise
        stop.set()
    results, n_coders = [], len(coder_indexes)
    while sum(r["kind"] == "coder" for r in results) < n_coders:
        r = out.get(timeout=1800)
        if r["kind"] == "crash":
            stop.set()
            raise RuntimeError(f"worker {r['index']} crashed:\n{r['trace']}")
        results.append(r)
    t1 = max(r["t1"] for r in results)
    stop.set()
    while len(results) < len(procs):
        results.append(out.get(timeout=300))
    for p in procs:
        p.join(60)
    return {"results": results, "seconds": t1 - t0, "during": extra}


# --- checks -------------------------------------------------------------------------

def check(url: str, ids: dict, results: list[dict]) -> dict:
    import json

    from sqlalchemy import func, select

    from coding.codebook.tree import code_tree
    from coding.store.models import Code, Coding, Event, Project

    store = _store(url)
    with store.session(write=False) as s:
        stored = set(s.scalars(select(Coding.id)))
        folded = set()
        for payload in s.scalars(select(Event.payload).where(Event.action == "code.merge")):
            folded |= {d["id"] for d in json.loads(payload).get("dropped", []) if d.get("kept") in stored}
        keys = (Coding.document_id, Coding.coder_id, Coding.layer, Coding.start, Coding.end, Coding.code_id)
        dup = sum(n - 1 for n in s.scalars(select(func.count()).select_from(Coding).group_by(*keys)) if n > 1)
        n_codes = s.scalar(select(func.count()).select_from(Code).where(Code.project_id == ids["project"]))
        reachable = len(code_tree(s, s.get(Project, ids["project"])).infos)
        merges = s.scalar(select(func.count()).select_from(Event).where(Event.action == "code.merge"))
        moves = s.scalar(select(func.count()).select_from(Event).where(Event.action == "code.move"))
    store.dispose()
    saved = [i for r in results if r["kind"] == "coder" for i in r["saved"]]
    return {"lost": sum(1 for i in saved if i not in stored and i not in folded), "dup": dup,
            "cycles": n_codes - reachable, "saved": len(saved), "merges": merges, "moves": moves,
            "folded": len(folded)}


# --- reads beside writers -----------------------------------------------------------

def read_check(url: str, ids: dict, n_writers: int, seconds: float) -> list[tuple]:
    """Coding-page reads per second (and p95 ms) alone, and beside ``n_writers`` coders,
    in a write session and in a ``write=False`` session; with the coders' codings per
    second meanwhile (a read in a write session holds SQLite's write lock while it runs)."""
    from sqlalchemy import select

    from coding.codebook.tree import code_tree
    from coding.store.models import Coding, Project

    store = _store(url)

    def reads(write: bool) -> list[float]:
        lat, stop_at = [], time.time() + seconds
        while time.time() < stop_at:
            t = time.perf_counter()
            with store.session(write=write) as s:
                code_tree(s, s.get(Project, ids["project"]))
                list(s.scalars(select(Coding).where(Coding.document_id == ids["docs"][0][0]).order_by(Coding.start)))
            lat.append(time.perf_counter() - t)
        return lat

    rows = []
    for label, write, busy in (("reads alone", False, False),
                               (f"beside {n_writers} writers, write session (IMMEDIATE)", True, True),
                               (f"beside {n_writers} writers, read session (write=False)", False, True)):
        writes = float("nan")
        if busy:
            run = run_writers(url, ids, list(range(n_writers)), 100_000, 0, during=lambda w=write: reads(w))
            lat = run["during"]
            writes = sum(len(r["saved"]) for r in run["results"] if r["kind"] == "coder") / run["seconds"]
        else:
            lat = reads(write)
        rows.append((label, len(lat), len(lat) / seconds, 1000 * statistics.quantiles(lat, n=20)[18], writes))
    store.dispose()
    return rows


# --- main ---------------------------------------------------------------------------

def _pct(lat: list[float], q: int) -> float:
    return 1000 * statistics.quantiles(lat, n=100)[q - 1] if len(lat) > 1 else float("nan")


def bench(name: str, url: str, n_coders: int, n: int, read_seconds: float) -> tuple[list, Counter, list, list]:
    ids = setup(url, n_coders)
    rows, reasons, raw_all = [], Counter(), []
    base = run_writers(url, ids, [n_coders], n, 0)  # the extra coder, alone
    for label, run, leads in (("1 writer alone", base, 0),
                              (f"{n_coders} writers + 2 leads", run_writers(url, ids, list(range(n_coders)), n, 2), 2)):
        res = run["results"]
        chk = check(url, ids, res)
        coders = [r for r in res if r["kind"] == "coder"]
        lat = [x for r in coders for x in r["lat"]]
        refused = sum(sum(r["refused"].values()) for r in coders)
        raw = [x for r in res for x in r["raw"]]
        for r in res:
            reasons.update({f"{'lead' if r['kind'] == 'lead' else 'coder'} refused: {k}": v
                            for k, v in r["refused"].items()})
        raw_all += raw
        stored = sum(len(r["saved"]) for r in coders)
        rows.append({"db": name, "scenario": label, "stored": stored, "lost": chk["lost"], "dup": chk["dup"],
                     "refused": refused, "raw": len(raw), "cycles": chk["cycles"], "per_s": stored / run["seconds"],
                     "p50": _pct(lat, 50), "p95": _pct(lat, 95),
                     "second": sum(r["second_click_skipped"] for r in coders),
                     "lead_ops": Counter() if not leads else sum((r["done"] for r in res if r["kind"] == "lead"),
                                                                 Counter())})
    reads = read_check(url, ids, min(8, n_coders), read_seconds) if read_seconds else []
    return rows, reasons, raw_all, reads


# --- coding while a lead imports (issue 15, item 8) ---------------------------------------

def _write_transactions(store) -> list[float]:
    """Durations of ``store``'s write transactions from now on (the list fills up)."""
    from sqlalchemy import event

    held: list[float] = []

    def begin(conn):
        if not conn.get_execution_options().get("coding_read_only", False):
            conn.info["bench_t0"] = time.perf_counter()

    def end(conn):
        t0 = conn.info.pop("bench_t0", None)
        if t0 is not None:
            held.append(time.perf_counter() - t0)

    for name, fn in (("begin", begin), ("commit", end), ("rollback", end)):
        event.listen(store.engine, name, fn)
    return held


def lead_imports(url: str, ids: dict, n_codes: int, n_docs: int):
    """The lead's work, as a function for ``run_writers(during=...)``: a ``.qdpx`` of
    ``n_codes`` codes (20 transcripts, 1,000 codings), then ``n_docs`` transcripts.
    The files are made first (not timed)."""
    from tests.big_imports import qdpx, transcripts

    from coding.work.documents import import_uploads_committing
    from coding.team.members import Member
    from coding.work.staged_import import import_qdpx_staged
    from coding.store.models import Coder, Project

    data, batch = qdpx(n_codes, n_docs=20, codings_per_doc=50, seed=15), transcripts(n_docs, seed=16)
    store = _store(url)
    lead = store.run(lambda s: Member.of(s.get(Coder, ids["leads"][0])), write=False)
    project = store.run(lambda s: s.get(Project, ids["project"]).name, write=False)

    def go() -> dict:
        held = _write_transactions(store)
        out = {}
        t = time.perf_counter()
        rep = import_qdpx_staged(store, project, lead, data, "big.qdpx")
        out["qdpx"] = {"seconds": time.perf_counter() - t, "longest": max(held), "transactions": len(held),
                       "codes": rep.codes_created, "codings": sum(rep.codings_by_coder.values())}
        held.clear()
        t = time.perf_counter()
        rep = import_uploads_committing(store, project, batch, actor=lead)
        out["batch"] = {"seconds": time.perf_counter() - t, "longest": max(held), "transactions": len(held),
                        "documents": len(rep.imported), "failed": len(rep.failed)}
        store.dispose()
        return out

    return go


def import_bench(name: str, url: str, n_coders: int, pause: float, baseline_s: float, n_codes: int,
                 n_docs: int) -> tuple[list[dict], dict]:
    """The coders alone for ``baseline_s``, then the same coders while the lead imports."""
    from sqlalchemy import func, select

    from coding.store.models import Code, Document, StagedImport

    ids = setup(url, n_coders, project="imports")
    coders = list(range(n_coders))
    base = run_writers(url, ids, coders, 10**9, 0, during=lambda: time.sleep(baseline_s), pause=pause)
    with_import = run_writers(url, ids, coders, 10**9, 0, during=lead_imports(url, ids, n_codes, n_docs),
                              pause=pause, run=1)
    store = _store(url)
    with store.session(write=False) as s:
        landed = {"codes": s.scalar(select(func.count()).select_from(Code).where(Code.project_id == ids["project"])),
                  "documents": s.scalar(select(func.count()).select_from(Document)
                                        .where(Document.project_id == ids["project"])),
                  "staged left": s.scalar(select(func.count()).select_from(StagedImport))}
    store.dispose()
    rows = []
    for label, run in (("no import (baseline)", base),
                       (f"lead imports {n_codes:,}-code .qdpx + {n_docs} transcripts", with_import)):
        res = run["results"]
        chk = check(url, ids, res)
        coders_ = [r for r in res if r["kind"] == "coder"]
        lat = [x for r in coders_ for x in r["lat"]]
        reasons = Counter()
        for r in coders_:
            reasons.update(r["refused"])
        rows.append({"db": name, "scenario": label, "clicks": len(lat), "stored": chk["saved"], "lost": chk["lost"],
                     "busy": sum(v for k, v in reasons.items() if k.startswith("StorageBusyError")),
                     "refused": sum(reasons.values()), "raw": sum(len(r["raw"]) for r in res),
                     "per_s": len(lat) / run["seconds"], "p50": _pct(lat, 50), "p95": _pct(lat, 95),
                     "max": max(lat), "seconds": run["seconds"]})
    return rows, {**with_import["during"], "landed": landed}


def _print_imports(rows: list[dict], imports: dict, args) -> None:
    print(f"\n{args.coders} coder processes, one coding per click, {args.pause} s between clicks: alone for "
          f"{args.baseline_seconds:.0f} s, then while a lead imports a {args.import_codes:,}-code .qdpx "
          f"(coding.work.staged_import) and then {args.import_docs} transcripts (import_uploads_committing)\n")
    head = ("database", "scenario", "seconds", "clicks", "stored", "lost", "refused busy", "refused other",
            "raw DB err", "clicks/s", "x baseline", "p50 ms", "p95 ms", "x baseline", "slowest s", "x baseline")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    base = {r["db"]: r for r in rows if r["scenario"].startswith("no import")}
    for r in rows:
        b = base[r["db"]]
        print(f"| {r['db']} | {r['scenario']} | {r['seconds']:.0f} | {r['clicks']} | {r['stored']} | {r['lost']} | "
              f"{r['busy']} | {r['refused'] - r['busy']} | {r['raw']} | {r['per_s']:.0f} | "
              f"{r['per_s'] / b['per_s']:.2f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p95'] / b['p95']:.2f} | "
              f"{r['max']:.2f} | {r['max'] / b['max']:.2f} |")
    print("\n| database | lead's import | seconds | write transactions | longest s | stored |")
    print("|---|---|---|---|---|---|")
    for db, imp in imports.items():
        q, bt, landed = imp["qdpx"], imp["batch"], imp["landed"]
        print(f"| {db} | .qdpx, {args.import_codes:,} codes | {q['seconds']:.0f} | {q['transactions']} | "
              f"{q['longest']:.2f} | {q['codes']:,} codes, {q['codings']:,} codings |")
        print(f"| {db} | {args.import_docs} transcripts | {bt['seconds']:.0f} | {bt['transactions']} | "
              f"{bt['longest']:.2f} | {bt['documents']} documents ({bt['failed']} failed) |")
        print(f"| {db} | afterwards in the project | | | | {landed['codes']:,} codes, {landed['documents']} "
              f"documents, {landed['staged left']} staged imports left |")
    busy = [r for r in rows if not r["scenario"].startswith("no import")]
    met = all(r["max"] <= 2.0 and r["busy"] == 0 and r["lost"] == 0 and r["raw"] == 0 for r in busy)
    print(f"\ngoal while importing: no coding over 2 s, 0 refused for busy, 0 lost, 0 raw DB errors: "
          f"{'met' if met else 'NOT MET'}")


def _pg_url(arg: str | None) -> str | None:
    if arg:
        return arg
    try:
        return subprocess.run(["bash", "scripts/postgres.sh"], cwd=REPO, check=True, capture_output=True,
                              text=True, timeout=600).stdout.strip().splitlines()[-1]
    except (subprocess.SubprocessError, OSError, IndexError) as exc:
        print(f"(PostgreSQL not available: {exc}; give --pg URL or --no-pg)", file=sys.stderr)
        return None


def _print_writers(rows, reasons, raws, reads, args) -> None:
    print(f"\n{args.coders} coder processes x {args.codings} codings (every 10th clicked twice) while 2 leads "
          "merge, move, rename and add codes; one transaction per action (Store.run)\n")
    head = ("database", "scenario", "stored", "lost", "dup", "refused", "raw DB err", "cycles", "codings/s",
            "x 1 writer", "p50 ms", "p95 ms")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    base = {r["db"]: r["per_s"] for r in rows if r["scenario"] == "1 writer alone"}
    for r in rows:
        print(f"| {r['db']} | {r['scenario']} | {r['stored']} | {r['lost']} | {r['dup']} | {r['refused']} | "
              f"{r['raw']} | {r['cycles']} | {r['per_s']:.0f} | {r['per_s'] / base[r['db']]:.2f} | "
              f"{r['p50']:.1f} | {r['p95']:.1f} |")
    print()
    for r in rows:
        if r["lead_ops"]:
            ops = ", ".join(f"{k} {v}" for k, v in sorted(r["lead_ops"].items()))
            print(f"{r['db']}: leads did {ops}; second clicks skipped as already stored: {r['second']}")
    if reasons:
        print("\nrefusals (clear CodingErrors), by reason:")
        for k, v in reasons.most_common():
            print(f"  {v:6d}  {k}")
    if raws:
        print("\nRAW DATABASE ERRORS:")
        for k, v in Counter(raws).most_common(10):
            print(f"  {v:6d}  {k}")
    if reads:
        print("\nReads of the coding page's data (codebook tree + one document's codings):\n")
        print("| database | reader | reads | reads/s | x alone | p95 ms | writers' codings/s |")
        print("|---|---|---|---|---|---|---|")
        alone = {r[0]: r[3] for r in reads if r[1] == "reads alone"}
        for db, label, n, per_s, p95, writes in reads:
            print(f"| {db} | {label} | {n} | {per_s:.1f} | {per_s / alone[db]:.2f} | {p95:.1f} | "
                  f"{'' if writes != writes else f'{writes:.0f}'} |")
    contention = [r for r in rows if r["scenario"] != "1 writer alone"]
    ok = all(r["lost"] == 0 and r["dup"] == 0 and r["cycles"] == 0 and r["raw"] == 0 for r in rows)
    sqlite_fast = all(r["per_s"] >= GOAL_SQLITE_PER_S for r in contention if r["db"] == "SQLite")
    print(f"\ngoals: 0 lost, 0 duplicated, 0 cycles, 0 raw DB errors: {'met' if ok else 'NOT MET'}; "
          f"SQLite >= {GOAL_SQLITE_PER_S} codings/s under contention: {'met' if sqlite_fast else 'NOT MET'}")



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", help="PostgreSQL server URL (default: the one scripts/postgres.sh starts)")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--coders", type=int, default=20)
    ap.add_argument("--codings", type=int, default=500)
    ap.add_argument("--read-seconds", type=float, default=5.0, help="0 skips the read check")
    ap.add_argument("--only-import", action="store_true", help="only the import check")
    ap.add_argument("--no-import", action="store_true", help="skip the import check")
    ap.add_argument("--import-codes", type=int, default=100_000)
    ap.add_argument("--import-docs", type=int, default=200)
    ap.add_argument("--pause", type=float, default=0.2, help="import check: seconds between a coder's clicks")
    ap.add_argument("--baseline-seconds", type=float, default=30.0, help="import check: coding with no import")
    args = ap.parse_args()

    rows, reasons, raws, reads = [], Counter(), [], []
    import_rows, imports = [], {}
    tmp = tempfile.TemporaryDirectory(prefix="coding-bench-")
    targets = [] if args.no_sqlite else [("SQLite", f"sqlite:///{tmp.name}/bench.db", None)]
    pg = None if args.no_pg else _pg_url(args.pg)
    if pg:
        from sqlalchemy import create_engine, text

        dbname = f"coding_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{dbname}"'))
        targets.append(("PostgreSQL", pg.rsplit("/", 1)[0] + "/" + dbname, (admin, dbname)))
    try:
        for name, url, _ in targets:
            print(f"running on {name}...", file=sys.stderr, flush=True)
            if not args.only_import:
                r, why, raw, rd = bench(name, url, args.coders, args.codings, args.read_seconds)
                rows += r
                reasons.update({f"{name}: {k}": v for k, v in why.items()})
                raws += [f"{name}: {x}" for x in raw]
                reads += [(name, *x) for x in rd]
            if not args.no_import:
                r, imports[name] = import_bench(name, url, args.coders, args.pause, args.baseline_seconds,
                                                args.import_codes, args.import_docs)
                import_rows += r
    finally:
        for _, _, pgdb in targets:
            if pgdb:
                admin, dbname = pgdb
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
                admin.dispose()
        tmp.cleanup()

    if rows:
        _print_writers(rows, reasons, raws, reads, args)
    if import_rows:
        _print_imports(import_rows, imports, args)

if __name__ == "__main__":
    main()
