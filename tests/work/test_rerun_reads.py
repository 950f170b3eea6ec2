"""What the coding page reads on every rerun (issue 19, item 2): the codings of the open
document as plain rows (no ORM objects), and the undo/redo state from a few rows found
on an index, both giving exactly what the former full readings gave. On harbour."""

from __future__ import annotations

import json
import random

from sqlalchemy import event, select

from coding.codebook.tree import code_tree
from coding.store.models import Coding, Event
from coding.work.codings import (
    UNDOABLE, apply_codes, coding_views, last_redoable, last_undoable, redo, set_memo, undo, visible_codings,
)
from coding.team.members import get_member
from coding.work.documents import get_document
from coding.work.rounds import assign, open_round
from tests.conftest import PG_URL, TEAM_TEXTS

PATHS = ("Work/Gang labour", "Work/Clerical work", "Change/Containerisation", "Change/Job loss", "Community")


def _span(doc_name: str, phrase: str) -> tuple[int, int]:
    i = TEAM_TEXTS[doc_name].index(phrase)
    return i, i + len(phrase)


def _orm_views(s, p, member, doc):
    """The former reading: every coding hydrated, the whole codebook tree built."""
    tree = code_tree(s, p)
    out = []
    for c in visible_codings(s, p, member, doc):
        info = tree.info.get(c.code_id)
        out.append((c.id, c.code_id, info.path if info else "?", info.colour if info else "#888888",
                    c.start, c.end, c.memo, c.provenance, c.layer, c.coder_id == member.id))
    return out


def _walk_redoable(s, p, member):
    """The former reading: every undoable or undo event of the member, newest first."""
    for ev in s.scalars(select(Event).where(Event.project_id == p.id, Event.actor_id == member.id,
                                            Event.action.in_((*UNDOABLE, "undo"))).order_by(Event.seq.desc())):
        if ev.action == "undo":
            if ev.undone_by is None:
                return ev
            continue
        if json.loads(ev.payload).get("redo_of"):
            continue
        return None
    return None


def test_coding_views_are_plain_rows_and_the_same_as_before(team):
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        ids = {path: code_tree(s, p).resolve(path).id for path in PATHS}
        tom, li, maria = team.member(s, "tom"), team.member(s, "li"), team.member(s, "maria")
        rnd = open_round(s, p, maria, "Blind 1", blind=True)  # tom and li see only their own
        assign(s, p, maria, rnd, [doc], [get_member(s, p, "tom"), get_member(s, p, "li")])
        apply_codes(s, p, tom, doc, [ids["Work/Gang labour"], ids["Community"]],
                    *_span("Docker_01", "Gangs of eight under a foreman."), memo="gangs")
        apply_codes(s, p, tom, doc, [ids["Change/Containerisation"]], *_span("Docker_01", "Containers came in 1978"))
        apply_codes(s, p, li, doc, [ids["Change/Job loss"]], *_span("Docker_01", "the gangs went"))
    for name in ("tom", "li", "maria"):
        with team.store.session() as s:
            p, member = team.project(s), team.member(s, name)
            doc = get_document(s, p, "Docker_01")
            loaded: list[str] = []

            def hydrated(target, context, loaded=loaded):
                loaded.append(target.id)

            event.listen(Coding, "load", hydrated)
            try:
                views = coding_views(s, p, member, doc)
            finally:
                event.remove(Coding, "load", hydrated)
            assert not loaded, "codings were hydrated as ORM objects"
            got = [(v.id, v.code_id, v.code_path, v.colour, v.start, v.end, v.memo, v.provenance, v.layer, v.own)
                   for v in views]
            assert got == _orm_views(s, p, member, doc)
            stored = s.scalar(select(Coding.memo).where(Coding.document_id == doc.id, Coding.memo == "gangs"))
            assert stored == "gangs" and ("gangs" in {v.memo for v in views}) == (name in ("tom", "maria"))
            assert len(views) == {"tom": 3, "li": 1, "maria": 4}[name]
            assert {v.coder for v in views if not v.own} == ({"tom", "li"} if name == "maria" else set())


def test_redo_state_is_the_same_as_the_walk_over_every_event(team):
    """Random applies, memos, undos and redos (redo runs longer than a page of rows): after
    each step the member's redo and undo steps are those the full walk finds."""
    rng = random.Random(19)
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        ids = [code_tree(s, p).resolve(path).id for path in PATHS]
        doc = get_document(s, p, "Docker_02")
        length = len(TEAM_TEXTS["Docker_02"])
    plan = ["apply"] * 25 + ["undo"] * 25 + ["redo"] * 23 + [rng.choice(("apply", "undo", "undo", "redo", "memo"))
                                                           for _ in range(60)]
    for step in plan:
        with team.store.session() as s:
            p, tom = team.project(s), team.member(s, "tom")
            if step == "apply":
                a = rng.randrange(0, length - 10)
                apply_codes(s, p, tom, get_document(s, p, "Docker_02"), [rng.choice(ids)], a, a + rng.randint(1, 9))
            elif step == "undo" and (ev := last_undoable(s, p, tom)) is not None:
                undo(s, p, tom, ev.id)
            elif step == "redo" and (ev := last_redoable(s, p, tom)) is not None:
                assert redo(s, p, tom, ev.id).done
            elif step == "memo":
                c = s.scalar(select(Coding).where(Coding.coder_id == tom.id, Coding.document_id == doc.id).limit(1))
                if c is not None:
                    set_memo(s, p, tom, c.id, f"memo {rng.random()}")
        with team.store.session(write=False) as s:
            p, tom = team.project(s), team.member(s, "tom")
            want = _walk_redoable(s, p, tom)
            got = last_redoable(s, p, tom)
            assert (got.id if got else None) == (want.id if want else None), step
    with team.store.session(write=False) as s:
        p, tom = team.project(s), team.member(s, "tom")
        assert s.scalar(select(Event.id).where(Event.actor_id == tom.id, Event.action == "undo").limit(1))
        assert s.scalar(select(Event.id).where(Event.actor_id == tom.id, Event.payload.like('%"redo_of": "%'))
                        .limit(1))


def test_undo_state_reads_a_page_of_rows_on_the_index(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        doc = get_document(s, p, "Clerk_01")
        code = code_tree(s, p).resolve("Work/Clerical work").id
        for a in range(0, 120, 2):  # 60 coding events of tom's
            apply_codes(s, p, tom, doc, [code], a, a + 1)
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, params, context, many):
        if "FROM events" in statement:
            statements.append((statement, params))

    event.listen(team.store.engine, "before_cursor_execute", seen)
    try:
        with team.store.session(write=False) as s:
            p, tom = team.project(s), team.member(s, "tom")
            assert last_redoable(s, p, tom) is None
            assert last_undoable(s, p, tom).action == "coding.add"
    finally:
        event.remove(team.store.engine, "before_cursor_execute", seen)
    assert len(statements) == 2 and all("LIMIT" in q for q, _ in statements)
    if not PG_URL:  # SQLite's plan names the index (PostgreSQL's planner picks by table size)
        with team.store.engine.connect() as c:
            for q, params in statements:
                plan = c.exec_driver_sql("EXPLAIN QUERY PLAN " + q, params).all()
                assert any("ix_events_actor_seq" in str(row) for row in plan), plan
