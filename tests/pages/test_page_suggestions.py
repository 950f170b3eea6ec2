"""AppTest of suggestions in the UI: the Suggestions page (themes, keyphrases, find more) and
the coding page's panel (codes for the selection, find more in this transcript). Each action
is checked in the database."""

from __future__ import annotations

import hashlib
import re
import json
import uuid

from tests.processed_demo import processed, processed_rows, who  # noqa: F401  (fixtures)
from sqlalchemy import func, select

from coding.codebook.tree import code_tree
from coding.work.codings import PROVENANCE_SUGGESTED
from coding.work.documents import get_document
from coding.text.offsets import Utf16Map
from coding.store.models import Coding, Document, Event

CODING, SUGGEST = "app_pages/coding_page.py", "app_pages/suggestions_page.py"
DOC = "P01_principal_School-I_3"
CODE = "CIC Project/Collaboration between teachers"


def open_doc(at, store, name=DOC):
    with store.session() as s:
        p, _ = who(s, "lead")
        d = get_document(s, p, name)
        doc = (d.id, d.text)
    at.run()
    at.selectbox(key="coding_doc").set_value(doc[0]).run()
    return doc


def select_text(at, doc, phrase):
    """The browser's report of a selection (UTF-16 offsets, document id and hash, one-time id)."""
    doc_id, text = doc
    cp = text.index(phrase)
    a, b = Utf16Map(text).span_to_utf16(cp, cp + len(phrase))
    at.session_state["coding_view"] = {"selection": {
        "start": a, "end": b, "text": phrase, "doc": doc_id, "sha": hashlib.sha256(text.encode()).hexdigest(),
        "nonce": uuid.uuid4().hex}}
    at.run()
    return cp, cp + len(phrase)


def rows(store, **where):
    with store.session() as s:
        q = select(Coding)
        for k, v in where.items():
            q = q.where(getattr(Coding, k) == v)
        return [(r.document_id, r.start, r.end, r.code_id, r.provenance) for r in s.scalars(q)]


def events(store, action):
    with store.session() as s:
        return [(e.actor_id, json.loads(e.payload)) for e in s.scalars(select(Event).where(Event.action == action))]


def captions(at) -> list[str]:
    """The captions as shown (md_escape's backslashes removed)."""
    return [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption]


PHRASE = "It was teachers working on their own lessons, with their own students"


# --- coding page ------------------------------------------------------------------------------

def test_panel_is_silent_until_enough_data_and_says_how_much(processed, app_for):
    at = app_for(CODING, "lead")  # the lead coded nothing of their own
    doc = open_doc(at, processed)
    assert any("Select text in the transcript, then press “Suggest codes for it”" in c for c in captions(at))
    select_text(at, doc, PHRASE)
    assert not at.exception
    assert any("0 coded units so far; suggestions start at 30" in c for c in captions(at))
    assert not [b for b in at.button if (b.key or "").startswith("coding_sugg_accept_")]
    # the lead may learn from every coder's codings instead
    at.selectbox(key="coding_sugg_layer").set_value("all").run()
    assert [b for b in at.button if (b.key or "").startswith("coding_sugg_accept_")]


def test_panel_says_when_documents_are_not_processed(demo_store, app_for):
    at = app_for(CODING, "ana")
    doc = open_doc(at, demo_store)
    select_text(at, doc, PHRASE)
    assert not at.exception
    assert any("Suggestions need every document processed first (0 of 8 are)" in c for c in captions(at))


def test_accepting_a_suggested_code_stores_it_on_the_selection(processed, app_for):
    at = app_for(CODING, "ana")
    doc = open_doc(at, processed)
    span = select_text(at, doc, PHRASE)
    accept = [b for b in at.button if (b.key or "").startswith("coding_sugg_accept_")]
    assert 1 <= len(accept) <= 5
    # the evidence is the coded text it is nearest to, as plain text
    assert any(c.startswith("like your coding of “") for c in captions(at))
    code_id = accept[0].key.removeprefix("coding_sugg_accept_")
    with processed.session() as s:
        _, ana = who(s, "ana")
    before = len(rows(processed, coder_id=ana.id))
    accept[0].click().run()
    assert not at.exception
    assert rows(processed, provenance=PROVENANCE_SUGGESTED) == [(doc[0], *span, code_id, PROVENANCE_SUGGESTED)]
    assert len(rows(processed, coder_id=ana.id)) == before + 1
    assert [(a, e["model"]) for a, e in events(processed, "suggestion.accept")] == [(ana.id, "codes")]
    # the highlight goes to the transcript, and the selection is used up
    data = json.loads(at.get("bidi_component")[0].proto.json)
    assert any(h["code"] == code_id and h["start"] == Utf16Map(doc[1]).to_utf16(span[0]) for h in data["highlights"])
    assert not [b for b in at.button if (b.key or "").startswith("coding_sugg_accept_")]


def test_rejecting_a_suggestion_logs_it_and_shows_precision(processed, app_for):
    at = app_for(CODING, "ana")
    doc = open_doc(at, processed)
    span = select_text(at, doc, PHRASE)
    reject = [b for b in at.button if (b.key or "").startswith("coding_sugg_reject_")][0]
    code_id = reject.key.removeprefix("coding_sugg_reject_")
    reject.click().run()
    assert not at.exception
    with processed.session() as s:
        _, ana = who(s, "ana")
    assert events(processed, "suggestion.reject") == [(ana.id, {"suggestion": events(processed, "suggestion.reject")[0][1][
        "suggestion"], "model": "codes", "code_id": code_id, "start": span[0], "end": span[1]})]
    assert rows(processed, provenance=PROVENANCE_SUGGESTED) == []
    keys = [b.key for b in at.button if (b.key or "").startswith("coding_sugg_reject_")]
    assert f"coding_sugg_reject_{code_id}" not in keys  # gone for this selection
    assert any("0 accepted, 1 rejected (precision 0%)" in c for c in captions(at))


def test_find_more_in_this_transcript_codes_one(processed, app_for):
    at = app_for(CODING, "ana")
    doc = open_doc(at, processed)
    with processed.session() as s:
        p, ana = who(s, "ana")
        code_id = code_tree(s, p).resolve(CODE).id
    at.selectbox(key="coding_more_code").set_value(code_id).run()
    assert not at.exception
    code_buttons = [b for b in at.button if (b.key or "").startswith("coding_more_code_")]
    assert code_buttons
    start = int(code_buttons[0].key.rsplit("_", 1)[1])
    code_buttons[0].click().run()
    assert not at.exception
    stored = rows(processed, provenance=PROVENANCE_SUGGESTED)
    assert len(stored) == 1 and stored[0][:2] == (doc[0], start) and stored[0][3] == code_id
    assert [(a, e["model"]) for a, e in events(processed, "suggestion.accept")] == [(ana.id, "more")]
    assert f"coding_more_code_{start}" not in [b.key for b in at.button]  # coded now: no longer offered


# --- Suggestions page -------------------------------------------------------------------------

def test_keyphrases_view_by_document_and_by_role(processed, app_for):
    at = app_for(SUGGEST, "ben")
    at.run()
    at.radio(key="sugg_view").set_value("Keyphrases").run()
    assert not at.exception
    overview = at.dataframe[0].value
    assert list(overview.columns) == ["group", "sentences", "keyphrases"] and len(overview) == 8
    assert len(at.expander) == 8 and len(at.dataframe) == 9
    first = at.dataframe[1].value
    assert list(first.columns) == ["phrase", "z", "here", "elsewhere", "example", "from"] and len(first) == 10
    assert overview["keyphrases"][0] == ", ".join(first["phrase"])
    at.selectbox(key="sugg_kp_by").set_value("role").run()
    assert not at.exception
    assert {e.label.split(" · ")[0] for e in at.expander} >= {"Principal", "Special educator"}
    assert "documents" in at.dataframe[0].value.columns


def test_more_like_a_code_view_codes_and_dismisses(processed, app_for):
    at = app_for(SUGGEST, "ana")
    at.run()
    at.radio(key="sugg_view").set_value("More like a code").run()
    with processed.session() as s:
        p, ana = who(s, "ana")
        code_id = code_tree(s, p).resolve(CODE).id
    at.selectbox(key="sugg_more_code").set_value(code_id).run()
    assert not at.exception
    dismiss = [b for b in at.button if (b.key or "").endswith("_dismiss") and b.key.startswith("sugg_more_")]
    code = [b for b in at.button if (b.key or "").endswith("_code") and b.key.startswith("sugg_more_")]
    assert len(code) == 10
    first_doc, first_start = code[0].key.removeprefix("sugg_more_").removesuffix("_code").rsplit("_", 1)
    code[0].click().run()
    assert not at.exception
    stored = rows(processed, provenance=PROVENANCE_SUGGESTED)
    assert [(d, a, c) for d, a, _, c, _ in stored] == [(first_doc, int(first_start), code_id)]
    dismiss = [b for b in at.button if (b.key or "").endswith("_dismiss") and b.key.startswith("sugg_more_")]
    gone = dismiss[0].key
    dismiss[0].click().run()
    assert not at.exception
    (actor, ev), = events(processed, "suggestion.reject")
    assert (actor, ev["model"], ev["code_id"]) == (ana.id, "more", code_id)
    assert gone not in [b.key for b in at.button]
    assert any("1 coded, 1 dismissed (precision 50%)" in c for c in captions(at))
    # Show opens the coding page on that document with the sentence selected
    show = next(b for b in at.button if (b.key or "").startswith("sugg_more_") and b.key.endswith("_show"))
    doc_id, start = show.key.removeprefix("sugg_more_").removesuffix("_show").rsplit("_", 1)
    show.click().run()
    assert not at.exception
    assert at.session_state["coding_doc"] == doc_id and at.title[0].value == "Code transcripts"
    with processed.session() as s:
        text = s.get(Document, doc_id).text
    assert at.session_state["coding_select"]["start"] == Utf16Map(text).to_utf16(int(start))


def test_themes_view_still_finds_and_applies(processed, app_for):
    at = app_for(SUGGEST, "ana")
    at.run()
    at.button(key="sugg_find").click().run()
    assert not at.exception and at.expander
    assert at.button(key="sugg_1_apply").disabled  # nothing is preselected (issue 18)
    for i in range(3):  # the lead ticks the quotes that fit
        at.checkbox(key=f"sugg_1_q{i}").check()
    at.run()
    at.button(key="sugg_1_apply").click().run()
    assert not at.exception
    with processed.session() as s:
        n = s.scalar(select(func.count()).select_from(Coding).where(Coding.provenance == PROVENANCE_SUGGESTED))
    assert n == 3
