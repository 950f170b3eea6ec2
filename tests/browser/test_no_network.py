"""An offline research server makes no request outside itself, in a real Chromium.

Names are data: a code named with image Markdown and a member named ``**B**`` show
as those characters, and the page fetches nothing for them. No page fetches fonts,
icons or anything else from the internet either (the favicon used to come from
fonts.gstatic.com).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from coding.codebook.tree import code_tree
from coding.demo import build_demo
from coding.team.projects import add_member
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import Code

from .coding_helpers import settle, signed_in
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
        lead = Member.of(get_member(s, p, "lead"))
        add_member(s, p, LEAD, "lead", actor=lead)
        add_member(s, p, IMG, "coder", actor=lead)
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
    signed_in(page)


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
        settle(page, timeout=60_000)  # the script finished: every element is on the page
        page.wait_for_timeout(2_000)  # let late elements (charts, the favicon) start their requests
        body = page.locator("body").inner_text()

        outside = _outside(requests, app_url)
        # A ":material/...:" page_icon in app.py makes the browser fetch the favicon from
        # fonts.gstatic.com; an emoji (drawn into a data: URL) or a local file does not.
        assert outside == [], f"requests leaving the server: {outside}"
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
    assert config["client"]["showErrorDetails"] == "none"  # no traceback reaches a user
    assert config["server"]["address"] == "127.0.0.1"  # local mode needs loopback; a team server overrides it


NASTY = [IMG, LEAD, ":red[x]", ":blue-background[x]", ":material/face:", ":smile:", ":streamlit:", "$x^2$",
         "$$y$$", "`code`", "<b>x</b>", "<img src=http://example.invalid/i.png>", "[l](http://example.invalid)",
         "# h", "> q", "- item", "1. item", "a_b_c *d*", "~~s~~ ~t~", "| a | b |", "\\*", "back\\slash",
         "www.example.invalid", "a@example.invalid", "&amp; &#42;", "    indented", "[x]: http://example.invalid",
         "café ☕ 👏 ¿qué?", "H~2~O ^sup^ ==mark==", "<http://example.invalid>", "x :streamlit: y",
         "a -- b -> c <- d <-> e >= f <= g ~= h", "HTTPS://example.invalid/x WWW.example.invalid"]
MD_APP = '''
import streamlit as st
from app_pages.plain import md_escape
NASTY = {nasty!r}
for i, s in enumerate(NASTY):
    with st.container(key=f"md_{{i}}"):
        st.markdown(md_escape(s))
    with st.container(key=f"cap_{{i}}"):
        st.caption("Code: " + md_escape(s))
    st.button(md_escape(s), key=f"btn_{{i}}")
    st.checkbox(md_escape(s), key=f"chk_{{i}}")
    st.expander(md_escape(s))
    st.radio("r", [s], format_func=md_escape, key=f"rad_{{i}}")
'''


@pytest.mark.browser
def test_md_escape_shows_every_character_and_fetches_nothing(browser, tmp_path):
    app = tmp_path / "md_app.py"
    app.write_text(MD_APP.format(nasty=NASTY), encoding="utf-8")
    with run_streamlit(app) as base:
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        ctx.on("request", lambda r: requests.append(r.url))
        page = ctx.new_page()
        try:
            page.goto(base)
            page.locator(f".st-key-rad_{len(NASTY) - 1}").wait_for(timeout=60_000)
            settle(page, timeout=60_000)  # the script finished: every element is on the page
            page.wait_for_timeout(1_000)

            def shown(selector: str) -> str:
                # md_escape may add invisible word joiners; a no-break space stands for indentation
                return page.locator(selector).inner_text().replace("\u2060", "").replace("\u00a0", " ").strip()

            for i, s in enumerate(NASTY):
                want = s.strip()
                assert shown(f".st-key-md_{i}") == want, s
                assert shown(f".st-key-cap_{i}") == f"Code: {s}".strip(), s
                assert shown(f".st-key-btn_{i}") == want, s
                assert shown(f".st-key-chk_{i}") == want, s
                assert shown(f".st-key-rad_{i} [role='radiogroup']") == want, s
            labels = page.locator("[data-testid='stExpander'] summary").all_inner_texts()
            icon = re.compile(r"^keyboard_arrow_\w+\s*")  # the expander's Material Symbols ligature
            assert [icon.sub("", t.replace("\u2060", "").replace("\u00a0", " ")).strip()
                    for t in labels] == [s.strip() for s in NASTY]
            assert page.locator("main img, main .katex, main code, main strong, main em").count() == 0
            # GFM autolinks: a bare URL or e-mail address becomes a link showing the same characters
            assert {a.inner_text() for a in page.locator("main a").all()} <= {
                "http://example.invalid/pixel.png", "http://example.invalid", "http://example.invalid/i.png",
                "HTTPS://example.invalid/x", "WWW.example.invalid", "www.example.invalid", "a@example.invalid"}
            assert _outside(requests, base) == []
        finally:
            ctx.close()
