"""Participant attributes from a CSV (issue 17, item 3), on harbour: the preview says which
rows match a document and stores nothing; a bad file is refused naming the file and line."""

from __future__ import annotations

import pytest

from coding.errors import InputFileError, PermissionDeniedError
from coding.work.attributes import attributes_preview
from coding.work.documents import document_summary, import_attributes, list_documents
from tests.conftest import TEAM_ATTRIBUTES

NEW = "document,cohort,union\nDocker_01,1960s,TGWU\nDocker_99,1970s,none\n"


def _attributes(s, p):
    return {d.name: document_summary(d)["attributes"] for d in list_documents(s, p)}


def test_the_preview_matches_rows_to_documents_and_stores_nothing(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")  # a coder may import documents and attributes
        before = _attributes(s, p)
        pre = attributes_preview(s, p, tom, "new.csv", NEW.encode())
        assert (pre.columns, pre.matched, pre.unmatched, pre.without_row, pre.values) == (
            ["cohort", "union"], ["Docker_01"], [(3, "Docker_99")], ["Clerk_01", "Docker_02"], 2)
        assert _attributes(s, p) == before
        count, warnings = import_attributes(s, p, "new.csv", NEW.encode(), actor=tom)
        assert count == pre.values and any("Docker_99" in w for w in warnings)
        assert _attributes(s, p)["Docker_01"] == {"cohort": "1960s", "site": "North Quay", "union": "TGWU"}


@pytest.mark.parametrize("data,message", [
    (b"document,cohort\nDocker_01,1970s,extra\n", "bad.csv: line 2: has 3 cells, the header has 2"),
    (b"document,cohort,Cohort\nDocker_01,a,b\n", "bad.csv: line 1: column 'cohort' appears twice"),
    (b"document,cohort\nDocker_01,a\nDocker_01,b\n", "bad.csv: line 3: document 'Docker_01' already given on line 2"),
    (b"document,cohort\n", "bad.csv: has no data rows"),
])
def test_a_bad_file_is_refused_naming_file_and_line_by_preview_and_import_alike(team, data, message):
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        before = _attributes(s, p)
        for call in (lambda: attributes_preview(s, p, maria, "bad.csv", data),
                     lambda: import_attributes(s, p, "bad.csv", data, actor=maria)):
            with pytest.raises(InputFileError) as exc:
                call()
            assert message in str(exc.value)
        assert _attributes(s, p) == before


def test_a_member_of_another_project_gets_no_preview(team):
    from coding.team.members import Member, get_member
    from coding.team.projects import get_project

    with team.store.session() as s:
        demo_lead = Member.of(get_member(s, get_project(s, "demo"), "lead"))
        with pytest.raises(PermissionDeniedError):
            attributes_preview(s, team.project(s), demo_lead, "a.csv", TEAM_ATTRIBUTES.encode())
