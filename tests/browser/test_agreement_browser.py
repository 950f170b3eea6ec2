"""The agreement drill-down in a real Chromium (issue 7.1): after Decide, the Code and
Document boxes keep the lead's choice (they fell back to the first entries when their
labels carried counts), and the decision is stored for that code and document."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from coding.work.adjudication import disagreement_counts
from coding.codebook.tree import code_tree
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store.models import Adjudication, Document

from .coding_helpers import choose, demo_app, open_page, settle, sign_in_local

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_app(tmp_path_factory.mktemp("agree") / "demo.db") as served:
        yield served


def test_decide_keeps_the_drill_down_and_stores_the_decision(browser, demo):
    store, url = demo
    with store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        tree = code_tree(s, p)
        codable = [i for i in tree.infos if i.codable]
        counts = disagreement_counts(s, p, lead, "ana", "ben")
        names = dict(s.execute(select(Document.id, Document.name)).all())
        docs = sorted({d for d, _ in counts}, key=names.get)
        # a pair that is neither the first code nor the first document, with a disagreement
        doc_id, code_id = next((d, c) for c in [i.id for i in codable[1:]] for d in docs[1:]
                               if counts.get((d, c), {}).get("disagreements"))
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = ctx.new_page()
    sign_in_local(page, url, "lead")
    open_page(page, "Agreement", "agreement_page")
    page.locator(".st-key-agreement_dd_code input").wait_for(timeout=60_000)
    settle(page, timeout=60_000)
    choose(page, "agreement_dd_code", tree.info[code_id].path)
    settle(page, timeout=60_000)
    choose(page, "agreement_dd_doc", names[doc_id])
    settle(page, timeout=60_000)
    reason = page.get_by_placeholder("e.g. the definition includes the teacher's example").first
    reason.fill("A's span matches the definition")
    reason.press("Tab")
    settle(page, timeout=60_000)
    for _ in range(3):  # a click landing while a rerun replaces the button is lost: click again
        page.get_by_role("button", name="Decide", exact=True).first.click()
        try:
            page.get_by_text("is now the consensus").first.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            settle(page, timeout=60_000)
    settle(page, timeout=60_000)
    assert page.locator(".st-key-agreement_dd_code input").input_value() == tree.info[code_id].path
    assert page.locator(".st-key-agreement_dd_doc input").input_value() == names[doc_id]
    with store.session() as s:
        rows = s.execute(select(Adjudication.document_id, Adjudication.code_id, Adjudication.reason)).all()
    assert rows == [(doc_id, code_id, "A's span matches the definition")]
    ctx.close()
