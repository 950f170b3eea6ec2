"""Helpers for browser tests of the coding page: build a study, sign in, drag-select
with the real mouse, and read what the database holds."""

from __future__ import annotations

import contextlib
import random
import re
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {"lead": "lead-Heron-4421", "ana": "ana-Kestrel-8812", "ben": "ben-Osprey-3307"}

# Page coordinates of the first character of `startPhrase` in block `a` and of the last
# character of `endPhrase` in block `b`; the start block is scrolled into view first.
LOCATE_JS = """
([a, startPhrase, b, endPhrase]) => {
  const block = id => document.querySelector(`.cwtv-root .cwtv-block[data-block="${id}"]`);
  block(a).scrollIntoView({block: "center"});
  const find = (blockId, phrase, last) => {
    const pieces = [...block(blockId).querySelectorAll("[data-s]")];
    const text = pieces.map(p => p.firstChild.data).join("");
    const at = text.indexOf(phrase);
    if (at < 0) throw new Error(`${phrase} not in ${blockId}`);
    let unit = last ? at + phrase.length - 1 : at;
    const lo = text.charCodeAt(unit);
    if (last && lo >= 0xDC00 && lo <= 0xDFFF) unit -= 1;
    const width = text.charCodeAt(unit) >= 0xD800 && text.charCodeAt(unit) <= 0xDBFF ? 2 : 1;
    let skipped = 0;
    for (const p of pieces) {
      const n = p.firstChild;
      if (unit < skipped + n.length) {
        const r = document.createRange();
        r.setStart(n, unit - skipped);
        r.setEnd(n, unit - skipped + width);
        const rect = r.getBoundingClientRect();
        return {x: last ? rect.right - 1 : rect.left + 1, y: rect.top + rect.height / 2};
      }
      skipped += n.length;
    }
    throw new Error("unit outside pieces");
  };
  return [find(a, startPhrase, false), find(b, endPhrase, true)];
}
"""


def long_transcript(n_chars: int = 50_000, seed: int = 7) -> str:
    """A real-length interview: timestamped turns, accents, an emoji now and then."""
    rng = random.Random(seed)
    words = ("we planned the lesson together and observed each other teaching fractions then the "
             "principal joined our sessions with materials and the team refined the evidence from "
             "students José año niños reunión colaboración 👏").split()
    out, t, i = [], 0, 0
    while sum(len(x) + 2 for x in out) < n_chars:
        who = "Interviewer" if i % 2 == 0 else "Teacher"
        n = rng.randint(8, 25) if i % 2 == 0 else rng.randint(40, 140)
        body = " ".join(rng.choice(words) for _ in range(n)).capitalize()
        out.append(f"[{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}] {who}: {body}. Turn {i} ends here.")
        t += rng.randint(5, 90)
        i += 1
    return "\n\n".join(out) + "\n"


def sign_in(page, url: str, who: str, *, open_coding: bool = True) -> None:
    """Sign in through the sidebar as `who` and open the coding page."""
    page.goto(url)
    page.locator(".st-key-common_name input, .st-key-common_who, .st-key-common_sign_out").first.wait_for(
        timeout=60_000)
    if page.locator(".st-key-common_sign_out").count():   # the session survived a reload
        if page.get_by_text(re.compile(rf"Signed in as {who}\b")).count():  # noqa: SIM102
            if open_coding:
                _open_coding(page)
            return
        page.locator(".st-key-common_sign_out button").click()
        page.locator(".st-key-common_name input, .st-key-common_who").first.wait_for(timeout=60_000)
    name_box = page.locator(".st-key-common_name input")
    if name_box.count():
        name_box.fill(who)
    else:
        for _ in range(5):  # a cold first run may still be re-rendering the form: retry the dropdown
            page.locator(".st-key-common_who").click()
            try:
                page.get_by_role("option", name=re.compile(rf"^{who} \(")).click(timeout=5_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
                page.wait_for_timeout(1_000)
    page.locator(".st-key-common_pw input").fill(PASSWORDS[who])
    page.get_by_role("button", name="Sign in").click()
    signed_in(page)
    if open_coding:
        _open_coding(page)


def signed_in(page, timeout: float = 20_000) -> None:
    """Wait until the sign-in has settled: the session cookie is set (its request answered)
    and no rerun is pending, so a click on a page link is not swallowed by that rerun."""
    page.get_by_text("Signed in as").first.wait_for(timeout=timeout)
    for _ in range(int(timeout / 200)):
        if any(c["name"] == "coding_session" for c in page.context.cookies()):
            break
        page.wait_for_timeout(200)
    settle(page, timeout=timeout)


def open_page(page, link: str, path: str, timeout: float = 60_000) -> None:
    """Click the navigation link `link` until the browser shows the page `path`."""
    for _ in range(3):
        page.get_by_role("link", name=link).click()
        try:
            page.wait_for_url(f"**/{path}", timeout=10_000)
            break
        except PlaywrightTimeout:
            settle(page, timeout=timeout)
    settle(page, timeout=timeout)


def _open_coding(page) -> None:
    open_page(page, "Code transcripts", "coding_page")
    try:
        page.wait_for_selector(".cwtv-root .cwtv-block [data-s]", timeout=30_000)
    except PlaywrightTimeout:
        import os
        if os.environ.get("CODING_DEBUG_SHOTS"):
            page.screenshot(path=os.environ["CODING_DEBUG_SHOTS"] + ".open.png")
            print("PAGE:", page.url, page.locator("[data-testid='stAlert'], [data-testid='stException']")
                  .all_inner_texts())
        raise


def choose(page, box_key: str, option: str) -> None:
    """Pick `option` (exact label) in the selectbox with key `box_key`."""
    for _ in range(3):
        page.locator(f".st-key-{box_key} input").click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"cannot choose {option!r} in {box_key}")


def drag(page, a: str, start_phrase: str, b: str, end_phrase: str) -> None:
    """Select from the start of `start_phrase` (block a) to the end of `end_phrase` (block b)
    with the mouse, as a person does."""
    start, end = page.evaluate(LOCATE_JS, [a, start_phrase, b, end_phrase])
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move((start["x"] + end["x"]) / 2, (start["y"] + end["y"]) / 2, steps=4)
    page.mouse.move(end["x"], end["y"], steps=4)
    page.mouse.up()


def wait_selection(page, text: str, timeout: float = 15_000) -> None:
    """Wait until the view holds the selection: the picker beside the transcript shows its
    text (in the browser: no server round)."""
    try:
        page.locator(".cwtv-side .cwtv-sel-text", has_text=text[:40]).first.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        import os
        if os.environ.get("CODING_DEBUG_SHOTS"):
            page.screenshot(path=os.environ["CODING_DEBUG_SHOTS"])
            print("DOM selection:", page.evaluate("() => String(window.getSelection())"),
                  page.evaluate("() => { const r = document.querySelector('.cwtv-root'); return r && "
                                "JSON.stringify({sel: r.__cwtv.sel, awaiting: r.__cwtv.awaiting}); }"))
        raise


def code_in_picker(page, code_id: str):
    """The code's entry in the picker beside the transcript (the first: recent codes come first)."""
    return page.locator(f".cwtv-list [data-code='{code_id}']").first


def settle(page, timeout: float = 15_000) -> None:
    """Wait until Streamlit is no longer running the script: its status widget absent at two
    looks 250 ms apart (it appears only a moment after a rerun starts)."""
    idle = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    for _ in range(int(timeout / 250)):
        page.wait_for_timeout(250)
        page.wait_for_function(idle, timeout=timeout)
        page.wait_for_timeout(250)
        if page.evaluate(idle):
            return


def block_of(text: str, phrase: str) -> str:
    """The block id (t<turn position>) holding `phrase`, for a text cut into turns at blank lines."""
    at = text.index(phrase)
    return f"t{text[:at].count(chr(10) + chr(10))}"


@contextlib.contextmanager
def demo_app(path: Path, prepare=None):
    """The demo study in a SQLite file at ``path`` (``prepare(session, project)`` may add to
    it), served by the app; yields ``(store, url)``."""
    from coding.demo import build_demo
    from coding.store import Store

    from .conftest import run_streamlit

    url = f"sqlite:///{path}"
    store = Store(url)
    try:
        with store.session() as s:
            project, _ = build_demo(s)
            if prepare is not None:
                prepare(s, project)
        with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
            yield store, app_url
    finally:
        store.dispose()


def sign_in_local(page, url: str, who: str, role: str = "lead") -> None:
    """Sign in to a local-mode project (the demo) by picking the member."""
    page.goto(url)
    page.locator(".st-key-common_who input").wait_for(timeout=60_000)
    choose(page, "common_who", f"{who} ({role})")
    page.get_by_role("button", name="Sign in").click()
    signed_in(page)
