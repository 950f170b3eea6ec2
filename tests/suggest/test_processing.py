"""Processing for suggestions (coding/suggest/processing.py, coding/nlp/analysis.py): parse once, cached.

Real spaCy (the pinned English pipeline without NER; blank Spanish with
spacy-lookups-data lemmas), real databases (the demo: six English and two
Spanish transcripts). Parses are counted by wrapping the real pipelines'
``pipe`` (the real method still runs and its results are used).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from coding.suggest import processing as proc
from coding.suggest.themes import emergent_themes
from coding.suggest.processing import processing_status
from coding.errors import CodingError
from coding.nlp import sentence_spans
from coding.nlp.analysis import analyse_texts, analysis_pipeline, analysis_pipeline_name
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store.models import Document, NlpCache

DEMO_DOCS = 8


def lead_of(store) -> Member:
    with store.session() as s:
        return Member.of(get_member(s, get_project(s, "demo"), "lead"))


def terms_of(text: str, language: str) -> set[str]:
    (a,) = analyse_texts([text], language)
    return {w for ts in a["terms"] for w in ts}


def cache_rows(store) -> list[NlpCache]:
    with store.session(write=False) as s:
        return list(s.scalars(select(NlpCache)))


def assert_whole(store, rows) -> None:
    """Every cache row is a complete analysis of its document: its sentences are the
    document's sentence units, with terms and phrases for each."""
    with store.session(write=False) as s:
        docs = {d.sha256: d for d in s.scalars(select(Document))}
        for r in rows:
            data = json.loads(r.data)
            doc = docs[r.sha256]
            assert [tuple(x) for x in data["sents"]] == sentence_spans(doc.text, doc.language)
            assert len(data["terms"]) == len(data["phrases"]) == len(data["sents"])


class Parses:
    """Counts the lines the real analysis pipelines parse."""

    def __init__(self, monkeypatch):
        self.lines = 0
        for lang in ("en", "es"):
            nlp = analysis_pipeline(lang)
            real = nlp.pipe

            def pipe(texts, *a, _real=real, **k):
                for doc in _real(texts, *a, **k):
                    self.lines += 1
                    yield doc
            monkeypatch.setattr(nlp, "pipe", pipe)


def test_cache_hit_parses_nothing_and_needs_no_spacy(demo_store, db_url, monkeypatch):
    lead = lead_of(demo_store)
    parses = Parses(monkeypatch)
    first = proc.process_documents(demo_store, "demo", lead)
    assert (first.total, first.parsed, first.cached) == (DEMO_DOCS, DEMO_DOCS, 0)
    assert parses.lines > 300
    rows = cache_rows(demo_store)
    assert len(rows) == DEMO_DOCS
    assert {r.pipeline for r in rows} == {analysis_pipeline_name("en"), analysis_pipeline_name("es")}
    assert_whole(demo_store, rows)
    parses.lines = 0
    again = proc.process_documents(demo_store, "demo", lead)
    assert (again.parsed, again.cached) == (0, DEMO_DOCS) and parses.lines == 0
    with demo_store.session(write=False) as s:
        assert processing_status(s, get_project(s, "demo"), lead) == (DEMO_DOCS, DEMO_DOCS)
    # A fresh process finds everything cached without importing spaCy at all.
    code = ("import sys; from coding.store import Store; from coding.suggest.processing import process_documents; "
            "from coding.team.projects import Member, get_member, get_project\n"
            f"st = Store({db_url!r}, run_migrations=False)\n"
            "with st.session() as s: lead = Member.of(get_member(s, get_project(s, 'demo'), 'lead'))\n"
            "r = process_documents(st, 'demo', lead)\n"
            "print(r.parsed, r.cached, 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", str(DEMO_DOCS), "False"]


def test_ctrl_c_mid_run_leaves_whole_rows_and_a_rerun_completes(demo_store):
    lead = lead_of(demo_store)
    seen = []

    def progress(done, total, name):
        seen.append(name)
        if done == 3 and name:  # about to parse the fourth document: Ctrl-C
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        proc.process_documents(demo_store, "demo", lead, progress=progress)
    rows = cache_rows(demo_store)
    assert len(rows) == 3
    assert_whole(demo_store, rows)
    rep = proc.process_documents(demo_store, "demo", lead)
    assert (rep.parsed, rep.cached, rep.cancelled) == (DEMO_DOCS - 3, 3, False)
    rows = cache_rows(demo_store)
    assert len(rows) == DEMO_DOCS
    assert_whole(demo_store, rows)


def test_background_processing_completes_and_a_second_start_reuses_it(demo_store):
    lead = lead_of(demo_store)
    assert proc.background(demo_store, "demo") is None
    job = proc.start_background(demo_store, "demo", lead)
    assert proc.start_background(demo_store, "demo", lead) is job  # one per project per process
    assert proc.background(demo_store, "demo") is job
    assert job.wait(300), "background processing did not finish"
    assert job.error is None and not job.cancelled
    assert (job.report.parsed, job.report.cached) == (DEMO_DOCS, 0)
    assert job.progress() == (DEMO_DOCS, DEMO_DOCS, "")
    assert len(cache_rows(demo_store)) == DEMO_DOCS
    later = proc.start_background(demo_store, "demo", lead)  # the first one ended: a new run
    assert later is not job and later.wait(60)
    assert (later.report.parsed, later.report.cached) == (0, DEMO_DOCS)


def test_background_processing_can_be_cancelled_and_resumed(demo_store):
    lead = lead_of(demo_store)
    job = proc.start_background(demo_store, "demo", lead)
    deadline = time.monotonic() + 300
    while job.progress()[0] < 1 and not job.done and time.monotonic() < deadline:
        time.sleep(0.005)
    job.cancel()
    assert job.wait(120)
    assert job.error is None and job.cancelled and job.report.cancelled
    assert 1 <= job.report.parsed < DEMO_DOCS
    rows = cache_rows(demo_store)
    assert len(rows) == job.report.parsed
    assert_whole(demo_store, rows)
    with demo_store.session(write=False) as s:
        p = get_project(s, "demo")
        assert processing_status(s, p, lead) == (len(rows), DEMO_DOCS)
        with pytest.raises(CodingError, match="not processed for suggestions yet"):
            emergent_themes(s, p, lead)
    again = proc.start_background(demo_store, "demo", lead)
    assert again is not job and again.wait(300)
    assert again.report.parsed == DEMO_DOCS - len(rows)
    assert len(cache_rows(demo_store)) == DEMO_DOCS


def test_background_start_is_refused_for_a_stranger(demo_store):
    with pytest.raises(CodingError):
        proc.start_background(demo_store, "demo", Member("no-such-id", "mallory", "lead", "no-project"))
    assert proc.background(demo_store, "demo") is None


def test_english_without_ner_still_leaves_out_names_places_and_dates():
    assert "ner" not in analysis_pipeline("en").pipe_names
    text = ("Interviewer: Last year Carolina and José met the UTP head in Valparaíso every Tuesday "
            "to plan the fifth lesson.\nTeacher: We observed the students for twenty minutes. "
            "Then Tomás wrote the feedback.")
    words = terms_of(text, "en")
    assert {"meet", "head", "plan", "lesson", "observe", "student", "write", "feedback"} <= words
    assert not {"carolina", "josé", "utp", "valparaíso", "tuesday", "year", "fifth", "twenty", "minute",
                "tomás", "interviewer", "teacher"} & words


def test_timestamped_speaker_labels_are_not_terms():
    words = terms_of("[00:01:48] teacher: we planned the lessons together\n", "en")
    assert "teacher" not in words and {"plan", "lesson"} <= words


def test_analysis_sentences_are_the_sentence_units():
    text = ("Principal: Sure. Well, we're a mid-sized school.\n\nInterviewer: And the teachers?\n"
            "Teacher:\nThey planned on Tuesdays. It helped.")
    (a,) = analyse_texts([text], "en")
    assert [tuple(x) for x in a["sents"]] == sentence_spans(text, "en")


def test_spanish_gets_real_lemmas_from_the_lookup_tables(demo_store):
    name = analysis_pipeline_name("es")
    assert name.startswith("es_blank-") and "+lookups-" in name
    words = terms_of("Entrevistadora: ¿Y los profesores?\nDirectora: Los profesores planificaban las clases "
                     "en las escuelas con Inés, y las cosas mejoraron mucho en Santiago.", "es")
    assert {"profesor", "planificar", "clase", "escuela", "cosa", "mejorar"} <= words
    assert not {"profesores", "planificaban", "clases", "escuelas", "cosas", "coser"} & words  # forms, a verb of "cosa"
    assert not {"inés", "santiago", "entrevistadora", "directora"} & words
    with demo_store.session(write=False) as s:
        doc = s.scalar(select(Document).where(Document.language == "es").order_by(Document.name))
        text = doc.text
    words = terms_of(text, "es")
    assert {"niño", "proyecto", "escuela"} <= words and not {"niños", "escuelas"} & words


def test_a_language_without_a_lookup_table_uses_lower_cased_forms():
    name = analysis_pipeline_name("fi")
    assert name.startswith("fi_blank-") and "lookups" not in name
    words = terms_of("Opettajat suunnittelivat tunteja yhdessä koulussa.", "fi")
    assert {"opettajat", "suunnittelivat", "tunteja", "koulussa"} <= words


def test_unknown_language_is_a_clear_error():
    for call in (lambda: analysis_pipeline_name("zz"), lambda: list(analyse_texts(["Hello there."], "zz"))):
        with pytest.raises(CodingError, match="unknown language code 'zz'.*ISO 639-1"):
            call()
    with pytest.raises(CodingError, match="not a language code"):
        analysis_pipeline_name(" ")


def test_loading_cached_analyses_is_fast(demo_store):
    lead = lead_of(demo_store)
    proc.process_documents(demo_store, "demo", lead)
    with demo_store.session(write=False) as s:
        docs = list(s.scalars(select(Document)))
        t0 = time.perf_counter()
        got = proc._analyses(s, docs)
        took = time.perf_counter() - t0
        assert s.scalar(select(func.count()).select_from(NlpCache)) == DEMO_DOCS
    assert set(got) == {d.id for d in docs} and all(a["sents"] for a in got.values())
    assert took < 2.0  # 8 documents; the bench measures 150,000 words


def test_suggestions_page_processes_in_the_background_cancels_and_goes_on(demo_store, app_for):
    from coding.work.documents import import_uploads_committing

    lead = lead_of(demo_store)
    with demo_store.session(write=False) as s:
        english = s.scalar(select(Document.text).where(Document.language == "en").order_by(Document.name))
    extra = [(f"copy{i:02d}.txt", f"{english}\n\nCopy {i}.\n".encode()) for i in range(24)]
    assert not import_uploads_committing(demo_store, "demo", extra, language="en", actor=lead).failed
    total = DEMO_DOCS + len(extra)  # enough text that the run is still going when Cancel is pressed
    at = app_for("app_pages/suggestions_page.py", "lead")
    at.run()
    assert not at.exception
    assert any(f"0 of {total}" in t.value for t in at.text)
    at.button(key="sugg_process").click().run()
    assert not at.exception
    job = proc.background(demo_store, "demo")
    assert job is not None and not job.done
    assert at.status and "Processing documents for suggestions" in at.status[0].label
    at.button(key="sugg_process_cancel").click().run()
    assert not at.exception and job.wait(120)
    assert job.error is None and job.cancelled and job.report.parsed < total
    rows = cache_rows(demo_store)
    assert len(rows) == job.report.parsed
    assert_whole(demo_store, rows)
    at.run()
    assert any("cancelled" in i.value for i in at.info)
    at.button(key="sugg_process").click().run()  # on demand again: goes on where it stopped
    again = proc.background(demo_store, "demo")
    assert again is not job and again.wait(300) and again.error is None
    assert again.report.cached == len(rows) and again.report.parsed == total - len(rows)
    at.run()
    assert not at.exception
    assert len(cache_rows(demo_store)) == total
    assert any(f"{total} of {total}" in t.value for t in at.text)
    assert at.button(key="sugg_find")  # the themes view, once everything is processed


def test_cli_ctrl_c_leaves_whole_rows(demo_store, db_url):
    import os
    import signal

    cmd = [sys.executable, "-m", "coding", "--db", db_url, "--as", "lead", "suggest", "process", "demo"]
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                             env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen = ""
    while "] 2/8" not in seen:  # the bar on stderr: two documents done, the third being parsed
        ch = child.stderr.read(1)
        assert ch, f"the CLI ended before its second document: {seen!r}"
        seen += ch
    child.send_signal(signal.SIGINT)
    rest = child.stderr.read()
    assert child.wait(60) == 130, seen + rest
    assert "cancelled" in rest
    rows = cache_rows(demo_store)
    assert 2 <= len(rows) < DEMO_DOCS
    assert_whole(demo_store, rows)
    rep = proc.process_documents(demo_store, "demo", lead_of(demo_store))
    assert rep.cached == len(rows) and rep.parsed == DEMO_DOCS - len(rows)
