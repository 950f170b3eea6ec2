"""Codebook editing: lead-only operations, one event each with the author, version bumps,
merge moving codings, guarded delete, tree rules (no cycles, unique sibling names)."""

import json

import pytest
from sqlalchemy import func, select

from coding.codebook.tree import code_tree
from coding.codebook.edits import PALETTE, add_code, edit_code, move_code, rename_code
from coding.codebook.history import codebook_changes
from coding.codebook.restructure import coding_impact, delete_code, delete_impact, merge_codes, split_code
from coding.work.codings import apply_codes
from coding.work.documents import list_documents
from coding.errors import CodebookError, ConflictError, NotFoundError, PermissionDeniedError
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member
from coding.store.models import Code, Coding, Event

TEACHERS = "CIC Project/Collaboration between teachers"
PLANNING = f"{TEACHERS}/Joint planning"
FEEDBACK = f"{TEACHERS}/Feedback"
WITHIN = "CIC Project/Collaboration within the school"


def _demo(s):
    p = get_project(s, "demo")
    lead, ana = (Member.of(get_member(s, p, n)) for n in ("lead", "ana"))
    return p, lead, ana


def _id(s, p, path):
    return code_tree(s, p).resolve(path).id


def _events(s, p, action):
    return list(s.scalars(select(Event).where(Event.project_id == p.id, Event.action == action)
                          .order_by(Event.seq)))


def _count(s, code_id, **where):
    q = select(func.count()).select_from(Coding).where(Coding.code_id == code_id)
    for k, v in where.items():
        q = q.where(getattr(Coding, k) == v)
    return s.scalar(q)


@pytest.fixture
def small(store):
    """An empty project with a lead and a coder."""
    with store.session() as s:
        p = create_project(s, "small", lead_name="pat", local_mode=True)
        lead = Member.of(get_member(s, p, "pat"))
        coder = Member.of(add_member(s, p, "cody", "coder", actor=lead))
    return store, p, lead, coder


def test_add_codes_with_placement_colours_events_and_versions(small):
    store, p, lead, _ = small
    with store.session() as s:
        p = s.merge(p)
        v0 = p.codebook_version
        top = add_code(s, p, lead, None, "Barriers", codable=False, definition="  Folder  ")
        a = add_code(s, p, lead, top.id, "Time")
        c = add_code(s, p, lead, top.id, "Money", colour="#AABBCC")
        b = add_code(s, p, lead, top.id, "Staff", after_id=a.id)
        assert p.codebook_version == v0 + 4
        tree = code_tree(s, p)
        assert [i.path for i in tree.infos] == ["Barriers", "Barriers/Time", "Barriers/Staff", "Barriers/Money"]
        assert top.definition == "Folder" and not top.codable and b.codable
        assert c.colour == "#aabbcc"
        defaults = [top.colour, a.colour, b.colour]
        assert len(set(defaults)) == 3 and set(defaults) <= set(PALETTE)
        evs = _events(s, p, "code.add")
        assert len(evs) == 4 and {e.actor for e in evs} == {"pat"}
        payload = json.loads(evs[-1].payload)
        assert payload["before"] is None and payload["after"]["path"] == "Barriers/Staff"
        assert payload["codebook_version"] == v0 + 4
        with pytest.raises(ConflictError, match="not a child of"):
            add_code(s, p, lead, None, "Elsewhere", after_id=a.id)
        with pytest.raises(NotFoundError, match="reload the codebook"):
            add_code(s, p, lead, "no-such-id", "Orphan")


def test_name_rules_and_sibling_clash(small):
    store, p, lead, _ = small
    with store.session() as s:
        p = s.merge(p)
        top = add_code(s, p, lead, None, "Barriers")
        time = add_code(s, p, lead, top.id, "Time")
        add_code(s, p, lead, None, "Time")  # same name, other parent: fine
        with pytest.raises(ConflictError, match="'Barriers/Time' already exists"):
            add_code(s, p, lead, top.id, "  time ")
        with pytest.raises(CodebookError, match="contains '/'"):
            add_code(s, p, lead, top.id, "Time/Money")
        with pytest.raises(CodebookError, match="missing or empty"):
            add_code(s, p, lead, top.id, "   ")
        with pytest.raises(CodebookError, match="colour"):
            add_code(s, p, lead, top.id, "Space", colour="red")
        money = add_code(s, p, lead, top.id, "Money")
        with pytest.raises(ConflictError, match="'Barriers/Time' already exists"):
            rename_code(s, p, lead, money.id, "TIME")
        rename_code(s, p, lead, time.id, "TIME")  # its own name in another case is allowed
        assert time.name == "TIME"


def test_a_coder_cannot_change_the_codebook(demo_store):
    with demo_store.session() as s:
        p, lead, ana = _demo(s)
        v0 = p.codebook_version
        n_events = s.scalar(select(func.count()).select_from(Event))
        plan, fb = _id(s, p, PLANNING), _id(s, p, FEEDBACK)
        attempts = [
            lambda: add_code(s, p, ana, None, "Mine"),
            lambda: rename_code(s, p, ana, plan, "Planning"),
            lambda: edit_code(s, p, ana, plan, definition="x"),
            lambda: move_code(s, p, ana, plan, None),
            lambda: merge_codes(s, p, ana, plan, fb),
            lambda: split_code(s, p, ana, plan, ["A", "B"]),
            lambda: delete_code(s, p, ana, plan, confirm_count=coding_impact(s, plan)),
        ]
        for act in attempts:
            with pytest.raises(PermissionDeniedError, match="'ana' is a coder and cannot edit the codebook: only a lead can"):
                act()
        assert p.codebook_version == v0
        assert s.scalar(select(func.count()).select_from(Event)) == n_events
        assert code_tree(s, p).resolve(PLANNING).name == "Joint planning"


def test_a_member_of_another_project_is_refused(demo_store, small):
    _, other, other_lead, _ = small
    with demo_store.session() as s:
        p, _, _ = _demo(s)
        with pytest.raises(PermissionDeniedError, match="not a member of 'demo'"):
            add_code(s, p, other_lead, None, "Intruder")


def test_rename_and_edit_log_before_and_after(demo_store):
    with demo_store.session() as s:
        p, lead, _ = _demo(s)
        v0 = p.codebook_version
        plan = _id(s, p, PLANNING)
        rename_code(s, p, lead, plan, "Lesson planning")
        assert code_tree(s, p).info[plan].path == f"{TEACHERS}/Lesson planning"
        ev = _events(s, p, "code.rename")[-1]
        payload = json.loads(ev.payload)
        assert ev.actor == "lead" and ev.object_id == plan
        assert payload["before"]["name"] == "Joint planning" and payload["after"]["name"] == "Lesson planning"
        assert payload["before"]["path"] == PLANNING

        edit_code(s, p, lead, plan, definition="  Planning a lesson together. ", colour="#00FF00",
                  example="We met on Tuesdays.")
        code = s.get(Code, plan)
        assert code.definition == "Planning a lesson together." and code.colour == "#00ff00"
        ev = _events(s, p, "code.edit")[-1]
        payload = json.loads(ev.payload)
        assert payload["fields"] == ["colour", "definition", "example"]
        assert payload["before"]["colour"] == "#4a7fd0" and payload["after"]["colour"] == "#00ff00"
        assert p.codebook_version == v0 + 2

        # nothing changed: no event, no version bump
        rename_code(s, p, lead, plan, "Lesson planning")
        edit_code(s, p, lead, plan, definition="Planning a lesson together.")
        assert p.codebook_version == v0 + 2 and len(_events(s, p, "code.edit")) == 1

        with pytest.raises(CodebookError, match="colour"):
            edit_code(s, p, lead, plan, colour="blue")
        with pytest.raises(CodebookError, match="use rename_code"):
            edit_code(s, p, lead, plan, name="Other")
        with pytest.raises(CodebookError, match="'codable' is 'no'"):
            edit_code(s, p, lead, plan, codable="no")


def test_a_code_with_codings_cannot_become_a_folder(demo_store):
    with demo_store.session() as s:
        p, lead, _ = _demo(s)
        plan = _id(s, p, PLANNING)
        n = _count(s, plan)
        assert n > 0
        with pytest.raises(ConflictError, match=rf"'{PLANNING}' has {n} codings.*move them first"):
            edit_code(s, p, lead, plan, codable=False)
        assert s.get(Code, plan).codable
        empty = add_code(s, p, lead, plan, "Timetabling")
        edit_code(s, p, lead, empty.id, codable=False)
        assert not empty.codable
        edit_code(s, p, lead, empty.id, codable=True)
        assert empty.codable


def test_move_keeps_codings_and_refuses_cycles_and_clashes(demo_store):
    with demo_store.session() as s:
        p, lead, _ = _demo(s)
        teachers, plan = _id(s, p, TEACHERS), _id(s, p, PLANNING)
        n = _count(s, plan)
        with pytest.raises(ConflictError, match="itself or one of its sub-codes"):
            move_code(s, p, lead, teachers, plan)
        with pytest.raises(ConflictError, match="itself or one of its sub-codes"):
            move_code(s, p, lead, teachers, teachers)
        v0 = p.codebook_version
        move_code(s, p, lead, plan, None)
        tree = code_tree(s, p)
        assert tree.info[plan].path == "Joint planning" and tree.infos[-1].id == plan
        assert _count(s, plan) == n and p.codebook_version == v0 + 1
        payload = json.loads(_events(s, p, "code.move")[-1].payload)
        assert payload["before"]["path"] == PLANNING and payload["after"]["path"] == "Joint planning"
        move_code(s, p, lead, plan, teachers)  # back again
        assert code_tree(s, p).info[plan].path == PLANNING
        twin = add_code(s, p, lead, None, "joint PLANNING")
        with pytest.raises(ConflictError, match=f"'{PLANNING}' already exists"):
            move_code(s, p, lead, twin.id, teachers)
        move_code(s, p, lead, plan, teachers)  # already there: no event
        assert len(_events(s, p, "code.move")) == 2


def test_merge_moves_every_coding_and_drops_duplicates(demo_store):
    with demo_store.session() as s:
        p, lead, ana = _demo(s)
        plan, fb = _id(s, p, PLANNING), _id(s, p, FEEDBACK)
        doc = list_documents(s, p)[0]
        # a span ana coded with Joint planning, now also with Feedback: the merge must not duplicate it
        dup = s.scalars(select(Coding).where(Coding.code_id == plan, Coding.coder_id == ana.id)).first()
        doc_of_dup = next(d for d in list_documents(s, p) if d.id == dup.document_id)
        dup.memo = "planning memo"
        apply_codes(s, p, ana, doc_of_dup, [fb], dup.start, dup.end)
        # and a consensus coding by the lead on Joint planning
        consensus = apply_codes(s, p, lead, doc, [plan], 0, 20, layer="consensus")[0]
        src_n, tgt_n = _count(s, plan), _count(s, fb)
        coders_src = {c for c in s.scalars(select(Coding.coder_id).where(Coding.code_id == plan))}
        assert len(coders_src) == 3  # ana, ben and the lead's consensus
        v0 = p.codebook_version

        moved = merge_codes(s, p, lead, plan, fb)
        assert moved == src_n - 1
        assert s.get(Code, plan) is None
        assert _count(s, plan) == 0 and _count(s, fb) == tgt_n + src_n - 1
        assert s.get(Coding, consensus.id).code_id == fb and _count(s, fb, layer="consensus") == 1
        assert _count(s, fb, coder_id=ana.id, document_id=dup.document_id, start=dup.start, end=dup.end) == 1
        kept = s.scalar(select(Coding).where(Coding.code_id == fb, Coding.coder_id == ana.id,
                                             Coding.start == dup.start, Coding.end == dup.end))
        assert kept.memo == "planning memo"
        assert p.codebook_version == v0 + 1
        ev = _events(s, p, "code.merge")[-1]
        payload = json.loads(ev.payload)
        assert ev.actor == "lead" and len(payload["moved_coding_ids"]) == moved and len(payload["dropped"]) == 1
        assert payload["before"]["source"]["path"] == PLANNING


def test_merge_moves_children_and_checks_the_target(demo_store):
    with demo_store.session() as s:
        p, lead, _ = _demo(s)
        teachers, within, plan = _id(s, p, TEACHERS), _id(s, p, WITHIN), _id(s, p, PLANNING)
        with pytest.raises(ConflictError, match="its own sub-code"):
            merge_codes(s, p, lead, teachers, plan)
        with pytest.raises(ConflictError, match="into itself"):
            merge_codes(s, p, lead, plan, plan)
        with pytest.raises(ConflictError, match="is a folder"):
            merge_codes(s, p, lead, plan, _id(s, p, "CIC Project/Support mechanisms"))
        clash = add_code(s, p, lead, within, "Feedback")
        with pytest.raises(ConflictError, match=f"'{WITHIN}/Feedback' already exists"):
            merge_codes(s, p, lead, teachers, within)
        delete_code(s, p, lead, clash.id, confirm_count=0)
        total = _count(s, teachers) + _count(s, within)
        merge_codes(s, p, lead, teachers, within)
        tree = code_tree(s, p)
        assert tree.info[plan].path == f"{WITHIN}/Joint planning"
        assert [tree.info[c.id].name for c in tree.children[within]] == [
            "Joint planning", "Peer observation", "Feedback", "Refinement"]
        assert _count(s, within) == total


def test_split_creates_children_and_leaves_codings_on_the_parent(demo_store):
    with demo_store.session() as s:
        p, lead, _ = _demo(s)
        fb = _id(s, p, FEEDBACK)
        n = _count(s, fb)
        v0 = p.codebook_version
        kids = split_code(s, p, lead, fb, ["Oral feedback", "", "  Written feedback  "])
        assert [k.name for k in kids] == ["Oral feedback", "Written feedback"]
        assert all(k.codable for k in kids) and kids[0].colour != kids[1].colour
        tree = code_tree(s, p)
        assert [c.name for c in tree.children[fb]] == ["Oral feedback", "Written feedback"]
        assert _count(s, fb) == n and p.codebook_version == v0 + 1
        ev = _events(s, p, "code.split")[-1]
        payload = json.loads(ev.payload)
        assert ev.actor == "lead" and payload["codings_on_parent"] == n and len(payload["after"]) == 2
        with pytest.raises(ConflictError, match="given twice"):
            split_code(s, p, lead, fb, ["Peer", "peer"])
        with pytest.raises(ConflictError, match=f"'{FEEDBACK}/Oral feedback' already exists"):
            split_code(s, p, lead, fb, ["Oral feedback"])
        with pytest.raises(CodebookError, match="at least one new name"):
            split_code(s, p, lead, fb, ["", "  "])
        assert len(tree.children[fb]) == 2 == len(code_tree(s, p).children[fb])


def test_delete_needs_the_current_count_and_removes_the_subtree(demo_store):
    with demo_store.session() as s:
        p, lead, ana = _demo(s)
        teachers = _id(s, p, TEACHERS)
        tree = code_tree(s, p)
        ids = [teachers, *tree.descendants(teachers)]
        expected = sum(_count(s, i) for i in ids)
        assert coding_impact(s, teachers) == expected > 0
        assert delete_impact(s, teachers) == (5, expected)
        v0 = p.codebook_version
        with pytest.raises(ConflictError, match=rf"now have {expected} codings, not the {expected - 1} you confirmed"):
            delete_code(s, p, lead, teachers, confirm_count=expected - 1)
        assert s.get(Code, teachers) is not None and coding_impact(s, teachers) == expected
        # someone codes after the user saw the count: the old confirmation no longer works
        doc = list_documents(s, p)[0]
        apply_codes(s, p, ana, doc, [_id(s, p, FEEDBACK)], 0, 7)
        with pytest.raises(ConflictError, match="confirm again"):
            delete_code(s, p, lead, teachers, confirm_count=expected)
        assert delete_code(s, p, lead, teachers, confirm_count=expected + 1) == expected + 1
        assert p.codebook_version == v0 + 1
    with demo_store.session() as s:
        p, _, _ = _demo(s)
        assert s.scalar(select(func.count()).select_from(Code).where(Code.id.in_(ids))) == 0
        assert s.scalar(select(func.count()).select_from(Coding).where(Coding.code_id.in_(ids))) == 0
        assert TEACHERS not in code_tree(s, p).by_path
        ev = _events(s, p, "code.delete")[-1]
        payload = json.loads(ev.payload)
        assert ev.actor == "lead" and len(payload["before"]["codes"]) == 5
        assert len(payload["before"]["codings"]) == expected + 1
        with pytest.raises(NotFoundError):
            delete_code(s, p, Member.of(get_member(s, p, "lead")), teachers, confirm_count=0)


def test_codebook_changes_lists_recent_edits_with_author(demo_store):
    with demo_store.session() as s:
        p, lead, _ = _demo(s)
        plan = _id(s, p, PLANNING)
        rename_code(s, p, lead, plan, "Planning")
        add_code(s, p, lead, plan, "Timetabling")
        rows = codebook_changes(s, p, lead)
        assert [r["action"] for r in rows] == ["code.add", "code.rename"]
        assert rows[0]["who"] == "lead" and rows[0]["what"] == f"added {TEACHERS}/Planning/Timetabling"
        assert rows[1]["what"] == f"renamed {PLANNING} to Planning"
        assert rows[0]["when"] is not None


ROW = ("id", "project_id", "document_id", "code_id", "coder_id", "start", "end", "memo", "provenance", "layer")


def _rows(s, code_ids):
    return {tuple(getattr(c, f) for f in ROW) for c in s.scalars(select(Coding).where(Coding.code_id.in_(code_ids)))}


def test_merge_and_delete_record_the_full_rows_of_the_codings_they_move_or_remove(demo_store):
    """With codings.code_id ON DELETE RESTRICT nothing cascades: every coding a merge moves
    or drops and every coding a delete removes is in the event, restorable column by column."""
    with demo_store.session() as s:
        p, lead, ana = _demo(s)
        plan, fb = _id(s, p, PLANNING), _id(s, p, FEEDBACK)
        twin = s.scalars(select(Coding).where(Coding.code_id == plan, Coding.coder_id == ana.id)).first()
        doc = next(d for d in list_documents(s, p) if d.id == twin.document_id)
        apply_codes(s, p, ana, doc, [fb], twin.start, twin.end)
        before = _rows(s, [plan])
        merge_codes(s, p, lead, plan, fb)
        payload = json.loads(_events(s, p, "code.merge")[-1].payload)
        recorded = {tuple(r[f] for f in ROW) for r in payload["codings"] + payload["dropped"]}
        assert recorded == before and all(r["created_at"] for r in payload["codings"])
        assert [d["id"] for d in payload["dropped"]] == [twin.id] and payload["dropped"][0]["kept"] != twin.id

        within = _id(s, p, WITHIN)
        ids = [within, *code_tree(s, p).descendants(within)]
        before = _rows(s, ids)
        assert before
        delete_code(s, p, lead, within, confirm_count=len(before))
        payload = json.loads(_events(s, p, "code.delete")[-1].payload)
        assert {tuple(r[f] for f in ROW) for r in payload["before"]["codings"]} == before
        assert "adjudications" in payload["before"]


def test_merge_moves_set_memberships_and_delete_records_them(store):
    """A code's place in REFI-QDA sets follows a merge; a delete records what it removes."""
    from coding.codebook.edits import add_code
    from coding.codebook.restructure import delete_code, merge_codes
    from coding.team.projects import create_project
    from coding.team.members import Member, get_member
    from coding.store.models import Event, Set, SetMember

    with store.session() as s:
        p = create_project(s, "sets", lead_name="pat", local_mode=True)
        pat = Member.of(get_member(s, p, "pat"))
        a, b, c = (add_code(s, p, pat, None, n).id for n in ("A", "B", "C"))
        both, only_a = Set(project_id=p.id, name="both"), Set(project_id=p.id, name="only A")
        s.add_all([both, only_a])
        s.flush()
        s.add_all([SetMember(set_id=both.id, code_id=a), SetMember(set_id=both.id, code_id=b),
                   SetMember(set_id=only_a.id, code_id=a), SetMember(set_id=only_a.id, code_id=c)])
        s.flush()
        merge_codes(s, p, pat, a, b)
        members = sorted((m.set_id == both.id, m.code_id) for m in s.scalars(select(SetMember)))
        assert members == sorted([(True, b), (False, b), (False, c)])
        delete_code(s, p, pat, c, confirm_count=0)
        ev = s.scalars(select(Event).where(Event.action == "code.delete")).one()
        assert [m["code_id"] for m in json.loads(ev.payload)["before"]["set_members"]] == [c]
        assert s.scalar(select(SetMember).where(SetMember.code_id == c)) is None
