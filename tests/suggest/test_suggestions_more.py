"""Suggestions, part two (issue 9): the warm model cache, codes accepted and rejected on a
checked selection, live precision, "find more like this code", keyphrases, the blind rule.

Real spaCy (through the processing cache), real databases (SQLite or PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter

import pytest
from tests.processed_demo import processed, processed_rows, who  # noqa: F401  (fixtures)
from sqlalchemy import select

from coding.suggest.units import _units, clear_caches
from coding.suggest.themes import create_code_from_theme
from coding.suggest.passages import code_passage, dismiss_passage, more_like_code
from coding.suggest.keyphrases import keyphrases
from coding.suggest import suggestions as sg
from coding.codebook.tree import code_tree
from coding.work.codings import PROVENANCE_SUGGESTED, BrowserSelection, apply_codes
from coding.work.documents import get_document
from coding.errors import CodingError, ConflictError, NotFoundError, PermissionDeniedError
from coding.nlp import recommend
from coding.nlp.keyphrases import log_odds, without_overlaps
from coding.text.offsets import Utf16Map
from coding.team.members import get_member
from coding.work.rounds import assign, open_round
from coding.store.models import Coding, Document, Event

DOC = "P01_principal_School-I_3"


def selection(doc: Document, phrase: str, **change) -> BrowserSelection:
    """What the browser sends for ``phrase`` selected in ``doc`` (UTF-16 offsets, text hash)."""
    at = doc.text.index(phrase)
    a, b = Utf16Map(doc.text).span_to_utf16(at, at + len(phrase))
    fields = {"document_id": doc.id, "sha256": doc.sha256, "start": a, "end": b, "text": phrase, **change}
    return BrowserSelection(**fields)


class ModelCounter:
    """Counts trainings of the real CodeModel (the real class still runs)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = recommend.CodeModel

        def counting(*a, **k):
            self.calls += 1
            return real(*a, **k)
        monkeypatch.setattr(recommend, "CodeModel", counting)


# --- the warm model -------------------------------------------------------------------------

def test_model_is_trained_once_and_again_after_a_new_coding(processed, monkeypatch):
    clear_caches()
    counter = ModelCounter(monkeypatch)
    with processed.session() as s:
        p, ana = who(s, "ana")
        doc = get_document(s, p, DOC)
        first = sg.suggest_codes(s, p, ana, doc, 0, 400)
        again = [sg.suggest_codes(s, p, ana, doc, a, a + 300) for a in range(0, 3000, 300)]
        assert counter.calls == 1 and sg.suggest_codes(s, p, ana, doc, 0, 400) == first and all(again)
        code = first[0].code_id
    with processed.session() as s:  # a new coding changes what ana's model learns from
        p, ana = who(s, "ana")
        doc = get_document(s, p, DOC)
        sents = [u for u, _ in _units(s, p, "sentence")[1] if u.document_id == doc.id and len(u.terms) >= 4]
        apply_codes(s, p, ana, doc, [code], sents[-1].start, sents[-1].end)
    with processed.session() as s:
        p, ana = who(s, "ana")
        sg.suggest_codes(s, p, ana, get_document(s, p, DOC), 0, 400)
        assert counter.calls == 2
        p, ben = who(s, "ben")  # another member never gets ana's model
        hints = sg.suggest_codes(s, p, ben, get_document(s, p, DOC), 0, 400)
        assert counter.calls == 3
        bens = {(c.document_id, c.start, c.end) for c in s.scalars(select(Coding).where(Coding.coder_id == ben.id))}
        assert all(any(d == h.evidence.document_id and a < h.evidence.end and h.evidence.start < b
                       for d, a, b in bens) for h in hints)


def test_unprocessed_documents_are_refused_even_after_a_cached_run(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        sg.suggest_codes(s, p, ana, get_document(s, p, DOC), 0, 400)  # units cached for these texts
    from coding.store.models import NlpCache
    with processed.session() as s:
        s.delete(s.scalars(select(NlpCache)).first())
    with processed.session() as s:
        p, ana = who(s, "ana")
        with pytest.raises(CodingError, match=r"1 document\(s\) are not processed"):
            sg.suggest_codes(s, p, ana, get_document(s, p, DOC), 0, 400)


def test_too_little_data_says_how_much_there_is_and_is_needed(processed):
    with processed.session() as s:
        p, lead = who(s, "lead")
        doc = get_document(s, p, DOC)
        with pytest.raises(CodingError, match="0 coded units so far; suggestions start at 30; keep coding"):
            sg.suggest_codes(s, p, lead, doc, 0, 400)
        assert sg.suggest_codes(s, p, lead, doc, 0, 400, layer="all")  # a lead may learn from every coder
        _, ana = who(s, "ana")
        with pytest.raises(PermissionDeniedError, match="own codings only"):
            sg.suggest_codes(s, p, ana, doc, 0, 400, layer="all")


# --- accept, reject, precision --------------------------------------------------------------

def test_accept_codes_exactly_the_selection_and_refuses_a_stale_one(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        doc = get_document(s, p, "P02_teacher_School-I_3")
        phrase = next(x.quote.text for x in more_like_code(s, p, ana, sg.suggest_codes(
            s, p, ana, doc, 0, len(doc.text))[0].code_id, document=doc))[:50]
        hint = sg.suggest_codes(s, p, ana, doc, doc.text.index(phrase), doc.text.index(phrase) + len(phrase))[0]
        sel = selection(doc, phrase)
        made = sg.accept_code_suggestion(s, p, ana, sel, hint.code_id, document_id=doc.id, suggestion="1.")
        start = doc.text.index(phrase)
        assert [(c.start, c.end, c.code_id, c.provenance) for c in made] == [
            (start, start + len(phrase), hint.code_id, PROVENANCE_SUGGESTED)]
        other = get_document(s, p, DOC).id
        for stale, shown in ((selection(doc, phrase, sha256=hashlib.sha256(b"old").hexdigest()), doc.id),
                             (selection(doc, phrase, text="something else"), doc.id),
                             (selection(doc, phrase), other)):  # made on another document than the one shown
            with pytest.raises(ConflictError, match="nothing was stored"):
                sg.accept_code_suggestion(s, p, ana, stale, hint.code_id, document_id=shown)
    with processed.session() as s:
        p, ana = who(s, "ana")
        rows = list(s.scalars(select(Coding).where(Coding.provenance == PROVENANCE_SUGGESTED)))
        assert [(r.document_id, r.start, r.end, r.coder_id) for r in rows] == [(doc.id, start, start + len(phrase),
                                                                                  ana.id)]
        events = [json.loads(e.payload) for e in s.scalars(select(Event).where(Event.action == "suggestion.accept"))]
        assert [(e["model"], [c["id"] for c in e["codings"]]) for e in events] == [("codes", [rows[0].id])]


def test_reject_and_live_precision_per_member(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        doc = get_document(s, p, DOC)
        phrases = [doc.text[u.start:u.end] for u, _ in _units(s, p, "sentence")[1]
                   if u.document_id == doc.id and len(u.terms) >= 5][:3]
        assert sg.suggestion_precision(s, p, ana).value is None
        for ph in phrases[:2]:
            h = sg.suggest_codes(s, p, ana, doc, doc.text.index(ph), doc.text.index(ph) + len(ph))[0]
            sg.accept_code_suggestion(s, p, ana, selection(doc, ph), h.code_id, document_id=doc.id)
        h = sg.suggest_codes(s, p, ana, doc, doc.text.index(phrases[2]), doc.text.index(phrases[2]) + 10)[0]
        sg.reject_for_selection(s, p, ana, selection(doc, phrases[2]), h.code_id, document_id=doc.id)
        with pytest.raises(NotFoundError):
            sg.reject_for_selection(s, p, ana, selection(doc, phrases[2]), "no-such-code", document_id=doc.id)
    with processed.session() as s:
        p, ana = who(s, "ana")
        prec = sg.suggestion_precision(s, p, ana)
        assert (prec.accepted, prec.rejected) == (2, 1) and math.isclose(prec.value, 2 / 3)
        assert sg.suggestion_precision(s, p, ana, model="more").value is None
        ev = s.scalar(select(Event).where(Event.action == "suggestion.reject"))
        start = doc.text.index(phrases[2])
        assert ev.actor_id == ana.id and json.loads(ev.payload) | {"suggestion": ""} == {
            "suggestion": "", "model": "codes", "code_id": h.code_id, "start": start, "end": start + len(phrases[2])}
        _, ben = who(s, "ben")
        assert sg.suggestion_precision(s, p, ben).value is None  # per member
        with pytest.raises(PermissionDeniedError):
            sg.suggestion_precision(s, p, ben, of=ana.id)
        _, lead = who(s, "lead")
        assert sg.suggestion_precision(s, p, lead, of=ana.id) == prec


# --- find more like a code ----------------------------------------------------------------

def test_more_like_code_offers_uncoded_sentences_and_remembers_dismissals(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        code = code_tree(s, p).resolve("CIC Project/Collaboration between teachers").id
        found = more_like_code(s, p, ana, code, top=8)
        own = [(c.document_id, c.start, c.end) for c in s.scalars(select(Coding).where(Coding.coder_id == ana.id))]
        assert len(found) == 8 and [x.score for x in found] == sorted((x.score for x in found), reverse=True)
        for x in found:
            q = x.quote
            assert q.text == s.get(Document, q.document_id).text[q.start:q.end] and q.attribution.startswith("(")
            assert not any(d == q.document_id and a < q.end and q.start < b for d, a, b in own)
            assert q.speaker and q.speaker.lower() not in ("interviewer", "entrevistadora")
        doc = get_document(s, p, DOC)
        here = more_like_code(s, p, ana, code, document=doc, top=5)
        assert here and all(x.quote.document_id == doc.id for x in here)
        first, second = found[0].quote, found[1].quote
        dismiss_passage(s, p, ana, code, first.document_id, first.start, first.end)
        made = code_passage(s, p, ana, code, second.document_id, second.start, second.end)
    with processed.session() as s:
        p, ana = who(s, "ana")
        again = [(x.quote.document_id, x.quote.start) for x in more_like_code(s, p, ana, code, top=8)]
        assert (first.document_id, first.start) not in again and (second.document_id, second.start) not in again
        row = s.get(Coding, made[0].id)
        assert (row.provenance, row.coder_id, row.start, row.end) == (PROVENANCE_SUGGESTED, ana.id, second.start,
                                                                      second.end)
        models = sorted(json.loads(e.payload)["model"] for e in s.scalars(
            select(Event).where(Event.action.in_(("suggestion.accept", "suggestion.reject")))))
        assert models == ["more", "more"]
        prec = sg.suggestion_precision(s, p, ana, model="more")
        assert (prec.accepted, prec.rejected) == (1, 1)
        p, ben = who(s, "ben")  # ana's dismissal is hers: ben may still be offered it
        assert more_like_code(s, p, ben, code, top=50)


def test_more_like_code_needs_examples_and_a_codable_code(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        tree = code_tree(s, p)
        with pytest.raises(CodingError, match="is a folder"):
            more_like_code(s, p, ana, tree.resolve("Synthesis").id)
        _, lead = who(s, "lead")
        new = create_code_from_theme(s, p, lead, "Lunch breaks").id
        doc = get_document(s, p, DOC)
        for u in [u for u, _ in _units(s, p, "sentence")[1] if u.document_id == doc.id][10:12]:
            apply_codes(s, p, ana, doc, [new], u.start, u.end)
        with pytest.raises(CodingError, match="has 2 coded sentence\\(s\\) in your codings; .* needs 3"):
            more_like_code(s, p, ana, new)
        with pytest.raises(NotFoundError):
            more_like_code(s, p, ana, "no-such-code")


# --- the blind rule -------------------------------------------------------------------------

def test_blind_rule_bens_codings_never_change_anas_code_suggestions(processed):
    docs = ("P02_teacher_School-I_3", "P05_special-educator_School-I_7")
    with processed.session() as s:
        p, lead = who(s, "lead")
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        assign(s, p, lead, rnd, [get_document(s, p, n) for n in docs], [get_member(s, p, n) for n in ("ana", "ben")])

    def anas_view():
        with processed.session() as s:
            p, ana = who(s, "ana")
            out = []
            for n in docs:
                d = get_document(s, p, n)
                out += [[h.as_dict() for h in sg.suggest_codes(s, p, ana, d, a, a + 250)] for a in range(0, 4000, 250)]
            code = code_tree(s, p).resolve("CIC Project/Collaboration between teachers").id
            out.append([x.as_dict() for x in more_like_code(s, p, ana, code, top=30)])
            out += [[x.as_dict() for x in more_like_code(s, p, ana, code, document=get_document(s, p, n))]
                    for n in docs]
            return out, code

    before, code = anas_view()
    with processed.session() as s:  # ben codes everything ana is offered in those documents, and drops old work
        p, ben = who(s, "ben")
        for x in before[-3]:
            apply_codes(s, p, ben, s.get(Document, x["document_id"]), [code], x["start"], x["end"])
        for n in docs:
            d = get_document(s, p, n)
            apply_codes(s, p, ben, d, [code], 0, len(d.text) // 2)
        for c in s.scalars(select(Coding).where(Coding.coder_id == ben.id).limit(20)):
            s.delete(c)
    after, _ = anas_view()
    assert after == before


# --- keyphrases -----------------------------------------------------------------------------

def test_log_odds_with_an_informative_prior_by_hand():
    group, rest = Counter({"fraction": 6, "lesson": 4, "time": 2}), Counter({"lesson": 4, "time": 10, "team": 6})
    scored = {x.feature: x for x in log_odds(group, rest, prior_size=10)}
    # by hand (Monroe et al. 2008, eq. 16 and 20): pooled 32 features, a0 = 10, a_w = 10 * pooled_w / 32
    a = 10 * 6 / 32
    delta = math.log((6 + a) / (12 + 10 - 6 - a)) - math.log((0 + a) / (20 + 10 - 0 - a))
    assert math.isclose(scored["fraction"].z, delta / math.sqrt(1 / (6 + a) + 1 / a))
    assert [x.feature for x in log_odds(group, rest, prior_size=10)] == ["fraction", "lesson", "time"]
    assert scored["time"].z < 0 < scored["lesson"].z  # 'time' is the rest's word
    assert "team" not in scored  # not in the group
    assert log_odds(Counter(), Counter()) == []


def test_without_overlaps_keeps_the_phrase_not_its_words():
    group = Counter({"special": 9, "educator": 9, "special educator": 8, "student": 7, "protected time": 5,
                     "time": 5})
    chosen = [x.feature for x in without_overlaps(log_odds(group, Counter({"student": 1, "other": 30})), 4)]
    assert chosen[0] == "special educator" and "special" not in chosen and "educator" not in chosen
    assert "protected time" in chosen and "time" not in chosen


def test_keyphrases_by_document_and_by_attribute_are_the_same_for_everyone(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        by_doc = keyphrases(s, p, ana)
        assert [g.group for g in by_doc] == sorted(d.name for d in s.scalars(select(Document)))
        for g in by_doc:
            assert g.documents == 1 and 1 <= len(g.phrases) <= 10
            assert [k.score for k in g.phrases] == sorted((k.score for k in g.phrases), reverse=True)
            for k in g.phrases:
                assert k.count >= 2 and k.example.document == g.group
        roles = keyphrases(s, p, ana, by="role", top=5)
        assert {g.group for g in roles} >= {"Principal", "Special educator"}
        assert sum(g.documents for g in roles) == len(by_doc)
        with pytest.raises(CodingError, match="cannot group keyphrases by 'shoe size': use one of document, "):
            keyphrases(s, p, ana, by="shoe size")
        mine = [g.as_dict() for g in keyphrases(s, p, ana, by="role")]
        p, ben = who(s, "ben")
        apply_codes(s, p, ben, get_document(s, p, DOC), [code_tree(s, p).resolve(
            "CIC Project/Collaboration between teachers").id], 0, 2000)
    with processed.session() as s:
        p, ben = who(s, "ben")
        assert [g.as_dict() for g in keyphrases(s, p, ben, by="role")] == mine


def test_cli_more_keyphrases_and_precision_json(processed, db_url, capsys):
    from coding.cli.main import main

    assert main(["--db", db_url, "suggest", "more", "demo", "--as", "ana", "--code",
                 "CIC Project/Collaboration between teachers", "--document", DOC, "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["passages"]) == 3 and {"text", "start", "end", "score", "attribution"} <= set(out["passages"][0])
    assert main(["--db", db_url, "suggest", "keyphrases", "demo", "--as", "ana", "--by", "role", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["by"] == "role" and out["groups"][0]["phrases"][0]["text"]
    assert main(["--db", db_url, "suggest", "precision", "demo", "--as", "ana", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["codes"] == {"accepted": 0, "rejected": 0, "precision": None}
    assert main(["--db", db_url, "suggest", "keyphrases", "demo", "--as", "ana", "--by", "nope"]) != 0
    assert "cannot group keyphrases by 'nope'" in capsys.readouterr().err


def test_a_code_already_on_the_text_is_not_suggested_again_and_units_leave_labels_out(processed):
    with processed.session() as s:
        p, ana = who(s, "ana")
        doc = get_document(s, p, "P02_teacher_School-I_3")
        sents = [u for u, _ in _units(s, p, "sentence")[1] if u.document_id == doc.id and len(u.terms) >= 5]
        u = sents[3]
        first = sg.suggest_codes(s, p, ana, doc, u.start, u.end)
        apply_codes(s, p, ana, doc, [first[0].code_id], u.start, u.end)
    with processed.session() as s:
        p, ana = who(s, "ana")
        doc = get_document(s, p, "P02_teacher_School-I_3")
        again = sg.suggest_codes(s, p, ana, doc, u.start + 2, u.end - 2)
        assert first[0].code_id not in {h.code_id for h in again}
        # a sentence that opens a turn starts where the speaker's words do, not at "Teacher:"
        turns = {t.start: t.speech_start for t in doc.turns}
        units = [x for x, _ in _units(s, p, "sentence")[1] if x.document_id == doc.id]
        assert not any(x.start in turns and turns[x.start] > x.start for x in units)
        assert any(x.start in turns.values() for x in units)
