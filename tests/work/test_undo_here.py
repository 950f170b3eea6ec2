"""Undo and redo on one document (coding.work.undo, issue 17 item 6): on harbour, tom's
Undo on Docker_02 never touches his codings on Docker_01, and the step is named by its
code and quoted text. Assertions read the stored codings."""

from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.store.models import Coding, Document
from coding.work.codings import apply_codes, last_undoable, recode, remove_coding, set_memo
from coding.work.documents import get_document
from coding.work.undo import last_redoable_here, last_undoable_here, redo_here, undo_here


def _setup(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        tree = code_tree(s, p)
        gang, contain = tree.resolve("Work/Gang labour").id, tree.resolve("Change/Containerisation").id
        d1, d2 = get_document(s, p, "Docker_01"), get_document(s, p, "Docker_02")
        a = d1.text.index("Gangs of eight")
        on_d1 = apply_codes(s, p, tom, d1, [gang], a, a + len("Gangs of eight"))[0].id
        b = d2.text.index("The union fought")
        on_d2 = apply_codes(s, p, tom, d2, [contain], b, b + len("The union fought"))[0].id
        # tom's very last action is on Docker_01 again: a global undo would take it
        c = d1.text.index("Containers came in 1978")
        last_d1 = apply_codes(s, p, tom, d1, [contain], c, c + len("Containers came in 1978"))[0].id
        return d1.id, d2.id, on_d1, on_d2, last_d1


def _codings(team, doc_id):
    with team.store.session() as s:
        return {c.id for c in s.scalars(select(Coding).where(Coding.document_id == doc_id))}


def test_undo_on_one_document_never_removes_a_coding_on_another(team):
    d1, d2, on_d1, on_d2, last_d1 = _setup(team)
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        assert last_undoable(s, p, tom).object_id == d1    # the member's last step overall is on Docker_01
        step = last_undoable_here(s, p, tom, d2)
        assert step.label == "applying Containerisation to “The union fought”"
        r = undo_here(s, p, tom, d2, step.event_id)
        assert r.done and r.message == "Undid applying Containerisation to “The union fought”"
    assert _codings(team, d1) >= {on_d1, last_d1}
    assert on_d2 not in _codings(team, d2)
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        assert last_undoable_here(s, p, tom, d2) is None           # nothing more to undo here
        # a step of Docker_01 named while Docker_02 is shown is refused, nothing changes
        other = last_undoable_here(s, p, tom, d1)
        r = undo_here(s, p, tom, d2, other.event_id)
        assert not r.done and "Nothing undone" in r.message
        redo_step = last_redoable_here(s, p, tom, d2)
        assert redo_step.label == "applying Containerisation to “The union fought”"
        assert last_redoable_here(s, p, tom, d1) is None
        r = redo_here(s, p, tom, d2, redo_step.event_id)
        assert r.done and r.message == "Redid applying Containerisation to “The union fought”"
    assert len(_codings(team, d2)) == 1 and _codings(team, d1) >= {on_d1, last_d1}


def test_steps_are_named_by_code_and_text_and_a_stale_id_undoes_nothing(team):
    d1, d2, on_d1, on_d2, last_d1 = _setup(team)
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        job = code_tree(s, p).resolve("Change/Job loss").id
        stale = last_undoable_here(s, p, tom, d1).event_id
        set_memo(s, p, tom, on_d1, "gangs")
        assert last_undoable_here(s, p, tom, d1).label == "the memo on Gang labour at “Gangs of eight”"
        recode(s, p, tom, last_d1, job)
        assert last_undoable_here(s, p, tom, d1).label == \
            "changing “Containers came in 1978” from Containerisation to Job loss"
        remove_coding(s, p, tom, on_d1)
        assert last_undoable_here(s, p, tom, d1).label == "removing Gang labour from “Gangs of eight”"
        # the page showed an older step: nothing is undone
        r = undo_here(s, p, tom, d1, stale)
        assert not r.done
    assert on_d1 not in _codings(team, d1)
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        r = undo_here(s, p, tom, d1, last_undoable_here(s, p, tom, d1).event_id)
        assert r.done and r.message == "Undid removing Gang labour from “Gangs of eight”"
    assert on_d1 in _codings(team, d1)
    # li sees none of tom's steps
    with team.store.session() as s:
        p, li = team.project(s), team.member(s, "li")
        assert last_undoable_here(s, p, li, d1) is None
        assert s.scalar(select(Document.name).where(Document.id == d1)) == "Docker_01"
