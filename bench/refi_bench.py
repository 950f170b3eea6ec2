"""Benchmark: REFI-QDA export and re-import of 200 transcripts with 20,000 codings (issue 11).

A seeded project is built once in a SQLite file (not timed): 200 transcripts of about
3,000 words (``bench/import_bench.py``'s generator), a codebook of 5 folders x 8 codes,
three members (the lead, ana, ben), 20,000 codings (100 per document, on word
boundaries, a tenth of them in the lead's consensus layer, a tenth with a memo) and two
attributes per document. Then, each in its own freshly spawned process (so its peak RSS
is its own), best of ``--repeats`` runs:

* ``export baseline``: the same XML written with the standard library only: ``sqlite3``
  reads the rows, ``xml.etree.ElementTree`` builds the project (users, nested codebook,
  cases, sources with their selections and codings, notes), ``zipfile`` writes the
  ``.qdpx`` with the sources (a selection per span, coder and memo, with its creating
  user and time and the memo as its Description). No positions conversion, no schema
  validation, no access.
* ``export engine``: :func:`coding.interchange.export_qdpx` as the lead (access, blind
  rule, positions, validation against the REFI-QDA XSD).
* ``import baseline``: the engine's ``.qdpx`` read with the standard library only:
  ``zipfile`` + ``ElementTree``, documents and codings inserted with ``sqlite3``
  ``executemany`` into plain tables of a fresh file, one commit.
* ``import engine``: :func:`coding.interchange.import_qdpx` of that file into a new
  project of a fresh migrated database (schema, guid, reference and position checks,
  speaker turns, events), committed. Database creation is not timed.

Goals (issue 11): each way at most 10 s and at most 1 GB peak memory.
Run: ``.venv/bin/python bench/refi_bench.py [--repeats N]`` from the repository root.
Prints a table; it is not a timed test (DESIGN.md, How we know it works).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import random
import resource
import sqlite3
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree as ET

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SEED = 20261129
N_DOCS = 200
N_CODINGS = 20_000
GOAL_SECONDS = 10.0
GOAL_MB = 1024
NS = "urn:QDA-XML:project:1.0"


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- the project (built once, not timed) ------------------------------------------------

def build_project(workdir: str) -> dict:
    from sqlalchemy import select

    from coding.codebook.tree import CodebookFile, CodeNode, import_codebook
    from coding.work.documents import store_document
    from coding.team.projects import add_member, create_project
    from coding.team.members import Member, get_member
    from coding.store import Store
    from coding.store.models import Attribute, Code, Coding, new_id
    from import_bench import make_transcript

    rng = random.Random(SEED)
    store = Store(f"sqlite:///{workdir}/source.db")
    with store.session() as s:
        p = create_project(s, "refi_bench", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        coders = [get_member(s, p, "lead")] + [add_member(s, p, n, actor=lead) for n in ("ana", "ben")]
        nodes = [CodeNode(name=f"Theme {t}", codable=False, definition=f"Folder {t}",
                          children=[CodeNode(name=f"Code {t}.{c}", definition=f"When the talk is about {t}.{c}",
                                             inclusion="explicit mentions", example="\"we planned together\"")
                                    for c in range(1, 9)]) for t in range(1, 6)]
        import_codebook(s, p, CodebookFile("bench", "", nodes), member=lead)
        codes = [c.id for c in s.scalars(select(Code).where(Code.project_id == p.id, Code.codable))]
        rows, chars = [], 0
        for i in range(N_DOCS):
            doc = store_document(s, p, f"P{i:03d}", f"P{i:03d}.txt", make_transcript(i, SEED).encode("utf-8"),
                                 actor=lead)
            chars += doc.length
            s.add(Attribute(document_id=doc.id, name="role", value=rng.choice(("teacher", "principal"))))
            s.add(Attribute(document_id=doc.id, name="school", value=f"S{i % 22:02d}"))
            starts = [k + 1 for k, ch in enumerate(doc.text) if ch == " "]
            seen = set()
            while len(seen) < N_CODINGS // N_DOCS:
                a = rng.choice(starts)
                b = min(a + rng.randint(20, 600), doc.length)
                while b < doc.length and doc.text[b] != " ":
                    b += 1
                k = len(seen)
                coder, layer = (coders[0], "consensus") if k % 10 == 0 else (coders[1 + k % 2], "coder")
                key = (a, b, coder.id, layer, rng.choice(codes))
                if key in seen or b <= a:
                    continue
                seen.add(key)
                rows.append({"id": new_id(), "project_id": p.id, "document_id": doc.id, "code_id": key[4],
                             "coder_id": coder.id, "start": a, "end": b, "layer": layer, "provenance": "typed",
                             "memo": f"memo {k}: why this span" if k % 10 == 3 else ""})
        s.execute(Coding.__table__.insert(), rows)
    store.dispose()
    return {"documents": N_DOCS, "codings": len(rows), "characters": chars}


# --- export --------------------------------------------------------------------------

def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _stamp(stored: str) -> str:
    """A stored timestamp as xs:dateTime in UTC (as the engine writes it)."""
    return stored[:19].replace(" ", "T") + "Z"


def export_baseline(workdir: str, run: int) -> dict:
    """The same project XML and zip with sqlite3, ElementTree and zipfile only."""
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    con = sqlite3.connect(f"{workdir}/source.db")
    (pid, pname), = con.execute("SELECT id, name FROM projects")
    root = ET.Element(_q("Project"), {"name": pname, "origin": "baseline"})
    users = ET.SubElement(root, _q("Users"))
    for cid, name in con.execute("SELECT id, name FROM coders WHERE project_id = ? ORDER BY name", (pid,)):
        ET.SubElement(users, _q("User"), {"guid": cid, "name": name})
    children = defaultdict(list)
    for row in con.execute("SELECT id, parent_id, name, codable, colour, definition FROM codes WHERE project_id = ?"
                           " ORDER BY position, name", (pid,)):
        children[row[1]].append(row)

    def add(into, row):
        el = ET.SubElement(into, _q("Code"), {"guid": row[0], "name": row[2], "isCodable": "true" if row[3] else
                                              "false", "color": row[4]})
        if row[5]:
            ET.SubElement(el, _q("Description")).text = row[5]
        for ch in children.get(row[0], []):
            add(el, ch)

    codes = ET.SubElement(ET.SubElement(root, _q("CodeBook")), _q("Codes"))
    for row in children.get(None, []):
        add(codes, row)
    by_doc = defaultdict(lambda: defaultdict(list))
    for row in con.execute('SELECT document_id, start, "end", id, coder_id, code_id, memo, created_at FROM codings '
                           "WHERE project_id = ?", (pid,)):
        by_doc[row[0]][(row[1], row[2], row[4], row[6] or "")].append(row)  # one selection per span, coder, memo
    sources, notes = {}, []
    se = ET.SubElement(root, _q("Sources"))
    for did, name, text in con.execute("SELECT id, name, text FROM documents WHERE project_id = ? ORDER BY name",
                                       (pid,)):
        sources[f"{did}.txt"] = text.encode("utf-8")
        te = ET.SubElement(se, _q("TextSource"), {"guid": did, "name": name, "plainTextPath": f"internal://{did}.txt"})
        for (a, b, user, memo), cs in sorted(by_doc[did].items()):
            sel = ET.SubElement(te, _q("PlainTextSelection"), {
                "guid": cs[0][3], "name": text[a:b][:60], "startPosition": str(a), "endPosition": str(b),
                "creatingUser": user, "creationDateTime": _stamp(min(c[7] for c in cs))})
            if memo:
                ET.SubElement(sel, _q("Description")).text = memo
            for c in cs:
                ce = ET.SubElement(sel, _q("Coding"), {"guid": c[3], "creatingUser": c[4],
                                                       "creationDateTime": _stamp(c[7])})
                ET.SubElement(ce, _q("CodeRef"), {"targetGUID": c[5]})
                if c[6]:
                    ET.SubElement(ce, _q("NoteRef"), {"targetGUID": c[3]})
                    notes.append((c[3], c[6]))
    ne = ET.SubElement(root, _q("Notes"))
    for g, text in notes:
        ET.SubElement(ET.SubElement(ne, _q("Note"), {"guid": g}), _q("PlainTextContent")).text = text
    ET.register_namespace("", NS)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", xml)
        for n, d in sorted(sources.items()):
            z.writestr(f"sources/{n}", d)
    data = buf.getvalue()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return {"seconds": seconds, "cpu": cpu, "rss_before": rss_before, "bytes": len(data), "xml": len(xml),
            "documents": len(sources), "codings": sum(len(v) for d in by_doc.values() for v in d.values())}


def _lead(store, project: str):
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member

    with store.session() as s:
        return Member.of(get_member(s, get_project(s, project), "lead"))


def export_engine(workdir: str, run: int) -> dict:
    from coding.interchange import export_qdpx
    from coding.team.projects import get_project
    from coding.store import Store

    store = Store(f"sqlite:///{workdir}/source.db", run_migrations=False)
    lead = _lead(store, "refi_bench")
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    with store.session(write=False) as s:
        data = export_qdpx(s, get_project(s, "refi_bench"), lead)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.dispose()
    z = zipfile.ZipFile(io.BytesIO(data))
    xml = z.read("project.qde")
    if run == 0:
        Path(workdir, "engine.qdpx").write_bytes(data)
    return {"seconds": seconds, "cpu": cpu, "rss_before": rss_before, "bytes": len(data), "xml": len(xml),
            "documents": len(z.namelist()) - 1, "codings": xml.count(b"<Coding ")}


# --- import --------------------------------------------------------------------------

def import_baseline(workdir: str, run: int) -> dict:
    """The engine's .qdpx read with zipfile + ElementTree, stored with sqlite3 executemany."""
    data = Path(workdir, "engine.qdpx").read_bytes()
    db = Path(workdir, f"baseline_import_{run}.db")
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE documents (id TEXT PRIMARY KEY, name TEXT UNIQUE, text TEXT);"
                      'CREATE TABLE codings (id TEXT PRIMARY KEY, document_id TEXT, code_id TEXT, user TEXT, '
                      'start INTEGER, "end" INTEGER);')
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    z = zipfile.ZipFile(io.BytesIO(data))
    root = ET.fromstring(z.read("project.qde"))
    docs, codings = [], []
    for te in root.iter(_q("TextSource")):
        name = te.get("plainTextPath").removeprefix("internal://")
        text = z.read(f"sources/{name}").decode("utf-8")
        docs.append((te.get("guid"), te.get("name"), text))
        for sel in te.iter(_q("PlainTextSelection")):
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            for c in sel.iter(_q("Coding")):
                codings.append((c.get("guid"), te.get("guid"), c.find(_q("CodeRef")).get("targetGUID"),
                                c.get("creatingUser"), a, b))
    con.executemany("INSERT INTO documents VALUES (?, ?, ?)", docs)
    con.executemany("INSERT INTO codings VALUES (?, ?, ?, ?, ?, ?)", codings)
    con.commit()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return {"seconds": seconds, "cpu": cpu, "rss_before": rss_before, "bytes": len(data), "xml": 0,
            "documents": len(docs), "codings": len(codings)}


def import_engine(workdir: str, run: int) -> dict:
    from sqlalchemy import func, select

    from coding.interchange import import_qdpx
    from coding.team.projects import create_project, get_project
    from coding.store import Store
    from coding.store.models import Coding, Document

    data = Path(workdir, "engine.qdpx").read_bytes()
    path = Path(workdir, f"engine_import_{run}.db")
    path.unlink(missing_ok=True)
    store = Store(f"sqlite:///{path}")
    with store.session() as s:
        create_project(s, "copy", lead_name="lead", local_mode=True)
    lead = _lead(store, "copy")
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    with store.session() as s:
        report = import_qdpx(s, get_project(s, "copy"), lead, data, "engine.qdpx")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if report.problems:
        raise SystemExit(f"engine import reported problems: {report.problems[:3]}")
    with store.session(write=False) as s:
        docs = s.scalar(select(func.count()).select_from(Document))
        codings = s.scalar(select(func.count()).select_from(Coding))
    store.dispose()
    return {"seconds": seconds, "cpu": cpu, "rss_before": rss_before, "bytes": len(data), "xml": 0,
            "documents": docs, "codings": codings}


METHODS = {
    "export baseline (stdlib)": export_baseline,
    "export engine (export_qdpx)": export_engine,
    "import baseline (stdlib)": import_baseline,
    "import engine (import_qdpx)": import_engine,
}


def _run(name: str, workdir: str, repeats: int) -> dict:
    """In a fresh spawned process: the best (least wall time) of ``repeats`` runs."""
    runs = [METHODS[name](workdir, k) for k in range(repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    return {"name": name, **best, "rss_before": runs[0]["rss_before"], "rss_peak": _maxrss_mb(),
            "all_seconds": [r["seconds"] for r in runs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="refi_bench_") as tmp:
        t0 = time.perf_counter()
        with ctx.Pool(1) as pool:
            built = pool.apply(build_project, (tmp,))
        build_s = time.perf_counter() - t0
        results = []
        for name in METHODS:
            with ctx.Pool(1) as pool:
                results.append(pool.apply(_run, (name, tmp, args.repeats)))

    print(f"project: {built['documents']} transcripts ({built['characters'] / 2**20:.1f} M characters), "
          f"{built['codings']:,} codings by 3 members (a tenth consensus, a tenth with a memo), 40 codes in "
          f"5 folders, 2 attributes per document; seed {SEED}; built in {build_s:.1f} s (not timed)")
    print(f"seconds = wall time of the step alone, best of {args.repeats} runs, each method in its own spawned "
          "process; ratio = engine seconds / the baseline of the same direction measured in this run; peak RSS = "
          "ru_maxrss of the method's process, +MB = how far the step raised it")
    header = (f"{'method':<28} | {'docs':>5} | {'codings':>7} | {'seconds':>7} | {'cpu s':>6} | {'ratio':>6} | "
              f"{'peak RSS MB':>11} | {'+MB in step':>11} | {'file MB':>7}")
    print(header)
    print("-" * len(header))
    base = {}
    for r in results:
        direction = r["name"].split()[0]
        base.setdefault(direction, r)
        print(f"{r['name']:<28} | {r['documents']:>5} | {r['codings']:>7,} | {r['seconds']:7.2f} | {r['cpu']:6.2f} | "
              f"{r['seconds'] / base[direction]['seconds']:5.1f}x | {r['rss_peak']:11.0f} | "
              f"{r['rss_peak'] - r['rss_before']:11.0f} | {r['bytes'] / 2**20:7.1f}")
    print()
    for r in results:
        if "engine" in r["name"]:
            ok = r["seconds"] <= GOAL_SECONDS and r["rss_peak"] <= GOAL_MB
            if r["documents"] != built["documents"] or r["codings"] != built["codings"]:
                ok = False
                print(f"{r['name']}: counts differ from the project ({r['documents']} documents, "
                      f"{r['codings']} codings)")
            print(f"goal {r['name'].split()[0]}: <= {GOAL_SECONDS:.0f} s and <= {GOAL_MB} MB: "
                  f"{'met' if ok else 'NOT met'} ({r['seconds']:.2f} s, {r['rss_peak']:.0f} MB; runs: "
                  f"{', '.join(f'{x:.2f}' for x in r['all_seconds'])})")


if __name__ == "__main__":
    main()
