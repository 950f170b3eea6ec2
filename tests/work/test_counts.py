"""Counts obey the blind rule: in an open blind round a coder counts only their own codings."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.codings import apply_codes, visible_codings
from coding.work.counts import visible_coding_counts
from coding.work.documents import import_uploads, list_documents
from coding.errors import PermissionDeniedError
from coding.team.projects import add_member, create_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round, reveal
from coding.store.models import Coder, Coding

REPO = Path(__file__).resolve().parents[2]
TEXT = "Interviewer: How did planning go?\n\nTeacher: We planned together every Tuesday. Then we observed.\n"
PLAN = "CIC Project/Collaboration between teachers/Joint planning"
OBS = "CIC Project/Collaboration between teachers/Peer observation"


@pytest.fixture
def env(store):
    with store.session() as s:
        p = create_project(s, "blind", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("T1.txt", TEXT.encode()), ("T2.txt", TEXT.encode())], actor=lead)
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead))
        ben = Member.of(add_member(s, p, "ben", "coder", actor=lead))
        tree = code_tree(s, p)
        plan, obs = tree.resolve(PLAN).id, tree.resolve(OBS).id
        t1 = next(d for d in list_documents(s, p) if d.name == "T1")
        rnd = open_round(s, p, lead, "Round 1", blind=True)
        assign(s, p, lead, rnd, [t1], [s.get(Coder, ana.id), s.get(Coder, ben.id)])
        round_id = rnd.id
    return store, ana, ben, lead, plan, obs, round_id


def _counts(store, member):
    from coding.team.projects import get_project

    with store.session() as s:
        return visible_coding_counts(s, get_project(s, "blind"), member)


def _code(store, member, doc_name, code_id, start=47, end=62):
    from coding.team.projects import get_project

    with store.session() as s:
        p = get_project(s, "blind")
        doc = next(d for d in list_documents(s, p) if d.name == doc_name)
        apply_codes(s, p, member, doc, [code_id], start, end)


def test_coder_counts_do_not_move_when_the_other_coder_codes_in_an_open_blind_round(env):
    store, ana, ben, lead, plan, obs, _ = env
    _code(store, ben, "T1", obs)
    ben_before = _counts(store, ben)
    assert ben_before == {obs: 1}

    _code(store, ana, "T1", plan)
    _code(store, ana, "T1", obs, 10, 20)

    with store.session() as s:  # both codings are stored ...
        assert s.scalar(select(func.count()).select_from(Coding).where(Coding.coder_id == ana.id)) == 2
    assert _counts(store, ben) == ben_before  # ... but ben's counts do not move
    assert _counts(store, ana) == {plan: 1, obs: 1}
    assert _counts(store, lead) == {plan: 1, obs: 2}


def test_counts_agree_with_visible_codings(env):
    store, ana, ben, lead, plan, obs, _ = env
    _code(store, ana, "T1", plan)
    _code(store, ben, "T1", plan, 10, 20)
    _code(store, ana, "T2", obs)  # T2 is in no round: not blind
    from coding.team.projects import get_project

    with store.session() as s:
        p = get_project(s, "blind")
        for m in (ana, ben, lead):
            seen: dict[str, int] = {}
            for d in list_documents(s, p):
                for c in visible_codings(s, p, m, d):
                    seen[c.code_id] = seen.get(c.code_id, 0) + 1
            assert visible_coding_counts(s, p, m) == seen, m.name
    assert _counts(store, ben) == {plan: 1, obs: 1}  # ana's T2 coding counts: T2 is not blind


def test_reveal_lifts_the_rule_for_counts(env):
    store, ana, ben, lead, plan, obs, round_id = env
    from coding.team.projects import get_project
    from coding.store.models import Round

    _code(store, ana, "T1", plan)
    assert _counts(store, ben) == {}
    with store.session() as s:
        reveal(s, get_project(s, "blind"), lead, s.get(Round, round_id))
    assert _counts(store, ben) == {plan: 1}


def test_the_role_is_read_from_the_database_not_trusted_from_the_caller(env):
    store, ana, ben, *_ , plan, obs, _r = env
    _code(store, ana, "T1", plan)
    forged = Member(ben.id, ben.name, "lead", ben.project_id)
    assert _counts(store, forged) == {}


def test_a_member_of_another_project_is_refused(env):
    store, ana, *_ = env
    with store.session() as s:
        other = create_project(s, "other", lead_name="eve", local_mode=True)
        outsider = Member.of(get_member(s, other, "eve"))
    with pytest.raises(PermissionDeniedError, match="is not a member of .blind."):
        _counts(store, outsider)


def test_consensus_codings_on_a_blind_document_are_not_counted_for_a_coder(env):
    store, ana, ben, lead, plan, obs, _ = env
    from coding.team.projects import get_project

    with store.session() as s:
        p = get_project(s, "blind")
        t1 = next(d for d in list_documents(s, p) if d.name == "T1")
        apply_codes(s, p, lead, t1, [plan], 0, 10, layer="consensus")
    assert _counts(store, ben) == {}
    assert _counts(store, lead) == {plan: 1}
    with store.session() as s:
        assert visible_coding_counts(s, get_project(s, "blind"), lead, layer="coder") == {}
