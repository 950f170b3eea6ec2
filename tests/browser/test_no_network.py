"""An offline research server makes no request outside itself, in a real Chromium.

Names are data: a code named with image Markdown and a member named ``**B**`` show
as those characters, and the page fetches nothing for them. No page fetches fonts,
icons or anything else from the internet either (the favicon used to come from
fonts.gstatic.com).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from coding.codebook import code_tree
from coding.demo import build_demo
from coding.projects import add_member
from coding.store import Store
from coding.store.models import Code

from .conftest import run_streamlit

REPO = Path(__file__).resolve().parents[2]
IMG = "![t](http://example.invalid/pixel.png)"
LEAD = "**B**"
PLAN = "CIC Project/Collaboration between teachers/Joint planning"
# page path -> text that tells the page has rendered for a signed-in lead
PAGES = {"": "Rounds and progress", "codebook_page": "Recent codebook changes",
         "coding_page": "Document", "agreement_page": "Agreement"}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('nonet') / 'nonet.db'}"
    store = Store(url)
    with store.session() as s:
        p, _ = build_demo(s)
        # The engine refuses '/' in a code name; a codebook made elsewhere may hold one anyway.
        s.get(Code, code_tree(s, p).resolve(PLAN).id).name = IMG
        p.codebook_title = f"Book {IMG}"
        add_member(s, p, LEAD, "lead")
        add_member(s, p, IMG, "coder")
    store.dispose()
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as base:
        yield base


def _sign_in(page, who: str) -> None:
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


def _outside(requests: list[str], base: str) -> list[str]:
    """Requested URLs that leave this server (data: and blob: URLs are in-page)."""
    here = urlsplit(base).netloc
    return [u for u in requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != here]


@pytest.mark.browser
@pytest.mark.parametrize("path", list(PAGES))
def test_a_page_makes_no_outside_request_and_shows_names_as_text(browser, app_url, path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    page = ctx.new_page()
    try:
        page.goto(f"{app_url}/{path}")
        _sign_in(page, LEAD)
        page.get_by_text(PAGES[path], exact=False).first.wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(2_000)  # let late elements (charts, the favicon) start their requests
        body = page.locator("body").inner_text()

        assert _outside(requests, app_url) == []
        assert f"Signed in as {LEAD} (lead)" in page.locator("[data-testid='stSidebar']").inner_text()
        if path == "":
            assert f"Codebook: Book {IMG}" in body
        if path == "codebook_page":
            assert f"Book {IMG}" in body
        assert page.get_by_role("button", name="Deploy").count() == 0  # client.toolbarMode = "viewer"
    finally:
        ctx.close()


def test_config_keeps_users_out_of_developer_menus_and_sends_no_statistics():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["browser"]["gatherUsageStats"] is False
