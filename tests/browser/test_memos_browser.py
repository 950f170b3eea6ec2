"""Issue 17, item 7, in a real Chromium on harbour: a memo is stored when the member leaves
its box, as people do, without pressing Save: a coding memo edited then a click elsewhere on
the coding page; a document memo typed then another document chosen; a document memo typed
then another page opened. Each step reads the database."""

from __future__ import annotations

import pytest

from coding.codebook.tree import code_tree
from coding.store.models import Coding
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document
from coding.work.memos import document_memo

from .coding_helpers import choose, open_page, settle
from .conftest import run_streamlit
from .test_export_kinds_browser import REPO, _sign_in

pytestmark = pytest.mark.browser
PHRASE = "tally book"


def _doc_memo(team, name: str) -> str | None:
    with team.store.session() as s:
        p = team.project(s)
        memo = document_memo(s, p, team.member(s, "tom"), get_document(s, p, name))
        return memo.text if memo else None


def test_memos_are_stored_when_the_member_leaves_the_box(browser, team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        doc = next(get_document(s, p, n) for n in ("Docker_01", "Docker_02", "Clerk_01")
                   if PHRASE in get_document(s, p, n).text)
        start = doc.text.index(PHRASE)
        [c] = apply_codes(s, p, tom, doc, [code_tree(s, p).resolve("Work/Clerical work").id], start,
                          start + len(PHRASE))
        set_memo(s, p, tom, c.id, "first reading")
        coding_id, doc_name = c.id, doc.name
    url = team.store.engine.url.render_as_string(hide_password=False)
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx, page = _sign_in(browser, app_url, team, "tom")

        # a coding memo edited, then a click elsewhere on the page
        open_page(page, "Code transcripts", "coding_page")
        choose(page, "coding_doc", doc_name)
        settle(page, timeout=60_000)
        page.locator(".cwtv-root [data-hl]", has_text=PHRASE).first.click()
        box = page.locator("textarea[aria-label='Memo']").first
        box.wait_for(timeout=30_000)
        assert box.input_value() == "first reading"
        box.fill("the tally clerk decided who worked that day")
        # focus leaves the box: a click on the coding's own text above it
        page.locator(f".st-key-coding_focus_box_{coding_id} [data-testid='stText']").first.click()
        settle(page, timeout=60_000)
        with team.store.session() as s:
            assert s.get(Coding, coding_id).memo == "the tally clerk decided who worked that day"
        assert page.locator("textarea[aria-label='Memo']").first.input_value() == \
            "the tally clerk decided who worked that day"

        # a document memo typed, then another document chosen
        open_page(page, "Memos", "memos_page")
        choose(page, "memos_doc", "Docker_01")
        settle(page, timeout=60_000)
        page.locator("textarea[aria-label='My memo on this document']").fill("Talks about gangs and the foreman.")
        choose(page, "memos_doc", "Docker_02")
        settle(page, timeout=60_000)
        assert _doc_memo(team, "Docker_01") == "Talks about gangs and the foreman."
        assert _doc_memo(team, "Docker_02") is None

        # a document memo typed, then another page opened from the sidebar
        page.locator("textarea[aria-label='My memo on this document']").fill("Severance, and who took it.")
        open_page(page, "Code transcripts", "coding_page")
        assert _doc_memo(team, "Docker_02") == "Severance, and who took it."
        ctx.close()
