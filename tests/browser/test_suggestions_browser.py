"""Suggested codes in a real Chromium (issue 9): a coder drags over a sentence with the mouse,
the coding page suggests codes learnt from her own codings, she accepts one, sees it
highlighted, and the database holds a 'suggested' coding on exactly the selected text."""

from __future__ import annotations

import json

import pytest
from tests.processed_demo import processed_rows  # noqa: F401  (the demo parsed once per session)
from sqlalchemy import select

from coding.work.codings import PROVENANCE_SUGGESTED
from coding.team.projects import get_project
from coding.team.members import get_member
from coding.store.models import Coding, Document, Event, NlpCache

from .coding_helpers import demo_app, drag, open_page, settle, sign_in_local, wait_selection

pytestmark = pytest.mark.browser

DOC = "P01_principal_School-I_3"
PHRASE = "It was teachers working on their own lessons, with their own students"

BLOCK_OF = """phrase => {
  for (const b of document.querySelectorAll(".cwtv-root .cwtv-block")) {
    const text = [...b.querySelectorAll("[data-s]")].map(p => p.firstChild.data).join("");
    if (text.includes(phrase)) return b.getAttribute("data-block");
  }
  return null;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory, processed_rows):
    def processed(s, project):
        s.add_all(NlpCache(sha256=a, pipeline=b, data=c) for a, b, c in processed_rows)

    with demo_app(tmp_path_factory.mktemp("suggest") / "demo.db", processed) as served:
        yield served


def test_accept_a_suggested_code_by_mouse_and_see_it_highlighted(browser, demo):
    store, url = demo
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    sign_in_local(page, url, "ana", "coder")
    open_page(page, "Code transcripts", "coding_page")
    page.wait_for_selector(".cwtv-root .cwtv-block [data-s]", timeout=30_000)
    settle(page)
    block = page.evaluate(BLOCK_OF, PHRASE)
    assert block, "the demo transcript changed: pick another phrase"
    drag(page, block, PHRASE, block, PHRASE)
    wait_selection(page, PHRASE)
    page.locator(".cwtv-suggest").click()   # suggestions are asked for: a selection alone costs no rerun
    accept = page.locator("[class*='st-key-coding_sugg_accept_'] button").first
    accept.wait_for(timeout=30_000)
    holder = page.locator("[class*='st-key-coding_sugg_accept_']").first.get_attribute("class")
    code_id = next(c for c in holder.split() if c.startswith("st-key-coding_sugg_accept_")).rsplit("_", 1)[1]
    accept.click()
    rows = []
    for _ in range(100):
        with store.session() as s:
            rows = s.execute(select(Coding.id, Coding.start, Coding.end, Coding.code_id, Document.text, Coding.coder_id)
                             .join(Document, Document.id == Coding.document_id)
                             .where(Coding.provenance == PROVENANCE_SUGGESTED)).all()
        if rows:
            break
        page.wait_for_timeout(100)
    with store.session() as s:
        ana = get_member(s, get_project(s, "demo"), "ana")
        ev = [json.loads(e.payload) for e in s.scalars(select(Event).where(Event.action == "suggestion.accept"))]
    assert len(rows) == 1
    cid, start, end, code, text, coder = rows[0]
    assert (text[start:end], code, coder) == (PHRASE, code_id, ana.id)
    assert [(e["model"], e["codings"][0]["id"]) for e in ev] == [("codes", cid)]
    # the highlight is drawn from what was stored (its coding id on the painted text)
    page.wait_for_selector(f".cwtv-root [data-hl~='{cid}']", timeout=15_000)
    painted = page.evaluate(f"""() => [...document.querySelectorAll(".cwtv-root [data-hl~='{cid}']")]
                                .map(e => e.textContent).join("")""")
    assert painted == PHRASE
