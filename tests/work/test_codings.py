"""Coding rules live in the engine: ownership, the blind rule, codable codes, spans, undo."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.codings import (
    apply_codes, code_turn, coding_views, recent_code_ids, remove_coding, set_memo, undo_last, visible_codings, widen,
)
from coding.work.documents import import_uploads, list_documents
from coding.errors import ConflictError, OffsetError, PermissionDeniedError
from coding.team.projects import add_member, create_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round, progress, reveal, set_status
from coding.store.models import Coding, Event

REPO = Path(__file__).resolve().parents[2]
TEXT = ("Interviewer: How did planning go?\n\n"
        "Teacher: We planned together every Tuesday. Then we observed José 👏 teach it. It was hard.\n\n"
        "Interviewer: And feedback?\n")


@pytest.fixture
def env(store):
    with store.session() as s:
        p = create_project(s, "rules", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("T1.txt", TEXT.encode())], actor=lead)
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead))
        ben = Member.of(add_member(s, p, "ben", "coder", actor=lead, password="correct horse"))
        tree = code_tree(s, p)
        codes = {k: tree.resolve(v).id for k, v in {
            "plan": "CIC Project/Collaboration between teachers/Joint planning",
            "obs": "CIC Project/Collaboration between teachers/Peer observation",
            "folder": "CIC Project"}.items()}
    return store, p, ana, ben, lead, codes


def _doc(s, p):
    return list_documents(s, p)[0]


def span_of(phrase):
    i = TEXT.index(phrase)
    return i, i + len(phrase)


def test_apply_several_codes_and_see_them(env):
    store, p, ana, ben, lead, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        planned = span_of("We planned together every Tuesday.")
        made = apply_codes(s, p, ana, doc, [codes["plan"], codes["obs"]], *planned)
        assert len(made) == 2
        again = apply_codes(s, p, ana, doc, [codes["plan"]], *span_of("We planned together every Tuesday."))
        assert again == []  # the same code on the same span is not duplicated
        views = coding_views(s, p, ana, doc)
        assert {v.code_path.rsplit("/", 1)[1] for v in views} == {"Joint planning", "Peer observation"}
        assert all(TEXT[v.start:v.end] == "We planned together every Tuesday." for v in views)
        assert recent_code_ids(s, p, ana)[0] in {codes["plan"], codes["obs"]}


def test_folders_and_bad_spans_are_refused(env):
    store, p, ana, _, _, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        with pytest.raises(ConflictError, match="is a folder"):
            apply_codes(s, p, ana, doc, [codes["folder"]], 0, 5)
        with pytest.raises(OffsetError, match="does not fit"):
            apply_codes(s, p, ana, doc, [codes["plan"]], 5, len(TEXT) + 1)


def test_a_coder_cannot_touch_another_coders_codings(env):
    store, p, ana, ben, lead, codes = env
    with store.session() as s:
        c = apply_codes(s, p, ana, _doc(s, p), [codes["plan"]], 0, 10)[0]
    with store.session() as s:
        for act in (lambda: remove_coding(s, p, ben, c.id), lambda: set_memo(s, p, ben, c.id, "x"),
                    lambda: widen(s, p, ben, c.id, "turn")):
            with pytest.raises(PermissionDeniedError, match="another coder"):
                act()
        with pytest.raises(PermissionDeniedError, match="only a lead"):
            open_round(s, p, ana, "R1")
        with pytest.raises(PermissionDeniedError, match="cannot write the consensus layer"):
            apply_codes(s, p, ana, _doc(s, p), [codes["plan"]], 0, 10, layer="consensus")


def test_blind_round_hides_other_coders_until_revealed(env):
    store, p, ana, ben, lead, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        apply_codes(s, p, ana, doc, [codes["plan"]], *span_of("We planned together"))
        apply_codes(s, p, ben, doc, [codes["plan"]], *span_of("planned together every Tuesday"))
        # no round: everyone sees everything
        assert len(visible_codings(s, p, ana, doc)) == 2
        rnd = open_round(s, p, lead, "Round 1", blind=True)
        from coding.team.members import get_member
        assign(s, p, lead, rnd, [doc], [get_member(s, p, "ana"), get_member(s, p, "ben")])
        assert [c.coder_id for c in visible_codings(s, p, ana, doc)] == [ana.id]
        assert [c.coder_id for c in visible_codings(s, p, ben, doc)] == [ben.id]
        assert len(visible_codings(s, p, lead, doc)) == 2
        assert {r["status"] for r in progress(s, p, lead)} == {"not started"}
        apply_codes(s, p, ana, doc, [codes["obs"]], *span_of("observed José"))
        set_status(s, p, ben, doc, "done")
        assert {(r["coder"], r["status"]) for r in progress(s, p, lead)} == {("ana", "in progress"), ("ben", "done")}
        with pytest.raises(PermissionDeniedError):
            reveal(s, p, ana, rnd)
        reveal(s, p, lead, rnd)
        assert len(visible_codings(s, p, ana, doc)) == 3


def test_widen_code_turn_and_undo(env):
    store, p, ana, _, _, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        c = apply_codes(s, p, ana, doc, [codes["obs"]], *span_of("observed José"))[0]
        widen(s, p, ana, c.id, "sentence")
        assert TEXT[c.start:c.end] == "Then we observed José 👏 teach it."
        widen(s, p, ana, c.id, "turn")
        whole = "We planned together every Tuesday. Then we observed José 👏 teach it. It was hard."
        assert TEXT[c.start:c.end] == whole
        set_memo(s, p, ana, c.id, "whole turn is about observation")
        turn = code_turn(s, p, ana, doc, 2, [codes["plan"]])
        assert TEXT[turn[0].start:turn[0].end] == "And feedback?"
        # undo walks back: code_turn, memo, widen(turn), widen(sentence), add
        assert undo_last(s, p, ana) == "coding.add"
        assert len(visible_codings(s, p, ana, doc)) == 1
        assert undo_last(s, p, ana) == "coding.memo" and c.memo == ""
        assert undo_last(s, p, ana) == "coding.widen"
        assert TEXT[c.start:c.end] == "Then we observed José 👏 teach it."
        remove_coding(s, p, ana, c.id)
        assert visible_codings(s, p, ana, doc) == []
        assert undo_last(s, p, ana) == "coding.remove"
        assert [TEXT[x.start:x.end] for x in visible_codings(s, p, ana, doc)] == ["Then we observed José 👏 teach it."]
        actions = [e.action for e in s.scalars(select(Event).where(Event.actor == "ana").order_by(Event.seq))]
        assert actions.count("undo") == 4 and actions.count("coding.add") == 2


# --- issue 7: selections belong to a document; undo/redo; boundaries; widening ---------------

TIMED = ("[00:00:05] Interviewer: How did planning go?\n\n"
         "[00:00:55] Teacher: We planned together every Tuesday. Then we observed José teach it.\n")


def _browser_sel(doc, phrase, text=TEXT):
    from coding.work.codings import BrowserSelection
    from coding.text.offsets import Utf16Map

    i = text.index(phrase)
    a, b = Utf16Map(text).span_to_utf16(i, i + len(phrase))
    return BrowserSelection(doc.id, doc.sha256, a, b, phrase)


def test_selection_is_checked_against_the_document_it_came_from(env):
    from dataclasses import replace

    from coding.work.codings import apply_to_selection

    store, p, ana, _, _, codes = env
    with store.session() as s:
        import_uploads(s, p, [("T2.txt", ("x" * 20 + TEXT).encode())], actor=ana)
        doc, other = sorted(list_documents(s, p), key=lambda d: d.name)
        sel = _browser_sel(doc, "observed José 👏 teach")
        made = apply_to_selection(s, p, ana, sel, [codes["obs"]], document_id=doc.id)
        assert [(c.document_id, TEXT[c.start:c.end]) for c in made] == [(doc.id, "observed José 👏 teach")]
        n = s.scalar(select(func.count()).select_from(Coding))
        with pytest.raises(ConflictError, match="another document"):
            apply_to_selection(s, p, ana, sel, [codes["plan"]], document_id=other.id)
        with pytest.raises(ConflictError, match="another version"):
            apply_to_selection(s, p, ana, replace(sel, sha256="0" * 64), [codes["plan"]], document_id=doc.id)
        with pytest.raises(ConflictError, match="does not match"):
            apply_to_selection(s, p, ana, replace(sel, text="something else"), [codes["plan"]], document_id=doc.id)
        with pytest.raises(OffsetError, match="outside the text"):
            apply_to_selection(s, p, ana, replace(sel, start=5000, end=5010, text=""), [codes["plan"]],
                               document_id=doc.id)
        assert s.scalar(select(func.count()).select_from(Coding)) == n


def test_adjust_recode_undo_and_redo(env):
    from coding.work.codings import adjust_coding, last_redoable, last_undoable, recode, redo, undo

    store, p, ana, ben, _, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        c = apply_codes(s, p, ana, doc, [codes["obs"]], *span_of("observed José"))[0]
        adjust_coding(s, p, ana, c.id, _browser_sel(doc, "we observed José 👏 teach it"))
        assert TEXT[c.start:c.end] == "we observed José 👏 teach it"
        recode(s, p, ana, c.id, codes["plan"])
        assert c.code_id == codes["plan"]
        with pytest.raises(ConflictError, match="folder"):
            recode(s, p, ana, c.id, codes["folder"])
        with pytest.raises(PermissionDeniedError):
            adjust_coding(s, p, ben, c.id, _browser_sel(doc, "observed"))
        r = undo(s, p, ana, last_undoable(s, p, ana).id)
        assert r.done and c.code_id == codes["obs"]
        r = undo(s, p, ana, last_undoable(s, p, ana).id)
        assert r.done and TEXT[c.start:c.end] == "observed José"
        # redo re-applies in order, once each
        u = last_redoable(s, p, ana)
        assert redo(s, p, ana, u.id).done and TEXT[c.start:c.end] == "we observed José 👏 teach it"
        assert not redo(s, p, ana, u.id).done
        assert redo(s, p, ana, last_redoable(s, p, ana).id).done and c.code_id == codes["plan"]
        assert last_redoable(s, p, ana) is None
        # a new action ends the redo chain
        undo(s, p, ana, last_undoable(s, p, ana).id)
        set_memo(s, p, ana, c.id, "new")
        assert last_redoable(s, p, ana) is None


def test_undo_refuses_when_the_code_was_merged_away_and_moves_on(env):
    from coding.codebook.restructure import merge_codes
    from coding.work.codings import last_undoable, undo

    store, p, ana, _, lead, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        first = apply_codes(s, p, ana, doc, [codes["plan"]], *span_of("We planned together"))[0]
        c = apply_codes(s, p, ana, doc, [codes["obs"]], *span_of("observed José"))[0]
        remove_coding(s, p, ana, c.id)
    with store.session() as s:
        merge_codes(s, p, lead, codes["obs"], codes["plan"])
    with store.session() as s:
        r = undo(s, p, ana, last_undoable(s, p, ana).id)
        assert not r.done and "deleted or merged" in r.message
        assert s.get(Coding, c.id) is None
        # not stuck: undo goes further back (applying the merged-away coding: gone already)
        r = undo(s, p, ana, last_undoable(s, p, ana).id)
        assert not r.done and "no longer exists" in r.message
        r = undo(s, p, ana, last_undoable(s, p, ana).id)
        assert r.done and s.get(Coding, first.id) is None


def test_undo_refuses_to_restore_a_coding_on_a_folder(env):
    from coding.codebook.edits import edit_code
    from coding.work.codings import last_undoable, undo

    store, p, ana, _, lead, codes = env
    with store.session() as s:
        doc = _doc(s, p)
        c = apply_codes(s, p, ana, doc, [codes["obs"]], *span_of("observed José"))[0]
        remove_coding(s, p, ana, c.id)
        edit_code(s, p, lead, codes["obs"], codable=False)
        r = undo(s, p, ana, last_undoable(s, p, ana).id)
        assert not r.done and "folder" in r.message
        assert s.get(Coding, c.id) is None


def test_widening_never_takes_the_speaker_label_or_timestamp(env):
    store, p, ana, _, _, codes = env
    with store.session() as s:
        import_uploads(s, p, [("timed.txt", TIMED.encode())], actor=ana)
        doc = next(d for d in list_documents(s, p) if d.name == "timed")
        i = TIMED.index("We planned")
        c = apply_codes(s, p, ana, doc, [codes["plan"]], i, i + len("We planned"))[0]
        widen(s, p, ana, c.id, "sentence")
        assert TIMED[c.start:c.end] == "We planned together every Tuesday."
        widen(s, p, ana, c.id, "turn")
        assert TIMED[c.start:c.end] == "We planned together every Tuesday. Then we observed José teach it."
