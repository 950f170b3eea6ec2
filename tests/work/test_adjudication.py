"""Disagreement regions and the lead's adjudication into the consensus layer."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from coding.work.adjudication import (
    accept_agreements, adjudicate, compare, compare_spans, consensus_status, disagreement_counts, disagreements,
    merge, subtract,
)
from coding.team.accounts import sign_in
from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.codings import apply_codes, visible_codings
from coding.work.documents import get_document, import_uploads
from coding.errors import CodingError, NotFoundError, OffsetError, PermissionDeniedError
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member
from coding.store.models import Adjudication, Coding, Event

REPO = Path(__file__).resolve().parents[2]
TEXT = "0123456789" * 10  # 100 characters: offsets are easy to read


def _kinds(regions):
    return [(r.start, r.end, r.kind) for r in regions]


# --- regions, pure -------------------------------------------------------------------

def test_identical_coverage_is_no_disagreement():
    regions = compare_spans([(10, 20)], [(10, 20)])
    assert _kinds(regions) == [(10, 20, "agreement")]
    # the same coverage split differently by one coder is still an agreement
    assert _kinds(compare_spans([(10, 15), (15, 20)], [(10, 20)])) == [(10, 20, "agreement")]


def test_boundary_only_a_only_b():
    regions = compare_spans([(10, 20), (40, 50)], [(15, 25), (60, 70)])
    assert _kinds(regions) == [(10, 25, "boundary"), (40, 50, "only A"), (60, 70, "only B")]
    r = regions[0]
    assert r.a_spans == [(10, 20)] and r.b_spans == [(15, 25)]
    assert regions[1].b_spans == [] and regions[2].a_spans == []


def test_touching_and_chained_spans_form_one_region():
    # A: [0,5) [5,8) touch; B: [7,12) overlaps A, then [12,20) touches B's own span
    regions = compare_spans([(0, 5), (5, 8)], [(7, 12), (12, 20)])
    assert _kinds(regions) == [(0, 20, "boundary")]
    assert regions[0].a_spans == [(0, 8)] and regions[0].b_spans == [(7, 20)]
    # a chain across coders: A [0,5), B [5,10), A [10,15) -> one region where both coded parts
    assert _kinds(compare_spans([(0, 5), (10, 15)], [(5, 10)])) == [(0, 15, "boundary")]
    # a gap keeps regions apart
    assert _kinds(compare_spans([(0, 5)], [(6, 9)])) == [(0, 5, "only A"), (6, 9, "only B")]


def test_nested_span_is_a_boundary_disagreement():
    regions = compare_spans([(0, 30)], [(10, 20)])
    assert _kinds(regions) == [(0, 30, "boundary")]
    assert merge([(5, 9), (0, 3), (3, 4), (8, 12)]) == [(0, 4), (5, 12)]
    assert subtract([(0, 30)], [(10, 20)]) == [(0, 10), (20, 30)]
    assert subtract([(0, 10), (15, 20)], [(5, 17)]) == [(0, 5), (17, 20)]


# --- with the store --------------------------------------------------------------------

@pytest.fixture
def env(store):
    with store.session() as s:
        p = create_project(s, "adj", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("D1.txt", TEXT.encode())], actor=lead)
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead))
        ben = Member.of(add_member(s, p, "ben", "coder", actor=lead))
        tree = code_tree(s, p)
        plan = tree.resolve("CIC Project/Collaboration between teachers/Joint planning").id
        obs = tree.resolve("CIC Project/Collaboration between teachers/Peer observation").id
        doc = get_document(s, p, "D1")
        for who, spans in ((ana, [(10, 20), (40, 50), (80, 90)]), (ben, [(15, 25), (60, 70), (80, 90)])):
            for a, b in spans:
                apply_codes(s, p, who, doc, [plan], a, b)
        apply_codes(s, p, ana, doc, [obs], 0, 5)  # another code: never mixed in
    return store, lead, ana, plan, obs


def _ctx(s):
    p = get_project(s, "adj")
    return p, get_document(s, p, "D1")


def _consensus(s, doc, code_id):
    rows = s.scalars(select(Coding).where(Coding.document_id == doc.id, Coding.code_id == code_id,
                                          Coding.layer == "consensus").order_by(Coding.start)).all()
    return rows


def test_disagreements_from_the_store(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        regions = disagreements(s, p, lead, doc, plan, "ana", "ben")
        assert _kinds(regions) == [(10, 25, "boundary"), (40, 50, "only A"), (60, 70, "only B")]
        assert all(r.decided is None for r in regions)
        assert _kinds(compare(s, p, lead, doc, plan, "ana", "ben"))[-1] == (80, 90, "agreement")
        assert _kinds(disagreements(s, p, lead, doc, obs, "ana", "ben")) == [(0, 5, "only A")]
        with pytest.raises(CodingError, match="two different coders"):
            disagreements(s, p, lead, doc, plan, "ana", "ana")
        with pytest.raises(NotFoundError):
            disagreements(s, p, lead, doc, plan, "ana", "zoe")


@pytest.mark.parametrize("decision, expected", [
    ("a", [(10, 20)]),
    ("b", [(15, 25)]),
    ("both", [(10, 25)]),
    ("neither", []),
    ("edit", [(12, 18)]),
])
def test_every_decision_kind(env, decision, expected):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        adj = adjudicate(s, p, lead, doc, plan, 10, 25, decision, reason="  definition says whole idea  ",
                         coder_a="ana", coder_b="ben", edit_spans=[(12, 18)] if decision == "edit" else None)
        assert (adj.decision, adj.decided_by, adj.reason, adj.start, adj.end) == (
            decision, "lead", "definition says whole idea", 10, 25)
    with store.session() as s:
        p, doc = _ctx(s)
        rows = _consensus(s, doc, plan)
        assert [(c.start, c.end) for c in rows] == expected
        assert all(c.layer == "consensus" and c.provenance == "adjudicated" and c.coder_id == lead.id
                   and c.memo == "definition says whole idea" for c in rows)
        region = disagreements(s, p, lead, doc, plan, "ana", "ben")[0]
        assert region.decided.decision == decision and region.consensus == expected
        ev = s.scalars(select(Event).where(Event.action == "adjudication.decide")).one()
        payload = json.loads(ev.payload)
        assert payload["decision"] == decision and payload["reason"] == "definition says whole idea"
        assert payload["coders"] == ["ana", "ben"] and ev.actor == "lead"
        # the coders' own work is untouched
        assert len(s.scalars(select(Coding).where(Coding.layer == "coder")).all()) == 7


def test_only_a_region_decided_as_a_and_only_b_as_neither(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        adjudicate(s, p, lead, doc, plan, 40, 50, "a", reason="fits", coder_a="ana", coder_b="ben")
        adjudicate(s, p, lead, doc, plan, 60, 70, "neither", reason="off topic", coder_a="ana", coder_b="ben")
        assert [(c.start, c.end) for c in _consensus(s, doc, plan)] == [(40, 50)]
        assert consensus_status(s, p, lead, "ana", "ben") == {"D1": {"disagreements": 4, "decided": 2}}
        assert disagreement_counts(s, p, lead, "ana", "ben") == {
            (doc.id, plan): {"disagreements": 3, "decided": 2}, (doc.id, obs): {"disagreements": 1, "decided": 0}}


def test_readjudication_replaces_the_consensus_inside_the_region(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        adjudicate(s, p, lead, doc, plan, 10, 25, "both", reason="first look", coder_a="ana", coder_b="ben")
        adjudicate(s, p, lead, doc, plan, 40, 50, "a", reason="fits", coder_a="ana", coder_b="ben")
    with store.session() as s:
        p, doc = _ctx(s)
        adjudicate(s, p, lead, doc, plan, 10, 25, "b", reason="on reflection B", coder_a="ana", coder_b="ben")
    with store.session() as s:
        p, doc = _ctx(s)
        assert [(c.start, c.end, c.memo) for c in _consensus(s, doc, plan)] == [
            (15, 25, "on reflection B"), (40, 50, "fits")]
        region = disagreements(s, p, lead, doc, plan, "ana", "ben")[0]
        assert region.decided.decision == "b" and region.decided.reason == "on reflection B"
        # both decisions stay on record (who decided what, when)
        assert len(s.scalars(select(Adjudication).where(Adjudication.start == 10)).all()) == 2
        assert consensus_status(s, p, lead, "ana", "ben")["D1"] == {"disagreements": 4, "decided": 2}


def test_consensus_reaching_outside_the_region_keeps_its_outside_part(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        apply_codes(s, p, lead, doc, [plan], 5, 30, layer="consensus", provenance="adjudicated")
        adjudicate(s, p, lead, doc, plan, 10, 25, "neither", reason="no", coder_a="ana", coder_b="ben")
        assert [(c.start, c.end) for c in _consensus(s, doc, plan)] == [(5, 10), (25, 30)]


def test_a_coder_cannot_adjudicate(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        with pytest.raises(PermissionDeniedError, match="only a lead"):
            adjudicate(s, p, ana, doc, plan, 10, 25, "a", reason="mine", coder_a="ana", coder_b="ben")
        with pytest.raises(PermissionDeniedError):
            accept_agreements(s, p, ana, doc, plan, "ana", "ben")
        assert _consensus(s, doc, plan) == []


def test_reason_and_decision_and_edit_are_checked(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        for reason in ("", "   ", None):
            with pytest.raises(CodingError, match="reason is required"):
                adjudicate(s, p, lead, doc, plan, 10, 25, "a", reason=reason, coder_a="ana", coder_b="ben")
        with pytest.raises(CodingError, match="decision 'maybe' is unknown"):
            adjudicate(s, p, lead, doc, plan, 10, 25, "maybe", reason="x", coder_a="ana", coder_b="ben")
        with pytest.raises(OffsetError, match="not inside the region"):
            adjudicate(s, p, lead, doc, plan, 10, 25, "edit", reason="x", coder_a="ana", coder_b="ben",
                       edit_spans=[(5, 18)])
        with pytest.raises(CodingError, match="at least one span"):
            adjudicate(s, p, lead, doc, plan, 10, 25, "edit", reason="x", coder_a="ana", coder_b="ben")
        with pytest.raises(OffsetError):
            adjudicate(s, p, lead, doc, plan, 90, 200, "a", reason="x", coder_a="ana", coder_b="ben")
        assert _consensus(s, doc, plan) == [] and s.scalars(select(Adjudication)).all() == []


def test_accept_agreements_copies_agreed_regions_once(env):
    store, lead, ana, plan, obs = env
    with store.session() as s:
        p, doc = _ctx(s)
        assert accept_agreements(s, p, lead, doc, plan, "ana", "ben") == 1
        assert accept_agreements(s, p, lead, doc, plan, "ana", "ben") == 0  # already accepted
        rows = _consensus(s, doc, plan)
        assert [(c.start, c.end, c.provenance, c.memo) for c in rows] == [(80, 90, "adjudicated", "coders agreed")]
        adj = s.scalars(select(Adjudication)).one()
        assert (adj.reason, adj.decided_by) == ("coders agreed", "lead")
        # agreements are not disagreements: nothing counted as decided
        assert consensus_status(s, p, lead, "ana", "ben")["D1"] == {"disagreements": 4, "decided": 0}
        # the consensus layer is visible as its own layer
        assert [c.start for c in visible_codings(s, p, lead, doc, layer="consensus")] == [80]


def test_consensus_status_on_the_demo(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = sign_in(s, p, "lead")
        status = consensus_status(s, p, lead, "ana", "ben")
        assert set(status) == {"P01_principal_School-I_3", "P03_teacher_School-II_4",
                               "P05_special-educator_School-I_7", "P07_directora_Escuela-II_5"}
        assert all(v["disagreements"] > 0 and v["decided"] == 0 for v in status.values())


def test_undo_on_the_coding_page_never_takes_apart_an_adjudication(demo_store):
    """Consensus codings belong to their adjudication: a lead's undo skips them."""
    from coding.work.adjudication import accept_agreements
    from coding.codebook.tree import code_tree
    from coding.work.codings import undo_last
    from coding.work.documents import get_document
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member
    from coding.store.models import Coding

    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        doc = get_document(s, p, "P01_principal_School-I_3")
        code = code_tree(s, p).resolve("Implementation factors/Enabling factors")
        accept_agreements(s, p, lead, doc, code.id, "ana", "ben")
        before = s.query(Coding).filter(Coding.layer == "consensus").count()
        assert before > 0
        assert undo_last(s, p, lead) is None
        assert s.query(Coding).filter(Coding.layer == "consensus").count() == before
