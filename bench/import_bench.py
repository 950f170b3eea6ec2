"""Benchmark: importing 1,000 transcripts of about 3,000 words into SQLite.

A seeded synthetic corpus is written to a temporary folder: 1,000 UTF-8 ``.txt``
interviews of about 3,000 words, alternating ``Interviewer:`` questions and
``Participant:`` answers separated by blank lines, half of them with
``[hh:mm:ss]`` timestamps before the label, with accented words (José, niños,
café...) and some multi-paragraph answers. Then, each in its own freshly
spawned process (so its peak RSS is its own):

* ``baseline: sqlite3 raw text``: read each file, decode UTF-8, one plain
  ``INSERT`` of the text per document, one commit (no parsing, no turns, no ORM);
* ``parse only (no database)``: :func:`coding.importing.parse_transcript` on
  every file (decoding, normalisation, speaker turns), nothing stored;
* ``engine: import_files_committing``: :func:`coding.work.documents.import_files_committing`
  on the folder: each file read and parsed outside any transaction, then stored
  and committed in a transaction of its own (an interrupted import keeps what
  was done);
* ``engine: import_files``: :func:`coding.work.documents.import_files` on the folder
  in one call into a fresh migrated SQLite database (``coding.store.Store``),
  each file in a savepoint, one commit at the end.

Seconds are wall time of that step only (database creation and migrations are
excluded). Peak memory is ``ru_maxrss`` of the method's own process, with how far
the step raised it above the process's peak before the step.

Run: ``.venv/bin/python bench/import_bench.py [--profile]`` (from the repository
root). ``--cli`` instead times whole ``python -m coding import`` commands on 200 real
interviews (the demo's transcripts, copied), as .txt and as .docx (issue 19). When the engine import is under the goal (or with ``--profile``) a
cProfile of the engine import, in another fresh process, is printed too.
Prints a table; it is not a timed test (DESIGN.md, How we know it works).
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing as mp
import pstats
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = 20240917
N_DOCS = 1000
WORDS_PER_DOC = 3000
GOAL_DOCS_PER_S = 100
REPEATS = 3

WORDS = (
    "the we they teachers school students planning together class time project team "
    "meeting session week materials support research cycle question inquiry results learning "
    "colleagues observed lesson feedback principal coordinator unit math reading data "
    "really think because about when then after before always sometimes never very more "
    "much little first second last year month day work working worked help helped "
    "changed changing share shared sharing talk talked talking each other how what why "
    "was were had have has did do does could would should can will it this that these "
    "those our their my your in on at for with from into of to and but so or not"
).split()
ACCENTED = ("José", "niños", "café", "María", "también", "Ñuñoa", "educación", "après",
            "naïve", "São", "Müller", "rôle", "año", "reunión", "Concepción")
FILLERS = ("um,", "you know,", "well,", "I mean,", "like,")


def _sentence(rng: random.Random, n: int) -> str:
    words = []
    for _ in range(n):
        r = rng.random()
        words.append(rng.choice(ACCENTED) if r < 0.03 else rng.choice(FILLERS) if r < 0.06 else rng.choice(WORDS))
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + rng.choice((".", ".", ".", "?", "!"))


def _speech(rng: random.Random, words: int) -> str:
    sentences, total = [], 0
    while total < words:
        n = rng.randint(6, 22)
        sentences.append(_sentence(rng, n))
        total += n
    paragraphs, cut = [], 0
    while cut < len(sentences):  # answers sometimes run over several paragraphs
        step = rng.randint(3, 9)
        paragraphs.append(" ".join(sentences[cut:cut + step]))
        cut += step
    return "\n".join(paragraphs), total


def make_transcript(i: int, seed: int = SEED) -> str:
    rng = random.Random(seed * 100_003 + i)
    stamped = i % 2 == 0
    lines = [f"Interview {i:04d} — School {rng.choice('ABCDEFG')}{rng.randint(1, 9)}, "
             f"{rng.randint(2019, 2024)}", ""]
    words, clock = 0, rng.randint(0, 120)
    while words < WORDS_PER_DOC:
        for label, lo, hi in (("Interviewer", 8, 35), ("Participant", 40, 220)):
            speech, n = _speech(rng, rng.randint(lo, hi))
            prefix = f"[{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}] " if stamped else ""
            lines += [f"{prefix}{label}: {speech}", ""]
            words += n
            clock += n // 2 + rng.randint(1, 8)  # about two words a second
    return "\n".join(lines)


def write_corpus(folder: Path) -> tuple[int, int]:
    """Write the transcripts; returns (files, total bytes)."""
    total = 0
    for i in range(N_DOCS):
        data = make_transcript(i).encode("utf-8")
        (folder / f"P{i:04d}_interview.txt").write_bytes(data)
        total += len(data)
    return N_DOCS, total


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _files(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.txt"))


def method_baseline(folder: str, workdir: str, run: int) -> dict:
    files = _files(folder)
    con = sqlite3.connect(Path(workdir) / f"baseline_{run}.db")
    con.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, name TEXT UNIQUE, text TEXT)")
    con.commit()
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    for f in files:
        con.execute("INSERT INTO documents (name, text) VALUES (?, ?)", (f.stem, f.read_bytes().decode("utf-8")))
    con.commit()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    con.close()
    return {"documents": n, "seconds": seconds, "cpu": cpu, "rss_before": rss_before, "turns": 0}


def method_parse(folder: str, workdir: str, run: int) -> dict:
    from coding.importing import parse_transcript

    files = _files(folder)
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    turns = 0
    for f in files:
        turns += len(parse_transcript(f.name, f.read_bytes()).turns)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"documents": len(files), "seconds": seconds, "cpu": cpu, "rss_before": rss_before, "turns": turns}


def _engine_store(workdir: str, name: str):
    from coding.team.projects import create_project
    from coding.store import Store

    store = Store(f"sqlite:///{workdir}/{name}")
    with store.session() as s:
        create_project(s, "bench", lead_name="lead", local_mode=True)
    return store


def _lead(store):
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member

    with store.session() as s:
        return Member.of(get_member(s, get_project(s, "bench"), "lead"))


def _engine_import(store, folder: str):
    from coding.work.documents import import_files
    from coding.team.projects import get_project

    lead = _lead(store)
    with store.session() as s:
        return import_files(s, get_project(s, "bench"), [folder], actor=lead)


def _engine_import_committing(store, folder: str):
    from coding.work.documents import import_files_committing

    return import_files_committing(store, "bench", [folder], actor=_lead(store))


def method_engine(folder: str, workdir: str, run: int, importer=_engine_import) -> dict:
    from sqlalchemy import func, select

    from coding.store.models import SpeakerTurn

    store = _engine_store(workdir, f"bench_{run}_{importer.__name__}.db")
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    report = importer(store, folder)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if report.failed:
        raise SystemExit(f"engine import failed for {len(report.failed)} file(s): {report.failed[:3]}")
    with store.session() as s:
        turns = s.scalar(select(func.count()).select_from(SpeakerTurn))
    store.dispose()
    return {"documents": len(report.imported), "seconds": seconds, "cpu": cpu, "rss_before": rss_before,
            "turns": turns}


def _sql_timings(engine) -> dict:
    """Time every SQL statement by kind, and count the real SQLite commits among
    them (a statement after which the sqlite3 connection is no longer in a transaction)."""
    from sqlalchemy import event

    acc = {"seconds": {}, "count": {}, "commits": 0}

    def before(conn, cursor, statement, params, context, many):
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):
        words = statement.split()
        kind = " ".join(w for w in words[:4] if not w.startswith("sa_savepoint"))
        if words[0] not in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            kind = " ".join(words[:3])
        acc["seconds"][kind] = acc["seconds"].get(kind, 0.0) + time.perf_counter() - conn.info["bench_t0"]
        acc["count"][kind] = acc["count"].get(kind, 0) + 1
        if not cursor.connection.in_transaction:
            acc["commits"] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    return acc


def _cum(stats: pstats.Stats, file_suffix: str, func: str) -> tuple[int, float]:
    """Calls and cumulative seconds of one profiled function (largest match)."""
    best = (0, 0.0)
    for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
        if name == func and filename.endswith(file_suffix) and ct > best[1]:
            best = (nc, ct)
    return best


def profile_engine(folder: str, workdir: str, top: int = 20) -> str:
    """Where the engine import spends its time: SQL by statement kind (separate,
    unprofiled run), then a cProfile run summarised and listed by own time."""
    store = _engine_store(workdir, "sql_timing.db")
    sql = _sql_timings(store.engine)
    t0 = time.perf_counter()
    _engine_import(store, folder)
    sql_wall = time.perf_counter() - t0
    store.dispose()

    store = _engine_store(workdir, "profile.db")
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    _engine_import(store, folder)
    prof.disable()
    seconds = time.perf_counter() - t0
    store.dispose()

    out = io.StringIO()
    total_sql = sum(sql["seconds"].values())
    out.write(f"SQL statements of one engine import ({sql_wall:.2f} s wall; {total_sql:.2f} s inside SQLite "
              f"= {100 * total_sql / sql_wall:.0f}%); SQLite commits during the import: {sql['commits']:,}\n")
    for kind, secs in sorted(sql["seconds"].items(), key=lambda kv: -kv[1])[:8]:
        out.write(f"  {secs:7.2f} s  {sql['count'][kind]:>6,} x  {kind}\n")
    stats = pstats.Stats(prof, stream=out)
    out.write(f"\ncProfile of one engine import ({seconds:.2f} s with profiling overhead), cumulative seconds:\n")
    for label, file_suffix, func in (
        ("import_files, all of it", "documents.py", "import_files"),
        ("  store_document (per file)", "documents.py", "store_document"),
        ("    parse_transcript (decode, turns)", "formats.py", "parse_transcript"),
        ("    ORM constructors (SpeakerTurn, Document, Event)", "decl_base.py", "_declarative_constructor"),
        ("    Session.flush (unit of work + INSERTs)", "session.py", "flush"),
        ("    log_event", "events.py", "log_event"),
        ("  SessionTransaction.commit (savepoints, final commit)", "session.py", "commit"),
    ):
        calls, cum = _cum(stats, file_suffix, func)
        out.write(f"  {label:<52} {cum:7.2f} s  {calls:>7,} calls\n")
    out.write(f"\ntop {top} functions by own time:\n")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


def method_engine_committing(folder: str, workdir: str, run: int) -> dict:
    return method_engine(folder, workdir, run, _engine_import_committing)


METHODS = {
    "baseline: sqlite3 raw text": method_baseline,
    "parse only (no database)": method_parse,
    "engine: import_files_committing": method_engine_committing,
    "engine: import_files": method_engine,
}


def _run(name: str, folder: str, workdir: str) -> dict:
    """Runs in a fresh spawned process: the best (least wall time) of REPEATS runs."""
    runs = [METHODS[name](folder, workdir, k) for k in range(REPEATS)]
    best = min(runs, key=lambda r: r["seconds"])
    return {"name": name, **best, "rss_before": runs[0]["rss_before"], "rss_peak": _maxrss_mb(),
            "all_seconds": [r["seconds"] for r in runs]}


# --- whole commands on real interviews (issue 19, item 4) ------------------------------
CLI_FILES = 200
CLI_RUNS = 3


def write_real_corpus(folder: Path, n: int = CLI_FILES) -> None:
    """``n`` real interviews as .txt and as .docx: the demo's transcripts (corpora/cic-demo),
    each copy ending with a line of its own (a document's name and text are unique)."""
    import docx

    src = sorted((Path(__file__).resolve().parents[1] / "corpora" / "cic-demo").glob("*.txt"))
    (folder / "txt").mkdir(parents=True)
    (folder / "docx").mkdir()
    for i in range(n):
        f = src[i % len(src)]
        text = f.read_text(encoding="utf-8") + f"\n\nInterviewer: Thank you (session {i}).\n"
        (folder / "txt" / f"{f.stem}_{i:03d}.txt").write_text(text, encoding="utf-8")
        d = docx.Document()
        for para in text.split("\n\n"):
            d.add_paragraph(para.strip())
        d.save(folder / "docx" / f"{f.stem}_{i:03d}.docx")


def _cli_import(folder: Path, kind: str, tmp: str, run: int) -> tuple[float, float, int]:
    """``python -m coding import`` of one folder as a whole process into a fresh project:
    wall seconds, CPU seconds (of the process), documents stored."""
    import subprocess

    db = f"sqlite:///{tmp}/cli-{kind}-{run}.db"
    env = {**__import__("os").environ, "CODING_DB_URL": db}
    cmd = [sys.executable, "-m", "coding"]
    subprocess.run([*cmd, "init", "P", "--local", "--lead", "lead"], env=env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([*cmd, "--as", "lead", "import", "P", str(folder / kind)], env=env, capture_output=True,
                       text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"import failed: {r.stderr[-500:]}")
    with sqlite3.connect(db[len("sqlite:///"):]) as c:
        stored = c.execute("SELECT count(*) FROM documents").fetchone()[0]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, stored


def main_cli() -> None:
    """Whole ``python -m coding import`` commands on 200 real interviews, .txt then .docx."""
    with tempfile.TemporaryDirectory(prefix="import_bench_cli_") as tmp:
        folder = Path(tmp) / "real"
        write_real_corpus(folder)
        rows = []
        for kind in ("txt", "docx"):
            _cli_import(folder, kind, tmp, -1)  # warm-up: file cache, bytecode
            runs = [_cli_import(folder, kind, tmp, i) for i in range(CLI_RUNS)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            rows.append((kind, runs[0][2], wall, cpu))
    print(f"whole command `python -m coding import P FOLDER` into a fresh SQLite project, {CLI_FILES} real "
          f"interviews (corpora/cic-demo, about 2,200 words each), median of {CLI_RUNS} runs")
    print("| files | stored | wall s | CPU s | files/s (wall) | files/s (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, stored, wall, cpu in rows:
        print(f"| .{kind} | {stored} | {wall:.2f} | {cpu:.2f} | {stored / wall:.1f} | {stored / cpu:.1f} |")
    print(f"goal: >= {GOAL_DOCS_PER_S} transcripts/s end to end")


def main() -> None:
    if "--cli" in sys.argv[1:]:
        main_cli()
        return
    profile = "--profile" in sys.argv[1:]
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="import_bench_") as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        t0 = time.perf_counter()
        n_files, n_bytes = write_corpus(folder)
        gen_seconds = time.perf_counter() - t0
        sample = make_transcript(0)
        words = sum(len(make_transcript(i).split()) for i in range(0, N_DOCS, 50)) / len(range(0, N_DOCS, 50))
        results = []
        for name in METHODS:
            with ctx.Pool(1) as pool:
                results.append(pool.apply(_run, (name, str(folder), tmp)))
        engine = results[-1]
        slow = engine["documents"] / engine["seconds"] < GOAL_DOCS_PER_S
        prof_text = None
        if slow or profile:
            with ctx.Pool(1) as pool:
                prof_text = pool.apply(profile_engine, (str(folder), tmp))

    print(f"corpus: {n_files:,} .txt transcripts, {n_bytes / 2**20:.1f} MiB, about {words:,.0f} words each "
          f"(Interviewer/Participant turns, half with [hh:mm:ss] timestamps; seed {SEED}; "
          f"written in {gen_seconds:.1f} s)")
    print(f"first lines of a transcript: {sample.splitlines()[2][:90]!r}")
    print(f"seconds = wall time of the import step alone (no database creation), best of {REPEATS} runs, each "
          "method in its own spawned process; cpu s = CPU time of that best run (wall >> cpu means waiting: "
          "disk syncs or a busy machine)")
    print("ratio vs baseline = method seconds / baseline seconds (how many times slower); memory = ru_maxrss "
          "of the method's process (peak RSS), and how far the import step raised it")
    header = (f"{'method':<28} | {'documents':>9} | {'seconds':>8} | {'cpu s':>6} | {'docs/s':>8} | "
              f"{'ratio vs baseline':>17} | {'peak RSS MB':>11} | {'+MB in step':>11} | {'turns':>7}")
    print(header)
    print("-" * len(header))
    base = results[0]
    for r in results:
        print(f"{r['name']:<28} | {r['documents']:>9,} | {r['seconds']:8.2f} | {r['cpu']:6.2f} | "
              f"{r['documents'] / r['seconds']:8.1f} | {r['seconds'] / base['seconds']:16.1f}x | "
              f"{r['rss_peak']:11.0f} | {r['rss_peak'] - r['rss_before']:11.0f} | {r['turns']:>7,}")
    print(f"engine runs (s): {', '.join(f'{x:.2f}' for x in engine['all_seconds'])}")
    for r in results[1:-1]:
        if r["turns"] != engine["turns"]:
            raise SystemExit(f"turns differ: {r['name']} {r['turns']} vs import_files {engine['turns']}")
    rate = engine["documents"] / engine["seconds"]
    print()
    print(f"goal: engine import >= {GOAL_DOCS_PER_S} documents per second: "
          f"{'met' if rate >= GOAL_DOCS_PER_S else 'NOT met'} ({rate:.1f} docs/s)")
    if prof_text:
        print()
        print(prof_text)


if __name__ == "__main__":
    main()
