"""New codes made while coding: a lead's go into the codebook, a coder's are proposals
that only they (and leads) see and use until a lead accepts, merges or rejects them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.work.codings import apply_codes, coding_views
from coding.work.documents import get_document
from coding.errors import ConflictError, PermissionDeniedError
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.codebook.proposals import accept_proposal, create_code_while_coding, proposals, reject_proposal
from coding.store.models import Code, Coding, Event

DOC = "P02_teacher_School-I_3"


@pytest.fixture
def env(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        who = {n: Member.of(get_member(s, p, n)) for n in ("lead", "ana", "ben")}
    return demo_store, who


def test_a_coder_proposes_uses_it_and_others_do_not_see_it(env):
    store, who = env
    with store.session() as s:
        p = get_project(s, "demo")
        parent = code_tree(s, p).resolve("Implementation factors").id
        code = create_code_while_coding(s, p, who["ana"], "Time  protected by the principal", parent_id=parent,
                                        definition="The principal keeps the team's time free")
        assert (code.status, code.proposed_by, code.name) == ("proposed", who["ana"].id,
                                                              "Time protected by the principal")
        doc = get_document(s, p, DOC)
        made = apply_codes(s, p, who["ana"], doc, [code.id], 100, 140)
        info = code_tree(s, p).info[code.id]
        assert info.visible_to(who["ana"].id, False) and info.visible_to(who["lead"].id, True)
        assert not info.visible_to(who["ben"].id, False)
        assert [x["name"] for x in proposals(s, p, who["ben"])] == []
        assert [(x["name"], x["codings"]) for x in proposals(s, p, who["lead"])] == [
            ("Time protected by the principal", 1)]
        assert made and [v.code_path for v in coding_views(s, p, who["ana"], doc) if v.id == made[0].id] == [
            "Implementation factors/Time protected by the principal"]
        with pytest.raises(PermissionDeniedError):
            accept_proposal(s, p, who["ana"], code.id)
        assert s.scalar(select(Event.action).where(Event.object_id == code.id)) == "code.propose"


def test_lead_accepts_renamed_or_merges_or_rejects(env):
    store, who = env
    with store.session() as s:
        p = get_project(s, "demo")
        doc = get_document(s, p, DOC)
        a = create_code_while_coding(s, p, who["ana"], "Protected time")
        b = create_code_while_coding(s, p, who["ben"], "Trust")
        c = create_code_while_coding(s, p, who["ben"], "Noise")
        ca = apply_codes(s, p, who["ana"], doc, [a.id], 10, 50)[0].id
        cb = apply_codes(s, p, who["ben"], doc, [b.id], 60, 90)[0].id
        cc = apply_codes(s, p, who["ben"], doc, [c.id], 95, 120)[0].id
        target = code_tree(s, p).resolve("Implementation factors/Enabling factors").id
        accept_proposal(s, p, who["lead"], a.id, name="Protected meeting time")
        assert (s.get(Code, a.id).status, s.get(Code, a.id).name) == ("active", "Protected meeting time")
        assert reject_proposal(s, p, who["lead"], b.id, merge_into=target) == 1
        assert s.get(Code, b.id) is None and s.get(Coding, cb).code_id == target
        assert reject_proposal(s, p, who["lead"], c.id) == 1
        assert s.get(Code, c.id) is None and s.get(Coding, cc) is None
        assert s.get(Coding, ca).code_id == a.id
        with pytest.raises(ConflictError, match="not a proposal"):
            accept_proposal(s, p, who["lead"], a.id)
        kinds = [e for e, in s.execute(select(Event.action).where(Event.action.like("code.%")))]
        assert {"code.propose", "code.accept", "code.reject", "code.merge", "code.delete"} <= set(kinds)


def test_a_lead_adds_the_code_directly(env):
    store, who = env
    with store.session() as s:
        p = get_project(s, "demo")
        code = create_code_while_coding(s, p, who["lead"], "Leadership style")
        assert code.status == "active" and code.proposed_by is None


def test_page_new_code_applies_to_the_selection(app_for, demo_store):
    from tests.pages.test_page_coding import _doc, _select

    p, doc_id, text = _doc(demo_store)
    at = app_for("app_pages/coding_page.py", "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    span = _select(at, text, text[500:540])
    at.run()
    at.text_input(key="coding_new_name").input("Fatigue with projects")
    at.button(key="coding_new_make").click().run()
    assert not at.exception
    with demo_store.session() as s:
        code = s.scalar(select(Code).where(Code.name == "Fatigue with projects"))
        rows = s.scalars(select(Coding).where(Coding.code_id == code.id)).all()
    assert code.status == "proposed"
    assert [(r.document_id, r.start, r.end) for r in rows] == [(doc_id, *span)]
    # the lead decides on the Codebook page
    lead = app_for("app_pages/codebook_page.py", "lead")
    lead.run()
    lead.button(key=f"codebook_prop_accept_{code.id}").click().run()
    assert not lead.exception
    with demo_store.session() as s:
        assert s.get(Code, code.id).status == "active"
