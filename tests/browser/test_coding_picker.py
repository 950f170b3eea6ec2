"""The coding page on a real team's project, in Chromium with real mouse drags (issue 19
item 1, issue 17 items 6, 9 and 10): tom, a coder of the protected project harbour (the
demo beside it on the same server), selects and codes.

Reruns are counted from the WebSocket frames the browser sends: every rerun request
carries the page's widget states (``$$ID-...``); nothing else is sent while a page sits.
After each step the test reads the database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.store import Store
from coding.store.models import Coding, Document
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from tests.conftest import TEAM, TEAM_PASSWORDS, TEAM_TEXTS, copy_database, drop_database

from .coding_helpers import block_of, choose, code_in_picker, drag, open_page, settle, signed_in, wait_selection
from .conftest import run_streamlit

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def harbour(request, tmp_path_factory):
    """harbour and the demo in one SQLite file, served by the app."""
    url = copy_database(request.getfixturevalue("_team_template"), tmp_path_factory.mktemp("picker"))
    store = Store(url, run_migrations=False)
    try:
        with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
            yield store, app_url
    finally:
        store.dispose()
        drop_database(url)


class Reruns:
    """Counts the rerun requests the browser sends (frames carrying widget states)."""

    def __init__(self, page) -> None:
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framesent", self._sent))

    def _sent(self, payload) -> None:
        data = payload if isinstance(payload, bytes) else payload.encode()
        if b"$$ID-" in data:
            self.frames.append(data)

    @property
    def count(self) -> int:
        return len(self.frames)


def sign_in_tom(browser, url, viewport=(1366, 768)):
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = ctx.new_page()
    reruns = Reruns(page)
    page.goto(url)
    page.locator(".st-key-common_project input").wait_for(timeout=60_000)
    choose(page, "common_project", TEAM)
    page.locator(".st-key-common_name input").wait_for(timeout=30_000)
    page.locator(".st-key-common_name input").fill("tom")
    page.locator(".st-key-common_pw input").fill(TEAM_PASSWORDS["tom"])
    page.get_by_role("button", name="Sign in").click()
    signed_in(page)
    open_page(page, "Code transcripts", "coding_page")
    page.wait_for_selector(".cwtv-root .cwtv-block [data-s]", timeout=30_000)
    settle(page)
    return ctx, page, reruns


def doc_id(store, name: str) -> str:
    with store.session() as s:
        return s.scalar(select(Document.id).where(Document.name == name))


def open_doc(page, store, name: str) -> None:
    choose(page, "coding_doc", name)
    page.wait_for_selector(f".cwtv-root[data-doc='{doc_id(store, name)}'] .cwtv-block [data-s]", timeout=30_000)
    settle(page)


def toms_codings(store, name: str) -> list[tuple[str, str, int, int]]:
    """(id, code name, start, end) of tom's codings on document `name`, oldest first."""
    from coding.store.models import Code, Coder
    with store.session() as s:
        return [tuple(r) for r in s.execute(
            select(Coding.id, Code.name, Coding.start, Coding.end).join(Code, Code.id == Coding.code_id)
            .join(Document, Document.id == Coding.document_id).join(Coder, Coder.id == Coding.coder_id)
            .where(Document.name == name, Coder.name == "tom").order_by(Coding.created_at)).all()]


def wait_db(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def code_id(store, path: str) -> str:
    with store.session() as s:
        from coding.team.projects import get_project
        return code_tree(s, get_project(s, TEAM)).resolve(path).id


def test_a_selection_costs_no_rerun_and_choosing_a_code_stores_one_coding_in_one(browser, harbour):
    store, url = harbour
    ctx, page, reruns = sign_in_tom(browser, url)
    open_doc(page, store, "Docker_01")
    text, phrase = TEAM_TEXTS["Docker_01"], "Gangs of eight under a foreman"
    before = reruns.count
    drag(page, block_of(text, phrase), phrase, block_of(text, phrase), phrase)
    wait_selection(page, phrase)   # the picker shows it: selection, recent codes and the type-ahead box
    assert page.locator(".cwtv-side .cwtv-key").count() >= 1 and page.locator(".cwtv-filter").is_visible()
    page.wait_for_timeout(1500)
    assert reruns.count == before   # selecting ran nothing on the server
    code_in_picker(page, code_id(store, "Work/Gang labour")).click()
    rows = wait_db(lambda: toms_codings(store, "Docker_01"))
    at = text.index(phrase)
    assert [(name, a, b) for _, name, a, b in rows] == [("Gang labour", at, at + len(phrase))]
    page.wait_for_selector(f".cwtv-root [data-hl~='{rows[0][0]}']", timeout=15_000)
    # the browser clears the selection by itself once the coding is confirmed
    page.wait_for_function("() => !document.querySelector('.cwtv-root').getAttribute('data-selection')",
                           timeout=15_000)
    settle(page)
    page.wait_for_timeout(1000)
    assert reruns.count == before + 1   # one request stored it: none to select, none to clear
    assert toms_codings(store, "Docker_01") == rows
    # the type-ahead picker, from the keyboard: / then a few letters, Enter
    phrase2 = "Containers came in 1978"
    drag(page, block_of(text, phrase2), phrase2, block_of(text, phrase2), phrase2)
    wait_selection(page, phrase2)
    page.keyboard.press("/")
    page.keyboard.type("contai")
    page.keyboard.press("Enter")
    rows = wait_db(lambda: len(toms_codings(store, "Docker_01")) == 2 and toms_codings(store, "Docker_01"))
    at = text.index(phrase2)
    assert rows[1][1:] == ("Containerisation", at, at + len(phrase2))
    settle(page)
    assert reruns.count == before + 2
    ctx.close()


def test_undo_on_docker_02_never_removes_a_coding_on_docker_01(browser, harbour):
    store, url = harbour
    with store.session() as s:
        from coding.team.members import Member, get_member
        from coding.team.projects import get_project
        p = get_project(s, TEAM)
        tom = Member.of(get_member(s, p, "tom"))
        tree = code_tree(s, p)
        d1, d2 = get_document(s, p, "Docker_01"), get_document(s, p, "Docker_02")
        b = d2.text.index("Wives kept the houses going")
        apply_codes(s, p, tom, d2, [tree.resolve("Community").id], b, b + len("Wives kept the houses going"))
        a = d1.text.index("a tally book and a hook")   # tom's last step overall: on Docker_01
        apply_codes(s, p, tom, d1, [tree.resolve("Work/Clerical work").id], a, a + len("a tally book and a hook"))
    on_d1 = toms_codings(store, "Docker_01")
    assert len(toms_codings(store, "Docker_02")) == 1
    ctx, page, reruns = sign_in_tom(browser, url)
    open_doc(page, store, "Docker_02")
    undo = page.locator(".cwtv-undo-btn")
    assert undo.inner_text() == "↶ Undo applying Community to “Wives kept the houses going”"
    page.locator(".cwtv-root .cwtv-block[data-block='t1'] .cwtv-label").click()
    page.keyboard.press("Control+z")
    assert wait_db(lambda: toms_codings(store, "Docker_02") == []) is True
    page.locator(".cwtv-status", has_text="Undid applying Community to “Wives kept the houses going”").wait_for(
        timeout=15_000)
    settle(page)
    assert toms_codings(store, "Docker_01") == on_d1     # nothing undone on the other document
    assert page.locator(".cwtv-undo-btn").inner_text() == "↶ Nothing to undo here"
    page.keyboard.press("Control+z")                       # nothing left here: still nothing on Docker_01
    page.wait_for_timeout(1500)
    assert toms_codings(store, "Docker_01") == on_d1
    page.keyboard.press("Control+Shift+z")
    assert wait_db(lambda: len(toms_codings(store, "Docker_02")) == 1) is True
    page.locator(".cwtv-status", has_text="Redid applying Community to “Wives kept").wait_for(timeout=15_000)
    settle(page)
    # t says which code it applied (the most recent one: Community), on the turn clicked
    page.locator(".cwtv-root .cwtv-block[data-block='t1'] .cwtv-label").click()
    page.keyboard.press("t")
    page.locator(".cwtv-status", has_text="Coded the whole turn with Community").wait_for(timeout=15_000)
    text = TEAM_TEXTS["Docker_02"]
    turn = "The union fought for severance. Most of us took the money and left."
    assert wait_db(lambda: any(a == text.index(turn) for _, _, a, _ in toms_codings(store, "Docker_02")))
    assert toms_codings(store, "Docker_01") == on_d1
    ctx.close()


def test_at_1366x768_the_transcript_and_the_picker_are_in_view(browser, harbour):
    store, url = harbour
    ctx, page, _ = sign_in_tom(browser, url, viewport=(1366, 768))
    open_doc(page, store, "Clerk_01")
    page.evaluate("() => window.scrollTo(0, 0)")
    box = page.evaluate("""() => {
      const r = s => { const e = document.querySelector(s); if (!e) return null;
                       const b = e.getBoundingClientRect(); return [b.top, b.bottom, b.left, b.right]; };
      const codes = [...document.querySelectorAll('.cwtv-list .cwtv-code')].map(e => e.getBoundingClientRect().bottom);
      return {main: r('.cwtv-main'), side: r('.cwtv-side'), filter: r('.cwtv-filter'), undo: r('.cwtv-undo'),
              block: r(".cwtv-block[data-block='t0']"), codes, h: innerHeight, w: innerWidth,
              scrollW: document.scrollingElement.scrollWidth};
    }""")
    h, w = box["h"], box["w"]
    for part in ("main", "side", "filter", "undo", "block"):
        top, bottom, left, right = box[part]
        assert 0 <= top and bottom <= h and 0 <= left and right <= w, (part, box[part])
    assert box["main"][1] - box["main"][0] >= 450          # most of the window is transcript
    assert box["codes"] and all(b <= h for b in box["codes"])   # every code of harbour's codebook
    assert box["scrollW"] <= w                                   # no sideways scroll
    # a selection and its picker stay in view
    text, phrase = TEAM_TEXTS["Clerk_01"], "Counted every bale"
    drag(page, block_of(text, phrase), phrase, block_of(text, phrase), phrase)
    wait_selection(page, phrase)
    sel = page.locator(".cwtv-sel-text").bounding_box()
    assert sel["y"] >= 0 and sel["y"] + sel["height"] <= h
    ctx.close()


def test_quick_document_switches_all_land(browser, harbour):
    """Issue 17.9: the Document box ignored the first click during a rerun. Each switch here
    is one click on the box and one on the option, made while the previous step may still
    be running on the server; every one must land."""
    store, url = harbour
    ctx, page, _ = sign_in_tom(browser, url)
    names = ["Docker_01", "Docker_02", "Clerk_01", "Docker_02", "Docker_01", "Clerk_01", "Docker_01", "Docker_02"]
    slow = []
    for n, name in enumerate(names):
        # a selection just made, and every other time a coding being stored, when the box is clicked
        text = page.locator(".cwtv-block[data-block='t1'] [data-s]").first.inner_text()
        word = text.split()[-1]
        drag(page, "t1", word, "t1", word)
        if n % 2:
            page.keyboard.press("1")
        t0 = time.monotonic()
        page.locator(".st-key-coding_doc input").click()
        page.wait_for_timeout(150 * (n % 4))   # the list open while the rerun ends (or not)
        page.get_by_role("option", name=name, exact=True).click(timeout=5_000)
        try:
            page.wait_for_selector(f".cwtv-root[data-doc='{doc_id(store, name)}'] .cwtv-block [data-s]",
                                   timeout=10_000)
        except PlaywrightTimeout:
            slow.append(name)
        assert name in page.locator(".st-key-coding_doc input").input_value(), name
        slow += [name] if time.monotonic() - t0 > 5 and name not in slow else []
    assert slow == []
    ctx.close()
