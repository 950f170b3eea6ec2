"""One table writer (issue 15, item 6): every tabular output (agreement from the engine, the
CLI and the Agreement page; matrices; excerpts; the codebook appendix) keeps code names that
look like formulas, markup or links inert. CSV: no cell a spreadsheet would run. Markdown,
rendered by a real CommonMark renderer: every row keeps its cells, no HTML element but the
table's own, no link. Run on the protected team project ``harbour``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from tests.conftest import REPO
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from coding.agreement.project import compute_agreement
from coding.agreement.tables import report_csv, report_markdown
from coding.cli.main import main as cli
from coding.codebook.tree import code_tree
from coding.codebook.edits import add_code
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.exporting.exports import Filters, MatrixSpec, export
from coding.exporting.table import FORMULA_START

HOSTILE = ["=1+2", "+SUM(1,2)", "@SUM(A1)", "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))",
           "a | b", "<javascript:alert(1)>", "`code` *star* _under_"]
PARENT, CHILD = "-SUM(1+1) Synthesis", "Aspects to keep"
#: What a rendered Markdown export may hold: the table, line breaks, headings, emphasis.
ALLOWED_TAGS = {"html", "body", "div", "p", "table", "thead", "tbody", "tr", "th", "td", "br", "h1", "h2", "h3",
                "h4", "h5", "h6", "em", "strong"}


def _hostile_codings(team) -> list[str]:
    """The lead adds the hostile codes; tom and li code them on Docker_01 with spans that
    overlap but differ. Returns the hostile code paths as stored."""
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        ids = [add_code(s, p, maria, None, name).id for name in HOSTILE]
        parent = add_code(s, p, maria, None, PARENT, codable=False)
        ids.append(add_code(s, p, maria, parent.id, CHILD).id)
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        for i, code_id in enumerate(ids):
            start = 5 * i
            apply_codes(s, p, team.member(s, "tom"), doc, [code_id], start, start + 30)
            apply_codes(s, p, team.member(s, "li"), doc, [code_id], start + 3, start + 40)
        tree = code_tree(s, p)
        return [tree.info[c].path for c in ids]


def _report(team):
    with team.store.session() as s:
        return compute_agreement(s, team.project(s), ["tom", "li"], member=team.member(s, "maria"), ci=False)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def check_csv(text: str, paths: list[str], column: str) -> None:
    """No cell starts a formula (numbers, negative ones too, stay numbers); the hostile
    names are there, each behind an apostrophe when it starts like a formula."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or _is_number(cell), cell
    got = {r[header.index(column)] for r in body}
    for path in paths:
        assert ("'" + path if path.startswith(FORMULA_START) else path) in got, path


def check_markdown(text: str, paths: list[str]) -> None:
    """Rendered as CommonMark with tables: rows keep the header's cell count, the hostile
    names come out as their literal text, and nothing renders as an element or a link."""
    page = lxml_html.fromstring("<div>" + MarkdownIt("commonmark").enable("table").render(text) + "</div>")
    tags = {el.tag for el in page.iter() if isinstance(el.tag, str)}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert not [a for el in page.iter() if isinstance(el.tag, str) for a in el.attrib if a.lower().startswith("on")]
    tables = page.findall(".//table")
    assert tables, "no table rendered"
    cells: list[str] = []
    for table in tables:
        width = len(table.findall(".//tr")[0])
        for tr in table.findall(".//tr"):
            assert len(tr) == width, [c.text_content() for c in tr]
            cells += [c.text_content() for c in tr]
    for path in paths:
        assert path in cells, path


def test_agreement_csv_and_markdown_keep_hostile_code_names_inert(team):
    paths = _hostile_codings(team)
    report = _report(team)
    assert {r.code for r in report.rows} >= set(paths)
    check_csv(report_csv(report), paths, "code")
    check_markdown(report_markdown(report), paths)


def test_cli_agreement_csv_and_markdown_keep_hostile_code_names_inert(team, monkeypatch, capsys):
    paths = _hostile_codings(team)
    monkeypatch.setenv("CODING_PASSWORD", team.passwords["maria"])
    base = ["--db", team.store.url, "--as", "maria", "agreement", team.name, "--coders", "tom", "li", "--no-ci"]
    capsys.readouterr()
    assert cli([*base, "--csv"]) == 0
    check_csv(capsys.readouterr().out, paths, "code")
    assert cli([*base, "--md"]) == 0
    check_markdown(capsys.readouterr().out, paths)


def test_agreement_page_downloads_keep_hostile_code_names_inert(team, monkeypatch):
    """The Agreement page's CSV and Markdown downloads, as the page hands them to Streamlit."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import AppTest

    from coding.team.sessions import open_session

    paths = _hostile_codings(team)
    handed: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename:
            handed[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)  # a spy: the real storage runs
    monkeypatch.setenv("CODING_DB_URL", team.store.url)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["project"] = team.name
    with team.store.session() as s:  # maria signed in: her session, as the sign-in box opens it
        at.session_state["auth_session"] = open_session(s, team.member(s, "maria")).id
    at.switch_page("app_pages/agreement_page.py")
    at.run()
    assert not at.exception
    csv_data = next(v for k, v in handed.items() if k.endswith(".csv"))
    md_data = next(v for k, v in handed.items() if k.endswith(".md"))
    to_text = (lambda v: v.decode("utf-8-sig") if isinstance(v, bytes) else v)
    check_csv(to_text(csv_data), paths, "code")
    check_markdown(to_text(md_data), paths)


@pytest.mark.parametrize("what,fmt", [("excerpts", "csv"), ("excerpts", "md"), ("matrix", "csv"),
                                      ("matrix", "md"), ("codebook", "md")])
def test_every_tabular_export_keeps_hostile_code_names_inert(team, what, fmt):
    paths = _hostile_codings(team)
    with team.store.session() as s:
        out = export(s, team.project(s), team.member(s, "maria"), what, fmt, Filters(documents=["Docker_01"], template="({cohort}, {site})"),
                     matrix=MatrixSpec(kind="attribute", attribute="cohort"))
    text = out.data.decode("utf-8-sig")
    if fmt == "csv":
        check_csv(text, paths, "code")
    elif what == "codebook":  # headings, not a table: each name is its literal text
        page = lxml_html.fromstring("<div>" + MarkdownIt("commonmark").render(text) + "</div>")
        assert {el.tag for el in page.iter() if isinstance(el.tag, str)} <= ALLOWED_TAGS
        headings = {h.text_content() for h in page.iter("h2", "h3", "h4")}
        assert set(HOSTILE) | {PARENT, CHILD} <= headings
    else:
        check_markdown(text, paths)


def test_one_table_writer_for_every_tabular_output():
    """No CSV writer or Markdown table is built anywhere but in the table writer."""
    pattern = re.compile(r"csv\.(writer|DictWriter)\(|\.to_csv\(|\.to_markdown\(|[\"'] \| [\"']\.join\(|---\|")
    writer = REPO / "coding" / "exporting" / "table.py"
    files = [REPO / "app.py", *(REPO / "app_pages").rglob("*.py"), *(REPO / "coding").rglob("*.py")]
    offenders = [str(Path(p).relative_to(REPO)) for p in files
                 if p != writer and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert pattern.search(writer.read_text(encoding="utf-8"))
