"""Benchmark: processing documents for suggestions (parse once, cached), issue 9.

The six English demo transcripts (corpora/cic-demo P01-P06) are repeated, each
copy a distinct text (a "Copy i." line is added), to about ``--words`` words
(150,000 by default), and measured in one run:

* ``sentence segmentation only``: :func:`coding.nlp.sentence_spans` per document
  (parser only), what agreement's sentence units already cost;
* ``full en_core_web_sm with NER``: ``nlp.pipe`` over each document's lines with
  every pipe (tagger, parser, lemmatizer, NER), parsing only: the pipeline the
  analysis used before, and the **baseline** of the ratio column;
* ``analysis in memory``: :func:`coding.nlp.analysis.analyse_texts` (no NER, terms,
  phrases, sentences), nothing stored;
* ``cold: process_documents``: the real service into a real SQLite store, every
  document parsed and written in its own transaction (pipeline already loaded);
* ``cold, fresh process``: ``python -m coding suggest process`` on another copy of
  the store, spaCy's import and the pipeline's load included;
* ``warm rerun``: ``process_documents`` again, everything cached (nothing parsed),
  in this process and in a fresh CLI process;
* ``load cached analyses``: :func:`coding.suggest.processing._analyses` for every document;
* for scale, the CLI's own start (``python -m coding --version``), which every
  fresh-process row includes.

Seconds are wall time; the machine may be shared, so compare rows of one run.
Run: ``.venv/bin/python bench/suggest_processing.py [--words N]`` (from the
repository root). :func:`processing_table` returns the Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEMO = ROOT / "corpora" / "cic-demo"
PROJECT = "bench"


def _corpus(target_words: int) -> list[tuple[str, str]]:
    texts = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(DEMO.glob("P0[1-6]*.txt"))]
    once = sum(len(t.split()) for _, t in texts)
    reps = max(1, round(target_words / once))
    return [(f"copy{i:03d}_{stem}.txt", t + f"\n\nCopy {i}.\n") for i in range(reps) for stem, t in texts]


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _store_with(corpus, folder: Path):
    """A fresh SQLite store holding the corpus as documents of project ``bench`` (local mode)."""
    from coding.work.documents import import_uploads_committing
    from coding.team.projects import create_project
    from coding.team.members import Member, get_member
    from coding.store import Store

    url = f"sqlite:///{folder / 'bench.db'}"
    store = Store(url)
    with store.session() as s:
        p = create_project(s, PROJECT, lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
    rep = import_uploads_committing(store, PROJECT, [(n, t.encode("utf-8")) for n, t in corpus],
                                    language="en", actor=lead)
    if rep.failed:
        raise SystemExit(f"import failed: {rep.failed[:3]}")
    return store, lead, url


def _cli_process(url: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "coding", "--db", url, "--as", "lead", "suggest", "process",
                           PROJECT], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"suggest process failed: {done.stderr[-500:]}")
    return time.perf_counter() - t0


def processing_table(target_words: int) -> str:
    """The Markdown table of this benchmark on the demo repeated to about ``target_words``."""
    import spacy
    from sqlalchemy import select

    from coding.nlp import sentence_spans
    from coding.nlp.analysis import _english_package, analyse_texts, analysis_pipeline
    from coding.nlp.pipeline import _chunks
    from coding.suggest.processing import _analyses, process_documents
    from coding.store.models import Document, Project

    corpus = _corpus(target_words)
    texts = [t for _, t in corpus]
    words = sum(len(t.split()) for t in texts)
    full = spacy.load(_english_package())  # every pipe, NER included
    list(full.pipe(["Warm up."]))
    list(analyse_texts(["Warm up."], "en"))
    sentence_spans("Warm up.", "en")
    rows: list[tuple[str, int, float, str]] = []

    t, _ = _timed(lambda: [sentence_spans(x, "en") for x in texts])
    rows.append(("sentence segmentation only (parser)", words, t, ""))
    t_base, _ = _timed(lambda: [list(full.pipe([p for _, p in _chunks(x)], batch_size=64)) for x in texts])
    rows.append(("full en_core_web_sm with NER, parse only (before; baseline)", words, t_base, ""))
    t, _ = _timed(lambda: list(analyse_texts(texts, "en")))
    pipes = "+".join(analysis_pipeline("en").pipe_names)
    rows.append((f"analysis in memory ({pipes}; batch 64, one pipe call per document)", words, t, ""))

    with tempfile.TemporaryDirectory(prefix="suggest-bench-") as tmp:
        folder = Path(tmp)
        store, lead, url = _store_with(corpus, folder)
        fresh = folder / "fresh.db"
        with sqlite3.connect(folder / "bench.db") as src, sqlite3.connect(fresh) as dst:
            src.backup(dst)  # not processed yet, for the fresh-process run (WAL included)
        fresh_url = f"sqlite:///{fresh}"
        t, rep = _timed(lambda: process_documents(store, PROJECT, lead))
        rows.append(("cold: process_documents into SQLite", words, t, f"{rep.parsed} parsed"))
        t = _cli_process(fresh_url)
        rows.append(("cold, fresh process: `suggest process` (spaCy load included)", words, t, ""))
        t, rep = _timed(lambda: process_documents(store, PROJECT, lead))
        rows.append(("warm rerun: process_documents", words, t, f"{rep.parsed} parsed, {rep.cached} cached"))
        t = _cli_process(fresh_url)
        rows.append(("warm rerun, fresh process: `suggest process`", words, t, "nothing parsed, spaCy not imported"))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coding", "--version"], check=True, cwd=ROOT, capture_output=True)
        rows.append(("(for scale) CLI start only: `python -m coding --version`", 0, time.perf_counter() - t0, ""))

        def load():
            with store.session(write=False) as s:
                pid = s.scalar(select(Project.id).where(Project.name == PROJECT))
                return _analyses(s, list(s.scalars(select(Document).where(Document.project_id == pid))))
        t, got = _timed(load)
        rows.append(("load cached analyses (_analyses, every document)", words, t, f"{len(got)} documents"))
        store.dispose()

    base_rate = words / t_base
    out = ["| step | words | seconds | words/s | words/s vs baseline | note |", "|---|---:|---:|---:|---:|---|"]
    for name, w, t, note in rows:
        parsing = w and not name.startswith(("warm", "load", "("))  # rows that parse every word
        rate = w / t if parsing else None
        shown = ("–", "–") if rate is None else (f"{rate:,.0f}", f"{rate / base_rate:.2f}x")
        out.append(f"| {name} | {w:,} | {t:.2f} | {shown[0]} | {shown[1]} | {note} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--words", type=int, default=150_000, help="corpus size (default 150,000)")
    args = ap.parse_args()
    print(f"\n## Processing for suggestions (demo English transcripts repeated; {os.cpu_count()} cores)\n")
    print(processing_table(args.words))


if __name__ == "__main__":
    main()
