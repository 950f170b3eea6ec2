"""Issue 16, item 1 on the Retrieve page (AppTest) on ``harbour``, a project without role and
school attributes: the page works with the default template, a lead sets the template
(stored, checked by the engine), a coder only reads it, and a template naming attributes
the documents lack shows a warning instead of failing."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from coding.codebook.tree import code_tree
from coding.store.models import Project
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from tests.pages.test_page_team_project import team_app  # noqa: F401  (the fixture)

PAGE = "app_pages/retrieve_page.py"


def plain(markdown: str) -> str:
    """Text as the page wrote it before md_escape backslash-escaped it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _frame(at):
    return next(d.value for d in at.dataframe if "attribution" in d.value.columns)


def _code(team):
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        start = doc.text.index("Gangs of eight")
        apply_codes(s, p, team.member(s, "tom"), doc, [code_tree(s, p).resolve("Work/Gang labour").id],
                    start, start + 31)


def _stored(team):
    with team.store.session() as s:
        return s.scalar(select(Project.attribution_template).where(Project.name == team.name))


def test_a_lead_sets_the_template_on_the_retrieve_page(team_app, team):
    _code(team)
    at = team_app(PAGE, "maria")
    at.run()
    assert not at.exception and not at.error
    row = _frame(at).iloc[0]
    assert (row["attribution"], row["location"]) == ("(Docker, Docker_01)", "turn 4, Docker")
    assert at.text_input(key="retrieve_template").value == "({speaker}, {document})"
    at.text_input(key="retrieve_template").input("{speaker} ({site}), turn {turn}")
    at.button(key="retrieve_template_save").click().run()
    assert not at.exception and not at.error
    assert _stored(team) == "{speaker} ({site}), turn {turn}"
    assert _frame(at).iloc[0]["attribution"] == "Docker (North Quay), turn 4"
    at.text_input(key="retrieve_template").input("{speaker} ({sitee})")
    at.button(key="retrieve_template_save").click().run()
    assert any("sitee" in e.value for e in at.error)
    assert _stored(team) == "{speaker} ({site}), turn {turn}"  # refused: nothing stored


def test_a_coder_reads_the_template_and_a_missing_field_is_a_warning(team_app, team):
    _code(team)
    with team.store.session() as s:
        s.execute(text("UPDATE projects SET attribution_template = '({role} - {school})' WHERE name = :n"),
                  {"n": team.name})
    at = team_app(PAGE, "tom")
    at.run()
    assert not at.exception and not at.error
    assert not [t for t in at.text_input if t.key == "retrieve_template"]
    assert any(plain(c.value).startswith("Attribution template: ({role} - {school})") for c in at.caption)
    warnings = [plain(w.value) for w in at.warning]
    assert any("{role}" in w and "Docker_01" in w for w in warnings)
    assert _frame(at).iloc[0]["attribution"] == ""

