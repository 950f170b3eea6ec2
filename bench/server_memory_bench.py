"""Benchmark: a long coding session on a 300,000-word transcript, rerun by rerun, watching
the process's memory (issue 19, item 2).

The coding page, on every rerun, loads the open document, reads the codings it shows
(``coding_views``), the undo and redo state and the recent codes, and converts offsets
with the document's UTF-16 map; a coded passage is one more rerun that stores it
(``apply_to_selection``). This bench makes those same engine calls, in one long-lived
process as the server is, for ``--codings`` passages (default 600: a selection rerun and
an apply rerun each, with an undo and a redo every 25th), on a seeded 300,000-word
document with speaker turns, a few emoji and accented words, in a fresh SQLite database.

Each mode runs in a freshly spawned process (its RSS is its own):

* ``forced GC`` collects all generations after every rerun, as Streamlit does by default
  (``runner.postScriptGC = true``);
* ``no forced GC`` leaves collection to Python's own thresholds, as
  ``.streamlit/config.toml`` now sets (``runner.postScriptGC = false``).

Printed: RSS (MiB, from /proc) after the set-up and every 100 codings, the growth from
the first checkpoint to the last, and the CPU per rerun (median and p95, ms). What it is
not: the Streamlit runtime itself (its websocket, protobuf deltas, the page's widgets) —
the browser-driven figures of the real server are bench/ui_bench.py's.

Run: ``.venv/bin/python bench/server_memory_bench.py [--codings N] [--words N]``.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = 19
WORDS = ("the we they teachers school students planning together class time project team meeting "
         "session week materials support research question results learning colleagues observed lesson "
         "feedback principal unit reading data really think because about when then after before always "
         "sometimes never very more much first year month day work help changed share talk each other "
         "how what why was were had have did could would should can will it this that our their in on "
         "at for with from into of to and but so or not José niños café María reunión").split()
CODEBOOK = "codes:\n" + "".join(
    f"  - name: Theme {t}\n    codable: false\n    children:\n"
    + "".join(f"      - name: Code {t}.{c}\n" for c in range(6)) for t in range(5))


def make_document(words: int, rng: random.Random) -> str:
    """Alternating Interviewer / Participant turns of seeded sentences, about ``words`` long."""
    turns, total, who = [], 0, 0
    while total < words:
        n = rng.randint(20, 160)
        sentences, left = [], n
        while left > 0:
            k = min(left, rng.randint(6, 22))
            s = " ".join(rng.choice(WORDS) for _ in range(k))
            sentences.append(s[:1].upper() + s[1:] + rng.choice(".....?!") + (" 👏" if rng.random() < 0.01 else ""))
            left -= k
        turns.append(f"{('Interviewer', 'Participant')[who]}: {' '.join(sentences)}")
        total += n
        who ^= 1
    return "\n\n".join(turns) + "\n"


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def session(mode: str, codings: int, words: int, out: mp.Queue) -> None:
    """One coding session in this process; puts its figures on ``out``."""
    from coding.codebook.tree import code_tree, import_codebook, parse_codebook
    from coding.store import Store
    from coding.team.members import Member, get_member
    from coding.team.projects import create_project, get_project
    from coding.text.offsets import utf16_map
    from coding.work.codings import (
        BrowserSelection, apply_to_selection, coding_views, last_redoable, last_undoable, recent_code_ids, redo,
        undo,
    )
    from coding.work.documents import get_document, import_uploads
    from coding.work.lookups import document_by_id

    rng = random.Random(SEED)
    text = make_document(words, rng)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        with store.session() as s:
            p = create_project(s, "bench", lead_name="lead", local_mode=True)
            lead = Member.of(get_member(s, p, "lead"))
            import_codebook(s, p, parse_codebook(CODEBOOK, "bench.yaml"), member=lead)
            report = import_uploads(s, p, [("Long.txt", text.encode())], actor=lead)
            assert report.ok, report.failed
            doc = get_document(s, p, "Long")
            doc_id, sha = doc.id, doc.sha256
            code_ids = [i.id for i in code_tree(s, p).infos if i.codable]
        ends = [i + 1 for i, ch in enumerate(text) if ch in ".?!"]
        cpu: list[float] = []

        def rerun(action=None):
            """One rerun of the page: what it reads, then (maybe) one change."""
            t0 = time.process_time()
            with store.session(write=False) as s:
                p = get_project(s, "bench")
                d = document_by_id(s, p, lead, doc_id)
                umap = utf16_map(d.sha256, d.text)
                views = coding_views(s, p, lead, d)
                marks = [umap.span_to_utf16(v.start, v.end) for v in views]
                state = (last_undoable(s, p, lead), last_redoable(s, p, lead), recent_code_ids(s, p, lead))
            if action is not None:
                with store.session() as s:
                    action(s, get_project(s, "bench"), umap)
            if mode == "forced":
                gc.collect(2)
            cpu.append(time.process_time() - t0)
            return len(marks), state

        rerun()
        checkpoints = [(0, _rss_mib())]
        for n in range(1, codings + 1):
            a = rng.choice(ends[:-40])
            b = ends[ends.index(a) + rng.randint(1, 3)]

            def apply(s, p, umap, a=a, b=b):
                u = umap.span_to_utf16(a, b)
                sel = BrowserSelection(doc_id, sha, u[0], u[1], text[a:b])
                apply_to_selection(s, p, lead, sel, [rng.choice(code_ids)], document_id=doc_id)

            rerun()          # the selection
            rerun(apply)     # choosing the code stores it
            if n % 25 == 0:  # an undo, then a redo
                rerun(lambda s, p, _: undo(s, p, lead, last_undoable(s, p, lead).id))
                rerun(lambda s, p, _: redo(s, p, lead, last_redoable(s, p, lead).id))
            if n % 100 == 0:
                checkpoints.append((n, _rss_mib()))
        with store.session(write=False) as s:
            shown = len(coding_views(s, get_project(s, "bench"), lead, get_document(s, get_project(s, "bench"),
                                                                                     "Long")))
        store.dispose()
    cpu_ms = sorted(c * 1000 for c in cpu)
    out.put({"mode": mode, "words": len(text.split()), "chars": len(text), "shown": shown,
             "checkpoints": checkpoints, "median": statistics.median(cpu_ms),
             "p95": cpu_ms[int(0.95 * (len(cpu_ms) - 1))], "reruns": len(cpu_ms)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--codings", type=int, default=600)
    ap.add_argument("--words", type=int, default=300_000)
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    results = []
    for mode in ("forced", "none"):
        q = ctx.Queue()
        proc = ctx.Process(target=session, args=(mode, args.codings, args.words, q))
        proc.start()
        results.append(q.get())
        proc.join()
    r0 = results[0]
    print(f"Coding session: {r0['words']:,} words ({r0['chars']:,} characters), {args.codings} codings "
          f"({r0['shown']} shown at the end), {r0['reruns']} reruns; RSS in MiB")
    marks = [n for n, _ in r0["checkpoints"]]
    print(f"| GC after each rerun | {' | '.join(f'RSS @{n}' for n in marks)} | growth first→last "
          "| CPU/rerun median ms | p95 ms |")
    print("|---|" + "---:|" * (len(marks) + 3))
    for r in results:
        rss = [v for _, v in r["checkpoints"]]
        label = "forced (Streamlit default)" if r["mode"] == "forced" else "not forced (postScriptGC = false)"
        print(f"| {label} | {' | '.join(f'{v:.0f}' for v in rss)} | {rss[-1] - rss[0]:+.1f} "
              f"| {r['median']:.1f} | {r['p95']:.1f} |")


if __name__ == "__main__":
    main()
