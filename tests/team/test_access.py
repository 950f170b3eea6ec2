"""The access layer: every engine function that reads or writes project data, called by
a coder, by a lead of another project and by a coder in an open blind round.

The world: project ``alpha`` (lead, ana, ben) with D1 in the open blind round R1
and D2 in no round; ana and ben both coded both documents, with memos. Ben's
memos carry the marker ``BEN-SECRET`` so a leak is easy to see. Project ``beta``
has its own lead, mallory. Each case asserts on what the database holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from coding.work import adjudication

from coding.codebook import tree as codebook

from coding.work import documents

from coding.work import memos

from coding.work import rounds

from coding.work import snapshots
from coding.team.access import ROLE_ACTIONS, Action, can, require
from coding.agreement.project import Report, Row, compute_agreement
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document, import_uploads
from coding.errors import NotFoundError, PermissionDeniedError
from coding.team.events import EVENT_KINDS, list_events, log_event
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member
from coding.store.models import (
    Adjudication, AgreementSnapshot, Assignment, Code, Coder, Coding, Event, Memo, Round,
)
from coding.team.visibility import blind_document_ids, visibility

REPO = Path(__file__).resolve().parents[2]
TEXT = ("Interviewer: How did planning go?\n\n"
        "Teacher: We planned together every Tuesday. Then we observed each other teach it.\n\n"
        "Interviewer: And feedback?\n\nTeacher: Written, after each visit.\n")
PLAN = "CIC Project/Collaboration between teachers/Joint planning"
OBS = "CIC Project/Collaboration between teachers/Peer observation"
SECRET = "BEN-SECRET"
TABLES = (Round, Assignment, Coding, Memo, Event, AgreementSnapshot, Adjudication, Code, Coder)


def _report(documents: list[str]) -> Report:
    """A stored-report stand-in: snapshots keep ``as_dict()``; only its documents matter here."""
    overall = Row("(all codes)", None, "character", 100, 40, 0.9, 0.75, 0.6, None, 0.6, None, 0.5)
    return Report("character", ["ana", "ben"], 1, [overall], [], {"documents": documents})


@dataclass
class World:
    store: Any
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(store) -> World:
    w = World(store)
    with store.session() as s:
        p = create_project(s, "alpha", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        codebook.import_codebook(s, p, codebook.load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("D1.txt", TEXT.encode()), ("D2.txt", TEXT.encode())], actor=lead)
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead))
        ben = Member.of(add_member(s, p, "ben", "coder", actor=lead))
        tree = codebook.code_tree(s, p)
        plan, obs = tree.resolve(PLAN).id, tree.resolve(OBS).id
        d1, d2 = get_document(s, p, "D1"), get_document(s, p, "D2")
        for doc in (d1, d2):
            [a] = apply_codes(s, p, ana, doc, [plan], 40, 60, memo="ana's own note")
            [b] = apply_codes(s, p, ben, doc, [plan], 50, 90)
            set_memo(s, p, ben, b.id, f"{SECRET} coding memo on {doc.name}")
            apply_codes(s, p, ben, doc, [obs], 95, 120)
            memos.save_document_memo(s, p, ben, doc, f"{SECRET} document memo on {doc.name}")
            memos.save_document_memo(s, p, ana, doc, f"ana's memo on {doc.name}")
        journal_entry = memos.add_journal_entry(s, p, ben, "Ben's entry", "journal text")
        snapshots.save_snapshot(s, p, lead, _report(["D2"]), label="over D2")
        adjudication.adjudicate(s, p, lead, d2, plan, 40, 90, "a", reason="A fits", coder_a="ana", coder_b="ben")
        r1 = rounds.open_round(s, p, lead, "R1", blind=True)
        rounds.assign(s, p, lead, r1, [d1], [s.get(Coder, ana.id), s.get(Coder, ben.id)])
        snapshots.save_snapshot(s, p, lead, _report(["D1", "D2"]), label="over D1", round_id=r1.id)
        q = create_project(s, "beta", lead_name="mallory", local_mode=True)
        mallory = Member.of(get_member(s, q, "mallory"))
        w.ids = {"lead": lead.id, "ana": ana.id, "ben": ben.id, "mallory": mallory.id, "plan": plan, "obs": obs,
                 "d1": d1.id, "d2": d2.id, "r1": r1.id, "journal": journal_entry.id,
                 "snap_d1": s.scalar(select(AgreementSnapshot.id).where(AgreementSnapshot.label == "over D1"))}
    return w


@dataclass
class Ctx:
    """The world loaded in one session."""

    s: Any
    ids: dict[str, str]

    @property
    def p(self):
        return get_project(self.s, "alpha")

    @property
    def beta(self):
        return get_project(self.s, "beta")

    def doc(self, key: str):
        return get_document(self.s, self.p, key.upper())

    @property
    def r1(self):
        return self.s.get(Round, self.ids["r1"])

    def coder(self, name: str) -> Coder:
        return self.s.get(Coder, self.ids[name])


def _member(c: Ctx, name: str) -> Member:
    return Member.of(c.coder(name))


def _counts(s) -> dict[str, int]:
    return {t.__name__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


# --- leak detectors: True when ben's hidden work on D1 shows in a result -------------

def _ben_events(c: Ctx, events) -> bool:
    return any(e.actor == "ben" or SECRET in json.dumps(e.payload) for e in events)


LEAKS: dict[str, Callable[[Ctx, Any], bool]] = {
    "compute_agreement": lambda c, r: "D1" in r.options["documents"]
    or any(cell["document"] == "D1" for cell in r.by_document),
    "disagreement_counts": lambda c, r: any(doc_id == c.ids["d1"] for doc_id, _ in r),
    "consensus_status": lambda c, r: "D1" in r,
    "list_events": _ben_events,
    "other_document_memos": lambda c, r: any(name == "ben" for name, _ in r),
    "coding_memos": lambda c, r: any(row["coder"] == "ben" and row["document"] == "D1" for row in r),
    "coding_memos_d1": lambda c, r: any(row["coder"] == "ben" for row in r),
    "list_snapshots": lambda c, r: any(x["label"] == "over D1" for x in r),
    "trend": lambda c, r: any(x["snapshot"] == "over D1" for x in r),
}


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[Ctx, Member], Any]
    lead_only: bool = False
    blind: str = "allowed"  # "allowed", "refused" (blind coder refused), or "filtered" (LEAKS[name])


CASES = [
    # rounds
    Case("open_round", lambda c, m: rounds.open_round(c.s, c.p, m, "R2"), lead_only=True),
    Case("assign", lambda c, m: rounds.assign(c.s, c.p, m, c.r1, [c.doc("d2")], [c.coder("ana")]),
         lead_only=True),
    Case("reveal", lambda c, m: rounds.reveal(c.s, c.p, m, c.r1), lead_only=True),
    Case("set_status", lambda c, m: rounds.set_status(c.s, c.p, m, c.doc("d1"), "done")),
    Case("member_progress", lambda c, m: rounds.member_progress(c.s, c.p, m)),
    Case("open_assignments", lambda c, m: rounds.open_assignments(c.s, c.p, m)),
    # members
    Case("add_member", lambda c, m: add_member(c.s, c.p, f"new-{m.name}", "lead", actor=m), lead_only=True),
    # documents
    Case("import_uploads", lambda c, m: documents.import_uploads(c.s, c.p, [(f"D3-{m.name}.txt", TEXT.encode())], actor=m)),
    Case("store_document", lambda c, m: documents.store_document(
        c.s, c.p, f"D4-{m.name}", "D4.txt", TEXT.encode(), actor=m)),
    Case("import_attributes", lambda c, m: documents.import_attributes(
        c.s, c.p, "attrs.csv", b"document,role\nD2,teacher\n", actor=m)),
    Case("delete_document", lambda c, m: documents.delete_document(c.s, c.p, "D2", actor=m), lead_only=True),
    # codebook
    Case("import_codebook", lambda c, m: codebook.import_codebook(
        c.s, c.p, codebook.parse_codebook("codes: [{name: Extra}]"), member=m), lead_only=True),
    # adjudication
    Case("compare", lambda c, m: adjudication.compare(c.s, c.p, m, c.doc("d1"), c.ids["plan"], "ana", "ben"),
         blind="refused"),
    Case("disagreements", lambda c, m: adjudication.disagreements(
        c.s, c.p, m, c.doc("d1"), c.ids["plan"], "ana", "ben"), blind="refused"),
    Case("disagreement_counts", lambda c, m: adjudication.disagreement_counts(c.s, c.p, m, "ana", "ben"),
         blind="filtered"),
    Case("consensus_status", lambda c, m: adjudication.consensus_status(c.s, c.p, m, "ana", "ben"),
         blind="filtered"),
    Case("adjudicate", lambda c, m: adjudication.adjudicate(
        c.s, c.p, m, c.doc("d1"), c.ids["plan"], 40, 90, "b", reason="B fits", coder_a="ana", coder_b="ben"),
         lead_only=True),
    Case("accept_agreements", lambda c, m: adjudication.accept_agreements(
        c.s, c.p, m, c.doc("d1"), c.ids["obs"], "ana", "ben"), lead_only=True),
    # agreement
    Case("compute_agreement", lambda c, m: compute_agreement(c.s, c.p, ["ana", "ben"], member=m, ci=False),
         blind="filtered"),
    Case("compute_agreement_d1", lambda c, m: compute_agreement(
        c.s, c.p, ["ana", "ben"], member=m, documents=["D1"], ci=False), blind="refused"),
    # snapshots
    Case("save_snapshot", lambda c, m: snapshots.save_snapshot(c.s, c.p, m, _report(["D2"])), lead_only=True),
    Case("list_snapshots", lambda c, m: snapshots.list_snapshots(c.s, c.p, m), blind="filtered"),
    Case("trend", lambda c, m: snapshots.trend(c.s, c.p, m), blind="filtered"),
    Case("get_snapshot", lambda c, m: snapshots.get_snapshot(c.s, c.p, m, c.ids["snap_d1"]), blind="refused"),
    # events
    Case("list_events", lambda c, m: list_events(c.s, c.p, m), blind="filtered"),
    # memos
    Case("document_memo", lambda c, m: memos.document_memo(c.s, c.p, m, c.doc("d1"))),
    Case("other_document_memos", lambda c, m: memos.other_document_memos(c.s, c.p, m, c.doc("d1")),
         blind="filtered"),
    Case("save_document_memo", lambda c, m: memos.save_document_memo(c.s, c.p, m, c.doc("d1"), "mine")),
    Case("journal", lambda c, m: memos.journal(c.s, c.p, m)),
    Case("add_journal_entry", lambda c, m: memos.add_journal_entry(c.s, c.p, m, "Title", "text")),
    Case("coding_memos", lambda c, m: memos.coding_memos(c.s, c.p, m), blind="filtered"),
    Case("coding_memos_d1", lambda c, m: memos.coding_memos(c.s, c.p, m, c.doc("d1")), blind="filtered"),
]


def _run(world: World, who: str, case: Case):
    """Call ``case`` as ``who``; return (result or exception, table counts before, after)."""
    with world.store.session() as s:
        before = _counts(s)
    outcome: Any
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        try:
            outcome = case.call(c, _member(c, who))
        except PermissionDeniedError as exc:
            outcome = exc
        if not isinstance(outcome, Exception) and case.blind == "filtered":
            outcome = (outcome, LEAKS[case.name](c, outcome))
    with world.store.session() as s:
        after = _counts(s)
    return outcome, before, after


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_lead_of_another_project_is_refused_and_changes_nothing(world, case):
    outcome, before, after = _run(world, "mallory", case)
    assert isinstance(outcome, PermissionDeniedError), outcome
    assert "mallory" in str(outcome) or "not in the project" in str(outcome)
    assert after == before


@pytest.mark.parametrize("case", [c for c in CASES if c.lead_only], ids=lambda c: c.name)
def test_a_coder_is_refused_what_only_a_lead_may_do(world, case):
    outcome, before, after = _run(world, "ana", case)
    assert isinstance(outcome, PermissionDeniedError), outcome
    assert "only a lead" in str(outcome)
    assert after == before


@pytest.mark.parametrize("case", [c for c in CASES if not c.lead_only], ids=lambda c: c.name)
def test_a_blind_coder_sees_nothing_of_the_other_coder(world, case):
    """Ana, while R1 (blind, open) holds D1: refused or filtered; the project's lead,
    as a control, sees Ben's work through the same call."""
    outcome, _, _ = _run(world, "ana", case)
    if case.blind == "refused":
        assert isinstance(outcome, PermissionDeniedError) and "open blind round" in str(outcome), outcome
    else:
        assert not isinstance(outcome, Exception), outcome
        if case.blind == "filtered":
            assert outcome[1] is False, f"{case.name} shows ben's work to a blind coder: {outcome[0]!r}"
    control, _, _ = _run(world, "lead", case)
    assert not isinstance(control, Exception), control
    if case.blind == "filtered":
        assert control[1] is True, f"{case.name}: the leak check sees nothing even for the lead"


@pytest.mark.parametrize("case", [c for c in CASES if c.blind != "allowed"], ids=lambda c: c.name)
def test_after_reveal_a_coder_sees_the_other_coder(world, case):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        rounds.reveal(s, c.p, _member(c, "lead"), c.r1)
    outcome, _, _ = _run(world, "ana", case)
    assert not isinstance(outcome, Exception), outcome
    if case.blind == "filtered" and case.name != "list_events":
        assert outcome[1] is True


# --- the member is reloaded, every id is scoped ----------------------------------------

def test_a_changed_role_or_a_removed_member_takes_effect_at_once(world):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        stale_lead = _member(c, "lead")
        forged = Member(world.ids["ana"], "ana", "lead", c.p.id)  # a UI session claiming lead
        temp = Member.of(add_member(s, c.p, "temp", "lead", actor=stale_lead))
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        c.coder("lead").role = "coder"
        s.delete(s.get(Coder, temp.id))
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        for m in (stale_lead, forged):
            with pytest.raises(PermissionDeniedError, match="is a coder and cannot manage rounds"):
                rounds.open_round(s, c.p, m, "R2")
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            rounds.reveal(s, c.p, temp, c.r1)
        assert s.scalar(select(func.count()).select_from(Round)) == 1
        assert c.r1.status == "open"


def test_a_lead_of_another_project_cannot_use_ids_of_this_one_through_their_own_project(world):
    """Scoping every id: mallory passes her own project with alpha's round, document, snapshot."""
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        mallory = _member(c, "mallory")
        with pytest.raises(PermissionDeniedError, match="is not in the project"):
            rounds.reveal(s, c.beta, mallory, c.r1)
        with pytest.raises(PermissionDeniedError, match="is not in the project"):
            rounds.assign(s, c.beta, mallory, c.r1, [c.doc("d1")], [c.coder("ana")])
        with pytest.raises(PermissionDeniedError, match="is not in the project"):
            adjudication.compare(s, c.beta, mallory, c.doc("d1"), c.ids["plan"], "ana", "ben")
        with pytest.raises(PermissionDeniedError, match="is not in the project"):
            memos.other_document_memos(s, c.beta, mallory, c.doc("d1"))
        with pytest.raises(NotFoundError):
            snapshots.get_snapshot(s, c.beta, mallory, c.ids["snap_d1"])
        assert [e.action for e in list_events(s, c.beta, mallory)] == ["member.add", "project.create"]
    with world.store.session() as s:
        assert s.get(Round, world.ids["r1"]).status == "open"
        assert s.scalar(select(func.count()).select_from(Assignment)) == 2


def test_codebook_import_needs_a_lead_once_the_project_has_members(world):
    book = codebook.parse_codebook("codes: [{name: Extra}]")
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        with pytest.raises(PermissionDeniedError, match="has members"):
            codebook.import_codebook(s, c.p, book)
        assert codebook.import_codebook(s, c.p, book, member=_member(c, "lead")) == {"created": 1, "updated": 0}
        ev = s.scalars(select(Event).where(Event.action == "codebook.import").order_by(Event.seq.desc())).first()
        assert ev.actor == "lead"


# --- events: what a coder sees, and one definition per kind ---------------------------

def test_a_coder_never_gets_the_payload_of_another_members_work(world):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        rounds.reveal(s, c.p, _member(c, "lead"), c.r1)
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        events = list_events(s, c.p, _member(c, "ana"))
        bens = [e for e in events if e.actor == "ben"]
        assert {e.action for e in bens} >= {"coding.add", "coding.memo", "memo.document", "memo.journal.add"}
        private = [e for e in bens if EVENT_KINDS[e.action].private]
        assert private and all(e.payload is None and e.redacted for e in private)
        assert all(e.payload is not None for e in bens if not EVENT_KINDS[e.action].private)
        assert not any(SECRET in json.dumps(e.payload) for e in events)
        own = [e for e in events if e.actor == "ana" and e.action == "coding.add"]
        assert own and all(e.payload["codings"][0]["coder_id"] == world.ids["ana"] for e in own)
        lead_view = list_events(s, c.p, _member(c, "lead"))
        assert any(SECRET in json.dumps(e.payload) for e in lead_view)
        assert len(lead_view) == s.scalar(select(func.count()).select_from(Event)
                                          .where(Event.project_id == c.p.id))


def test_a_coder_never_gets_the_payload_of_a_document_delete(world):
    """Deleting a document records every coder's codings and memos on it: only a lead reads that."""
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        rounds.reveal(s, c.p, _member(c, "lead"), c.r1)  # so ana sees others' events at all
        documents.delete_document(s, c.p, "D2", actor=_member(c, "lead"))
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        [seen] = [e for e in list_events(s, c.p, _member(c, "ana")) if e.action == "document.delete"]
        assert seen.payload is None and EVENT_KINDS["document.delete"].private
        [full] = [e for e in list_events(s, c.p, _member(c, "lead")) if e.action == "document.delete"]
        assert SECRET in json.dumps(full.payload)


def test_log_event_refuses_an_undefined_kind_or_field(world):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        lead = _member(c, "lead")
        with pytest.raises(Exception, match="event kind 'coding.teleport' is not defined"):
            log_event(s, c.p.id, lead, "coding.teleport", "coding")
        with pytest.raises(Exception, match="has no field"):
            log_event(s, c.p.id, lead, "round.open", "round", None, name="x", colour="red")


def test_every_event_kind_logged_in_the_code_is_defined():
    """A static scan: each log_event call with a literal kind names a defined kind and
    only its defined payload fields."""
    import ast

    problems = []
    for path in sorted((REPO / "coding").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "log_event"):
                continue
            if len(node.args) < 4 or not isinstance(node.args[3], ast.Constant):
                continue
            kind = node.args[3].value
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if kind not in EVENT_KINDS:
                problems.append(f"{where}: kind {kind!r} undefined")
                continue
            extra = {k.arg for k in node.keywords if k.arg} - EVENT_KINDS[kind].fields
            if extra:
                problems.append(f"{where}: {kind!r} fields {sorted(extra)} undefined")
    assert problems == []


# --- the rule itself, and roles as data ------------------------------------------------

def test_visibility_is_one_rule_in_python_and_sql(world):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        assert blind_document_ids(s, c.p.id) == {world.ids["d1"]}
        for who in ("ana", "ben", "lead"):
            vis = visibility(s, _member(c, who))
            rows = s.scalars(select(Coding).where(Coding.project_id == c.p.id)).all()
            by_python = {x.id for x in rows if vis.sees(x.document_id, x.coder_id)}
            by_sql = set(s.scalars(select(Coding.id).where(vis.codings())))
            assert by_python == by_sql, who
            hidden = {x.id for x in rows} - by_sql
            if who == "lead":
                assert not hidden
            else:
                other = "ben" if who == "ana" else "ana"
                assert hidden == {x.id for x in rows
                                  if x.document_id == world.ids["d1"] and x.coder_id == world.ids[other]}


def test_roles_are_data_and_can_is_pure():
    lead = Member("l", "l", "lead", "p1")
    coder = Member("c", "c", "coder", "p1")
    assert ROLE_ACTIONS["lead"] == frozenset(Action)
    assert can(lead, Action.MANAGE_ROUNDS) and not can(coder, Action.MANAGE_ROUNDS)
    assert can(coder, Action.WRITE_OWN_CODINGS) and not can(coder, Action.ADJUDICATE)

    class Doc:
        project_id = "p2"

    assert not can(lead, Action.READ_CODINGS, Doc())
    assert not can(Member("x", "x", "guest", "p1"), Action.READ_PROJECT)


def test_require_returns_the_member_as_stored(world):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        m = require(s, Member(world.ids["ana"], "old name", "lead", "whatever"), Action.READ_CODINGS, c.p)
        assert m == Member(world.ids["ana"], "ana", "coder", c.p.id)


def test_a_member_removed_through_the_accounts_api_can_no_longer_act(world):
    from coding.team.projects import remove_member

    with world.store.session() as s:
        c = Ctx(s, world.ids)
        ana = _member(c, "ana")
        remove_member(s, c.p, _member(c, "lead"), "ana")
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            memos.coding_memos(s, c.p, ana)
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            list_events(s, c.p, ana)


def test_current_and_require_refuse_a_removed_member_for_every_action(world):
    """A removed lead keeps no right at all, and a removed coder's writes store nothing."""
    from coding.team.access import current
    from coding.team.projects import remove_member

    with world.store.session() as s:
        c = Ctx(s, world.ids)
        lead = _member(c, "lead")
        second = Member.of(add_member(s, c.p, "second", "lead", actor=lead))
        ana = _member(c, "ana")
        remove_member(s, c.p, lead, "second")
        remove_member(s, c.p, lead, "ana")
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        before = _counts(s)
        for m in (second, ana, second.id, c.coder("ana")):
            with pytest.raises(PermissionDeniedError, match="no longer a member"):
                current(s, m)
        for action in Action:
            with pytest.raises(PermissionDeniedError, match="no longer a member"):
                require(s, second, action, c.p)
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            apply_codes(s, c.p, ana, c.doc("d2"), [c.ids["plan"]], 0, 10)
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            rounds.open_round(s, c.p, second, "R2")
        assert _counts(s) == before
        assert current(s, _member(c, "lead")) == _member(c, "lead")


# --- events name their actor by member id (migration 0004) ----------------------------

def test_events_store_the_actor_as_a_member_id(world):
    with world.store.session() as s:
        c = Ctx(s, world.ids)
        ids = world.ids
        rows = s.execute(select(Event.action, Event.actor, Event.actor_id)
                         .where(Event.project_id == c.p.id).order_by(Event.seq)).all()
        by_name = {"lead": ids["lead"], "ana": ids["ana"], "ben": ids["ben"], "system": None}
        assert all(actor_id == by_name[actor] for _, actor, actor_id in rows), rows
        assert ("project.create", "lead", ids["lead"]) in rows and ("codebook.import", "lead", ids["lead"]) in rows
        assert ("round.open", "lead", ids["lead"]) in rows and ("coding.memo", "ben", ids["ben"]) in rows
        # a name is still accepted during the transition, and resolved to the member
        ev = log_event(s, c.p.id, "ana", "assignment.status", "document", ids["d1"], status="done")
        assert ev.actor_id == ids["ana"]
        # the member row going (not the soft removal) keeps the event, actor name and all
        temp = add_member(s, c.p, "temp", "coder", actor=_member(c, "lead"))
        ev = log_event(s, c.p.id, Member.of(temp), "assignment.status", "document", ids["d1"], status="done")
        ev_id = ev.id
        s.delete(temp)
    with world.store.session() as s:
        ev = s.scalars(select(Event).where(Event.id == ev_id)).one()
        assert (ev.actor, ev.actor_id) == ("temp", None)


def test_migration_0004_gives_existing_events_their_member_id(db_url):
    """An old database (at 0003) with events named by actor: upgrading fills actor_id."""
    from sqlalchemy import text

    from coding.store.schema import migrate
    from coding.store.engine import make_engine

    from alembic import command
    from alembic.config import Config

    from coding.store.schema import MIGRATIONS

    eng = make_engine(db_url)  # the test database is at head: go back to 0003 first
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, created_at, codebook_title, codebook_description, "
                          "codebook_version, local_mode) VALUES ('p1', 'old', CURRENT_TIMESTAMP, '', '', 1, true)"))
        conn.execute(text("INSERT INTO coders (id, project_id, name, role, created_at) "
                          "VALUES ('c1', 'p1', 'ana', 'coder', CURRENT_TIMESTAMP)"))
        for seq, actor in ((1, "ana"), (2, "system"), (3, "gone")):
            conn.execute(text("INSERT INTO events (seq, id, project_id, actor, action, object_type, payload, at) "
                              "VALUES (:seq, :id, 'p1', :actor, 'x', 'y', '{}', CURRENT_TIMESTAMP)"),
                         {"seq": seq, "id": f"e{seq}", "actor": actor})
    migrate(eng)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT actor, actor_id FROM events ORDER BY seq")).all()
    eng.dispose()
    assert [tuple(r) for r in rows] == [("ana", "c1"), ("system", None), ("gone", None)]
