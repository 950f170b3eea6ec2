"""End to end in a real Chromium: coder A selects a phrase with the mouse, applies a
code, reloads and finds the highlight over exactly that phrase; coder B, in the same
blind round, does not see it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from coding.codebook import code_tree, import_codebook, load_codebook_file
from coding.documents import import_uploads, list_documents
from coding.projects import add_member, create_project, get_member
from coding.rounds import assign, open_round
from coding.store import Store
from coding.store.models import Coding

from .conftest import run_streamlit
from .test_component import _drag

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
TEXT = ("Interviewer: How did the planning go?\n\n"
        "Teacher: We planned the fractions lesson together 👏 every Tuesday, and José observed it.\n\n"
        "Interviewer: ¿Y la retroalimentación?\n\n"
        "Teacher: La señora Núñez nos dio comentarios muy útiles.\n")
PHRASE = "José observed it"
CODE = "CIC Project/Collaboration between teachers/Peer observation"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from coding.projects import Member

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    store = Store(url)
    with store.session() as s:
        p = create_project(s, "study")
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"))
        import_uploads(s, p, [("T1.txt", TEXT.encode())])
        lead = Member.of(add_member(s, p, "lead", "lead"))
        add_member(s, p, "ana", "coder")
        add_member(s, p, "ben", "coder")
        rnd = open_round(s, p, lead, "Round 1", blind=True)
        assign(s, p, lead, rnd, list_documents(s, p), [get_member(s, p, "ana"), get_member(s, p, "ben")])
        code_id = code_tree(s, p).resolve(CODE).id
    yield store, url, code_id
    store.dispose()


def _sign_in_and_open(page, url: str, who: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    for _ in range(5):  # a cold first run may still be re-rendering the form: retry the dropdown
        page.locator(".st-key-common_who").click()
        try:
            page.get_by_role("option", name=f"{who} (").click(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            page.wait_for_timeout(1_000)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=15_000)
    page.get_by_role("link", name="Code transcripts").click()
    page.wait_for_selector(".cwtv-root .cwtv-block[data-block='t1'] [data-s]", timeout=30_000)


def _highlight_texts(page) -> list[str]:
    return page.evaluate("""() => {
      const out = {};
      for (const el of document.querySelectorAll('.cwtv-root [data-hl]')) {
        for (const id of el.getAttribute('data-hl').split(' ')) out[id] = (out[id] || '') + el.textContent;
      }
      return Object.values(out);
    }""")


def test_coder_codes_a_phrase_and_the_other_coder_does_not_see_it(browser, study):
    store, url, code_id = study
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        _sign_in_and_open(page, app_url, "ana")
        _drag(page, "t1", PHRASE, "t1", PHRASE)
        page.get_by_text(re.compile(r"Selection · characters")).wait_for(timeout=15_000)
        page.wait_for_timeout(500)  # let the rerun the selection caused settle
        page.locator(f".st-key-coding_code_{code_id} button").first.click()
        page.get_by_text("Applied Peer observation.").wait_for(timeout=15_000)
        page.wait_for_function("() => document.querySelectorAll('.cwtv-root [data-hl]').length > 0",
                               timeout=15_000)

        # stored with code-point offsets of exactly the phrase (the emoji before it counts as one)
        with store.session() as s:
            codings = s.query(Coding).all()
            assert [(c.code_id, TEXT[c.start:c.end]) for c in codings] == [(code_id, PHRASE)]

        page.reload()
        _sign_in_and_open(page, app_url, "ana")
        page.wait_for_function("() => document.querySelectorAll('.cwtv-root [data-hl]').length > 0",
                               timeout=15_000)
        assert _highlight_texts(page) == [PHRASE]

        page.get_by_role("button", name="Sign out").click()
        _sign_in_and_open(page, app_url, "ben")
        page.wait_for_timeout(1500)
        assert _highlight_texts(page) == []
        assert page.get_by_text("Peer observation (ana)").count() == 0
        ctx.close()
