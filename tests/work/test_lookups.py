"""The small reads pages make through the engine (coding.work.lookups, rounds.round_by_id,
projects.project_name_by_id): scoped to the member's project, behind access.require, and
the codings fingerprint through the blind rule. On harbour, with the demo beside it."""

import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.errors import NotFoundError, PermissionDeniedError
from coding.store.models import Attribute, Document, Round
from coding.team.members import get_member
from coding.team.projects import get_project, project_name_by_id, remove_member
from coding.work import rounds
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.work.lookups import (
    attribute_values,
    codings_fingerprint,
    document_by_id,
    document_entries,
)


def _demo_document_id(s):
    return s.scalar(select(Document.id).where(Document.project_id == get_project(s, "demo").id).limit(1))


def test_document_by_id_only_in_the_members_project(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        d1 = get_document(s, p, "Docker_01")
        assert document_by_id(s, p, tom, d1.id) is d1
        with pytest.raises(PermissionDeniedError):
            document_by_id(s, p, tom, _demo_document_id(s))
        with pytest.raises(NotFoundError):
            document_by_id(s, p, tom, "no-such-id")
        with pytest.raises(PermissionDeniedError):  # the demo's project, though the document is harbour's
            document_by_id(s, get_project(s, "demo"), tom, d1.id)


def test_document_entries_are_the_projects_documents_by_name(team):
    with team.store.session() as s:
        p, li = team.project(s), team.member(s, "li")
        stored = {d.name: (d.id, d.sha256) for d in s.scalars(select(Document).where(Document.project_id == p.id))}
        got = document_entries(s, p, li)
        assert [d.name for d in got] == ["Clerk_01", "Docker_01", "Docker_02"]
        assert {d.name: (d.id, d.sha256) for d in got} == stored
        assert [d.name for d in document_entries(s, p, li, names=["Docker_02", "Docker_01", "Nope"])] == [
            "Docker_01", "Docker_02"]
        assert document_entries(s, p, li, names=[]) == []


def test_attribute_values_are_the_projects_own(team):
    with team.store.session() as s:
        p = team.project(s)
        got = attribute_values(s, p, team.member(s, "tom"))
        assert got == {"cohort": {"1970s", "1980s"}, "site": {"North Quay", "South Basin"}}
        demo = set(s.execute(select(Attribute.name, Attribute.value).join(Document)
                             .where(Document.project_id == get_project(s, "demo").id)).all())
        assert ("role", "Principal") in demo   # the demo's attributes are on the same database
        assert not demo & {(n, v) for n, vals in got.items() for v in vals}


def test_codings_fingerprint_moves_with_the_codings_the_member_sees(team):
    with team.store.session() as s:
        p = team.project(s)
        maria, tom, li = (team.member(s, n) for n in ("maria", "tom", "li"))
        d1 = get_document(s, p, "Docker_01")
        gang = code_tree(s, p).resolve("Work/Gang labour").id
        rnd = rounds.open_round(s, p, maria, "R1", blind=True)
        rounds.assign(s, p, maria, rnd, [d1], [get_member(s, p, "tom"), get_member(s, p, "li")])
        before = {m.name: codings_fingerprint(s, p, m) for m in (maria, tom)}
        assert before["maria"][:2] == (0, 0)
        apply_codes(s, p, li, d1, [gang], 10, 60)   # li's work on a blind document
        assert codings_fingerprint(s, p, tom) == before["tom"]
        assert codings_fingerprint(s, p, maria)[:2] == (1, 50)
        apply_codes(s, p, tom, d1, [gang], 0, 45)
        assert codings_fingerprint(s, p, tom)[:2] == (1, 45)
        assert codings_fingerprint(s, p, maria)[:2] == (2, 95)


def test_round_by_id_in_the_members_project(team):
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        rnd = rounds.open_round(s, p, maria, "R1", blind=True)
        assert rounds.round_by_id(s, p, team.member(s, "tom"), rnd.id) is rnd
        with pytest.raises(NotFoundError):
            rounds.round_by_id(s, p, maria, "no-such-round")
        remove_member(s, p, maria, "tom")
        with pytest.raises(PermissionDeniedError):
            rounds.round_by_id(s, p, get_member(s, p, "tom"), rnd.id)
        assert s.get(Round, rnd.id) is rnd


def test_project_name_by_id(team):
    with team.store.session() as s:
        assert project_name_by_id(s, team.project(s).id) == "harbour"
        assert project_name_by_id(s, get_project(s, "demo").id) == "demo"
        with pytest.raises(NotFoundError):
            project_name_by_id(s, "no-such-project")
