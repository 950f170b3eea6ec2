"""coding.work.lookups.document_head: the document row the coding page reads the codings
with on every run, without its text; scoped and refused as document_by_id is. On harbour,
with the demo beside it."""

import pytest
from sqlalchemy import inspect, select

from coding.codebook.tree import code_tree
from coding.errors import NotFoundError, PermissionDeniedError
from coding.store.models import Document
from coding.team.projects import get_project
from coding.work.codings import apply_codes, coding_views
from coding.work.lookups import document_by_id, document_head
from tests.conftest import TEAM_TEXTS


def test_document_head_leaves_the_text_in_the_database_and_gives_the_same_codings(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        d1 = s.scalar(select(Document.id).where(Document.project_id == p.id, Document.name == "Docker_01"))
        doc = document_by_id(s, p, tom, d1)
        at = TEAM_TEXTS["Docker_01"].index("Gangs of eight")
        apply_codes(s, p, tom, doc, [code_tree(s, p).resolve("Work/Gang labour").id], at, at + 14)
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        head = document_head(s, p, tom, d1)
        assert head.id == d1 and "text" in inspect(head).unloaded   # the text was not read
        views = coding_views(s, p, tom, head)
        assert [(v.code_path, v.start, v.end) for v in views] == [("Work/Gang labour", at, at + 14)]
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        assert [(v.id, v.start, v.end) for v in coding_views(s, p, tom, document_by_id(s, p, tom, d1))] == \
            [(v.id, v.start, v.end) for v in views]


def test_document_head_only_in_the_members_project(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        demo_doc = s.scalar(select(Document.id).where(Document.project_id == get_project(s, "demo").id).limit(1))
        with pytest.raises(PermissionDeniedError):
            document_head(s, p, tom, demo_doc)
        with pytest.raises(NotFoundError):
            document_head(s, p, tom, "no-such-id")
