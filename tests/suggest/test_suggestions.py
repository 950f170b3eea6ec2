"""Suggestions (issue 9): processing cache, emergent themes, the blind rule, accept, proposed codes.

Real spaCy (the pinned English pipeline, blank Spanish), real databases. The
demo is parsed once per test session; later tests copy those cache rows into
their fresh database (the cache is keyed by text hash, so that is what a second
project with the same texts would find).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from coding.suggest.themes import (
    apply_to_quotes, create_code_from_theme, decide_proposed_code, dismiss_theme, dismissed_labels, emergent_themes,
    proposed_codes,
)
from coding.suggest.processing import process_documents
from coding.suggest import suggestions as sg
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.errors import CodingError, ConflictError, PermissionDeniedError
from coding.nlp.analysis import analyse_texts, analysis_pipeline
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round
from coding.store.models import Code, Coding, Event, NlpCache

_ROWS: list[tuple[str, str, str]] = []


def who(s, name):
    p = get_project(s, "demo")
    return p, Member.of(get_member(s, p, name))


@pytest.fixture
def processed(demo_store):
    """The demo with every document processed (parsed once per session, then copied)."""
    if not _ROWS:
        with demo_store.session() as s:
            _, lead = who(s, "lead")
        process_documents(demo_store, "demo", lead)
        with demo_store.session() as s:
            _ROWS.extend((r.sha256, r.pipeline, r.data) for r in s.scalars(select(NlpCache)))
    else:
        with demo_store.session() as s:
            s.add_all(NlpCache(sha256=a, pipeline=b, data=c) for a, b, c in _ROWS)
    return demo_store


class PipeCounter:
    """Counts ``nlp.pipe`` calls of the real pipelines (the real method still runs)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        for lang in ("en", "es"):
            nlp = analysis_pipeline(lang)
            real = nlp.pipe

            def pipe(*a, _real=real, **k):
                self.calls += 1
                return _real(*a, **k)
            monkeypatch.setattr(nlp, "pipe", pipe)


def test_analysis_leaves_out_names_and_keeps_offsets():
    text = "Teacher: Inés presented the project in Santiago. We planned the lessons at lunch.\nNo time."
    (a,) = analyse_texts([text], "en")
    assert [text[s:e] for s, e in a["sents"]] == [
        "Teacher: Inés presented the project in Santiago.", "We planned the lessons at lunch.", "No time."]
    words = {w for ts in a["terms"] for w in ts}
    assert {"present", "project", "plan", "lesson", "lunch", "time"} <= words
    assert not {"inés", "santiago", "teacher"} & words  # names, places, the speaker label


def test_processing_caches_each_document_once(demo_store, monkeypatch):
    with demo_store.session() as s:
        _, lead = who(s, "lead")
    counter = PipeCounter(monkeypatch)
    seen = []
    first = process_documents(demo_store, "demo", lead, progress=lambda d, n, name: seen.append((d, n)))
    assert (first.total, first.parsed, first.cached) == (8, 8, 0)
    assert seen[-1] == (8, 8) and counter.calls == 8
    with demo_store.session() as s:
        assert s.scalar(select(func.count()).select_from(NlpCache)) == 8
        _ROWS.extend((r.sha256, r.pipeline, r.data) for r in s.scalars(select(NlpCache))) if not _ROWS else None
    counter.calls = 0
    second = process_documents(demo_store, "demo", lead)
    assert (second.parsed, second.cached) == (0, 8)
    assert counter.calls == 0  # a cache hit parses nothing


def test_cancelled_processing_leaves_whole_rows(demo_store):
    with demo_store.session() as s:
        _, lead = who(s, "lead")
    asked = []
    rep = process_documents(demo_store, "demo", lead, cancel=lambda: len(asked.append(1) or asked) > 2)
    assert rep.cancelled and rep.parsed == 2
    with demo_store.session() as s:
        rows = list(s.scalars(select(NlpCache)))
    assert len(rows) == 2 and all(json.loads(r.data)["sents"] for r in rows)
    with demo_store.session() as s:
        p, ana = who(s, "ana")
        with pytest.raises(CodingError, match="6 document\\(s\\) are not processed"):
            emergent_themes(s, p, ana)


def test_themes_have_labels_quotes_spread_and_nearest_code(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        themes = emergent_themes(s, p, ana)
        own = list(s.scalars(select(Coding).where(Coding.coder_id == ana.id)))
    assert len(themes) >= 5
    for t in themes:
        assert 1 <= len(t.label) <= 4 and 3 <= len(t.quotes) <= 8
        assert t.documents >= 1 and t.participants >= 1 and t.nearest_code
        for q in t.quotes:
            assert q.attribution.startswith("(") and q.speaker
            # never a unit ana coded, never the interviewer
            assert not any(c.document_id == q.document_id and c.start < q.end and q.start < c.end for c in own)
            assert q.speaker.lower() not in ("interviewer", "entrevistadora")
    assert [t.rank for t in themes] == list(range(1, len(themes) + 1))


def test_blind_rule_bens_codings_never_change_anas_themes(processed):
    with processed.session() as s:
        p, lead = who(s, "lead")
        docs = [get_document(s, p, n) for n in ("P02_teacher_School-I_3", "P05_special-educator_School-I_7")]
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        assign(s, p, lead, rnd, docs, [get_member(s, p, "ana"), get_member(s, p, "ben")])
    with processed.session() as s:
        p, ana = who(s, "ana")
        before = [t.as_dict() for t in emergent_themes(s, p, ana)]
        before_turns = [t.as_dict() for t in emergent_themes(s, p, ana, unit="turn")]
        with pytest.raises(PermissionDeniedError, match="own codings only"):
            emergent_themes(s, p, ana, layer="all")
    with processed.session() as s:  # ben codes every quote of ana's themes, and removes his old codings
        p, ben = who(s, "ben")
        code = next(c for c in s.scalars(select(Code).where(Code.project_id == p.id, Code.codable.is_(True))))
        for t in before:
            for q in t["quotes"]:
                apply_codes(s, p, ben, s.get(type(docs[0]), q["document_id"]), [code.id], q["start"], q["end"])
        for c in s.scalars(select(Coding).where(Coding.coder_id == ben.id).limit(20)):
            s.delete(c)
    with processed.session() as s:
        p, ana = who(s, "ana")
        assert [t.as_dict() for t in emergent_themes(s, p, ana)] == before
        assert [t.as_dict() for t in emergent_themes(s, p, ana, unit="turn")] == before_turns
        p, ben = who(s, "ben")
        assert [t.as_dict() for t in emergent_themes(s, p, ben)] != before  # his own work does count for him


def test_accepting_quotes_creates_suggestion_codings_and_logs(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        t = emergent_themes(s, p, ana)[0]
        quotes = [(q.document_id, q.start, q.end) for q in t.quotes[:3]]
        made = apply_to_quotes(s, p, ana, t.nearest_code_id, quotes, suggestion=t.title)
        assert len(made) == 3
    with processed.session() as s:
        p, ana = who(s, "ana")
        rows = list(s.scalars(select(Coding).where(Coding.provenance == "suggested")))
        assert sorted((r.document_id, r.start, r.end) for r in rows) == sorted(quotes)
        assert {(r.coder_id, r.code_id) for r in rows} == {(ana.id, t.nearest_code_id)}
        ev = s.scalar(select(Event).where(Event.action == "suggestion.accept"))
        assert ev.actor_id == ana.id and json.loads(ev.payload)["suggestion"] == t.title
        # the coded units are no longer suggested to ana
        again = emergent_themes(s, p, ana)
        assert not {(q.document_id, q.start, q.end) for x in again for q in x.quotes} & set(quotes)


def test_coder_proposes_code_lead_accepts_or_rejects(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        t = emergent_themes(s, p, ana)[0]
        code = create_code_from_theme(s, p, ana, "Teacher time", definition=t.draft_definition(),
                                      example=t.quotes[0].text)
        other = create_code_from_theme(s, p, ana, "Noise", definition="")
        cid, oid, q = code.id, other.id, t.quotes[0]
    with processed.session() as s:
        p, ana = who(s, "ana")
        stored = s.get(Code, cid)
        # a proposal is usable at once in the proposer's own codings (coding.codebook.proposals)
        assert (stored.status, stored.codable, stored.proposed_by) == ("proposed", True, ana.id)
        with pytest.raises(PermissionDeniedError):
            decide_proposed_code(s, p, ana, cid, True)
    with processed.session() as s:
        p, lead = who(s, "lead")
        assert {c.id for c in proposed_codes(s, p, lead)} == {cid, oid}
        decide_proposed_code(s, p, lead, cid, True)
        decide_proposed_code(s, p, lead, oid, False)
    with processed.session() as s:
        p, ana = who(s, "ana")
        assert (s.get(Code, cid).status, s.get(Code, cid).codable) == ("active", True)
        assert s.get(Code, oid) is None
        made = apply_to_quotes(s, p, ana, cid, [(q.document_id, q.start, q.end)])
        assert made[0].provenance == "suggested"
        actions = [e.action for e in s.scalars(select(Event).where(Event.object_id.in_([cid, oid])).order_by(Event.seq))]
        assert actions == ["code.propose", "code.propose", "code.accept", "code.reject", "code.delete"]
        # a lead adds directly
        p, lead = who(s, "lead")
        direct = create_code_from_theme(s, p, lead, "Teacher time 2")
        assert direct.status == "active" and direct.codable


def test_dismissed_theme_is_remembered_per_member(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        first = emergent_themes(s, p, ana)[0]
        dismiss_theme(s, p, ana, list(first.label))
    with processed.session() as s:
        p, ana = who(s, "ana")
        assert first.label not in [t.label for t in emergent_themes(s, p, ana)]
        p, lead = who(s, "lead")
        assert dismissed_labels(s, p, lead) == []


def test_code_suggestions_learn_from_own_codings(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        doc = get_document(s, p, "P01_principal_School-I_3")
        hints = sg.suggest_codes(s, p, ana, doc, 0, 400)
        assert 1 <= len(hints) <= 5 and hints[0].score >= hints[-1].score
        own_docs = set(s.scalars(select(Coding.document_id).where(Coding.coder_id == ana.id)))
        assert all(h.evidence.document_id in own_docs for h in hints)
        p, lead = who(s, "lead")  # the lead coded nothing in the 'own' layer: silent, and says why
        with pytest.raises(CodingError, match="suggestions start at 30"):
            sg.suggest_codes(s, p, lead, doc, 0, 400)


def test_cli_and_engine_import_no_spacy_or_sklearn():
    code = ("import coding.cli.main, coding.suggest.suggestions, coding.suggest.themes, coding.suggest.passages, "
            "coding.suggest.keyphrases, coding.nlp, sys; coding.cli.main.build_parser(); "
            "bad = [m for m in ('spacy', 'sklearn') if m in sys.modules]; assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_cli_themes_json(processed, db_url, capsys):
    from coding.cli.main import main

    assert main(["--db", db_url, "suggest", "themes", "demo", "--as", "ana", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["member"] == "ana" and out["themes"]
    q = out["themes"][0]["quotes"][0]
    assert {"document", "start", "end", "text", "attribution"} <= set(q)


def test_page_shows_themes_as_text(processed, app_for):
    at = app_for("app_pages/suggestions_page.py", "ana")
    at.run()
    assert not at.exception
    at.button(key="sugg_find").click().run()
    assert not at.exception and at.expander
    assert any("units in" in t.value for t in at.text)
    at.button(key="sugg_1_dismiss").click().run()
    assert not at.exception
    with processed.session() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.action == "suggestion.dismiss")) == 1
