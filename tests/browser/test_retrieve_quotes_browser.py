"""The Retrieve page on harbour in a real Chromium (issue 16): a project without role and
school attributes retrieves and exports; the lead sets the attribution template and
downloads a quote bank with one quote per passage (tom's and li's overlapping codings
merged), cited by turn and speaker, with a table of contents and the other codes; the
XLSX holds the exact text."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.store.models import Project
from coding.work.codings import apply_codes
from coding.work.documents import get_document

from .coding_helpers import choose, open_page, settle, signed_in
from .conftest import run_streamlit

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
GANGS = "Gangs of eight under a foreman."


def _download(page, label: str, timeout: float = 60_000) -> bytes:
    """Press "Prepare <label>" when the page offers one, then the download button."""
    page.get_by_role("button", name=label).first.wait_for(timeout=timeout)
    prepare = page.get_by_role("button", name=f"Prepare {label}")
    if prepare.count():
        prepare.click()
        prepare.wait_for(state="detached", timeout=timeout)
    with page.expect_download(timeout=timeout) as info:
        page.get_by_role("button", name=label).first.click()
    return Path(info.value.path()).read_bytes()


def test_lead_sets_the_template_and_downloads_a_quote_bank_per_passage(browser, team):
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        start = doc.text.index(GANGS)
        tree = code_tree(s, p)
        apply_codes(s, p, team.member(s, "tom"), doc, [tree.resolve("Work/Gang labour").id], start,
                    start + len(GANGS))
        apply_codes(s, p, team.member(s, "li"), doc, [tree.resolve("Work/Gang labour").id], start,
                    start + len(GANGS) + 20)
        apply_codes(s, p, team.member(s, "li"), doc, [tree.resolve("Community").id], start, start + 10)
        union = doc.text[start:start + len(GANGS) + 20]
    url = team.store.engine.url.render_as_string(hide_password=False)
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        page = ctx.new_page()
        page.goto(app_url)
        page.locator(".st-key-common_project input").wait_for(timeout=60_000)
        choose(page, "common_project", team.name)
        page.locator(".st-key-common_name input").wait_for(timeout=30_000)
        page.locator(".st-key-common_name input").fill("maria")
        page.locator(".st-key-common_pw input").fill(team.passwords["maria"])
        page.get_by_role("button", name="Sign in").click()
        signed_in(page, timeout=60_000)
        open_page(page, "Retrieve", "retrieve_page")
        page.get_by_role("tab", name="Export").wait_for(timeout=60_000)
        settle(page, timeout=60_000)
        assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
        page.get_by_role("tab", name="Export").click()
        field = page.locator(".st-key-retrieve_template input")
        field.wait_for(timeout=30_000)
        assert field.input_value() == "({speaker}, {document})"
        field.fill("{speaker} ({site}), turn {turn}")
        page.get_by_role("button", name="Save template").click()
        page.get_by_text("Attribution template saved").wait_for(timeout=30_000)
        settle(page, timeout=60_000)
        with team.store.session() as s:
            assert s.scalar(select(Project.attribution_template).where(Project.name == team.name)) == \
                "{speaker} ({site}), turn {turn}"
        page.get_by_role("tab", name="Export").click()
        page.locator(".st-key-retrieve_toc").get_by_text("Table of contents").click()
        settle(page)
        page.locator(".st-key-retrieve_other_codes").get_by_text("Other codes").click()
        settle(page)
        page.screenshot(path="/tmp/h16a/retrieve_export_tab.png", full_page=True)
        bank = docx.Document(io.BytesIO(_download(page, "Quote bank (DOCX)")))
        paras = [p.text for p in bank.paragraphs]
        quotes = [p.text for p in bank.paragraphs if p.style.name == "Quote"]
        assert f"{union} Docker (North Quay), turn 4" in quotes  # tom's and li's versions: one quote
        assert sum(q.startswith(GANGS[:10]) for q in quotes) == 2  # that one and li's Community quote
        assert "Docker_01, turn 4, Docker · coded by li, tom" in paras
        assert "quotes: one quote per passage" in paras[1]
        assert "Contents" in paras and "Also coded: Community" in paras
        sheet = openpyxl.load_workbook(io.BytesIO(_download(page, "Excerpts (XLSX)")))["Excerpts"]
        header = [c.value for c in sheet[1]]
        texts = {r[header.index("text")] for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert union in texts and GANGS in texts
        ctx.close()
