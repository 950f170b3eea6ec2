"""The transcript component in a real Chromium: selections, clicks, keys, and text safety."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app_pages import transcript_component
from coding.text.offsets import Utf16Map

from .coding_helpers import LOCATE_JS as _LOCATE_JS
from .coding_helpers import drag
from .component_demo_app import FULL_TEXT
from .conftest import run_streamlit

DEMO_APP = Path(__file__).with_name("component_demo_app.py")


@pytest.fixture(scope="module")
def demo_url():
    with run_streamlit(DEMO_APP) as url:
        yield url


@pytest.fixture
def page(browser, demo_url):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.goto(demo_url)
    pg.wait_for_selector(".cwtv-root .cwtv-block[data-block='t4'] [data-s]", timeout=30_000)
    yield pg
    context.close()


def _reported(page, name: str, timeout: float = 15_000):
    """Wait until the demo app prints a non-null value for NAME; return it parsed."""
    loc = page.locator("code", has_text=re.compile(rf"^{name} (?!null)"))
    loc.first.wait_for(timeout=timeout)
    return json.loads(loc.first.inner_text().split(" ", 1)[1])


def _drag(page, a: str, start_phrase: str, b: str, end_phrase: str) -> None:
    drag(page, a, start_phrase, b, end_phrase)


def _runs(page) -> int:
    return int(page.locator("code", has_text=re.compile(r"^RUNS \d+")).first.inner_text().split()[1])


def _held(page, timeout: float = 15_000) -> dict:
    """The selection the view holds in the browser (it is not sent to the server)."""
    page.wait_for_function("() => document.querySelector('.cwtv-root').getAttribute('data-selection')",
                           timeout=timeout)
    return page.evaluate("() => document.querySelector('.cwtv-root').__cwtv.sel")


def _check_selection(selection: dict, phrase: str) -> None:
    umap = Utf16Map(FULL_TEXT)
    cp = FULL_TEXT.index(phrase)
    assert (selection["start"], selection["end"]) == umap.span_to_utf16(cp, cp + len(phrase))
    assert (selection["doc"], selection["sha"]) == ("demo-doc", "demo-sha") and selection["nonce"]
    start, end = umap.span_from_utf16(selection["start"], selection["end"])
    assert FULL_TEXT[start:end] == phrase


def test_component_js_never_parses_markup():
    """The JS builds the DOM from text nodes only (a cheap guard; the browser test proves it)."""
    js = transcript_component._JS
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                      "createContextualFragment", "DOMParser"):
        assert forbidden not in js


@pytest.mark.browser
def test_drag_selects_phrase_after_emoji(page):
    phrase = "indeed, the children loved"
    _drag(page, "t3", "indeed", "t3", "loved")
    selection = _held(page)
    _check_selection(selection, phrase)
    assert selection["text"] == phrase


@pytest.mark.browser
def test_drag_selects_accented_spanish_phrase(page):
    phrase = "opinó la señora Núñez"
    _drag(page, "t2", "opinó", "t2", "Núñez")
    selection = _held(page)
    _check_selection(selection, phrase)


@pytest.mark.browser
def test_drag_across_blocks_includes_the_gap(page):
    phrase = "children loved it.\n\nStudent"
    _drag(page, "t3", "children", "t4", "Student")
    selection = _held(page)
    _check_selection(selection, phrase)
    assert selection["text"] == "children loved it.\nStudent"


@pytest.mark.browser
def test_double_click_selects_a_word(page):
    start, end = page.evaluate(_LOCATE_JS, ["t1", "March", "t1", "March"])
    page.mouse.dblclick((start["x"] + end["x"]) / 2, start["y"])
    _check_selection(_held(page), "March")


@pytest.mark.browser
def test_selection_with_emoji_inside(page):
    phrase = "class 👏 indeed"
    _drag(page, "t3", "class", "t3", "indeed")
    _check_selection(_held(page), phrase)


@pytest.mark.browser
def test_click_on_highlight_reports_its_id(page):
    page.locator(".cwtv-root [data-hl='h-schools']").click()
    clicked = _reported(page, "CLICKED")
    assert clicked["ids"] == ["h-schools"]
    umap = Utf16Map(FULL_TEXT)
    cp = FULL_TEXT.index("two schools")
    assert umap.to_utf16(cp) <= clicked["at"] <= umap.to_utf16(cp + len("two schools"))


@pytest.mark.browser
def test_click_on_overlap_reports_every_code(page):
    page.locator(".cwtv-root [data-hl='h-great h-class']").click()
    assert sorted(_reported(page, "CLICKED")["ids"]) == ["h-class", "h-great"]


@pytest.mark.browser
def test_overlapping_codes_are_all_visible(page):
    piece = page.locator(".cwtv-root [data-hl='h-great h-class']")
    style = piece.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).boxShadow]")
    assert style[0] == "rgba(0, 170, 0, 0.35)"
    assert "rgb(0, 0, 255)" in style[1]
    title = piece.get_attribute("title")
    assert "Results in students" in title and "Support" in title


@pytest.mark.browser
def test_selection_shows_in_the_picker_without_a_server_round_and_a_key_applies_it(page):
    """Issue 19.1: selecting shows the selection and the recent codes at once, in the
    browser (the script does not run); key 1 sends ONE request with the selection."""
    page.wait_for_timeout(500)
    runs = _runs(page)
    _drag(page, "t2", "señora", "t2", "Núñez")
    side = page.locator(".cwtv-side")
    side.locator(".cwtv-sel-text", has_text="señora Núñez").wait_for(timeout=5_000)
    assert side.locator(".cwtv-code .cwtv-key").all_inner_texts()[:2] == ["1", "2"]
    page.wait_for_timeout(1000)
    assert _runs(page) == runs   # no rerun for the selection
    page.keyboard.press("1")
    applied = _reported(page, "APPLY")
    assert applied["codes"] == ["code-a"] and applied["how"] == "key" and applied["nonce"]
    _check_selection(applied["sel"], "señora Núñez")
    assert _runs(page) == runs + 1
    # the optimistic highlight is painted at once (the demo app never answers it)
    assert page.evaluate("() => document.querySelector('.cwtv-root').getAttribute('data-pending')") == "1"


@pytest.mark.browser
def test_type_ahead_picker_applies_the_code_typed(page):
    _drag(page, "t1", "two", "t1", "schools")
    _held(page)
    page.keyboard.press("/")
    page.keyboard.type("supp")
    assert page.locator(".cwtv-list .cwtv-code").all_inner_texts() == ["Support\nOutcomes"]
    page.keyboard.press("Enter")
    applied = _reported(page, "APPLY")
    assert applied["codes"] == ["code-b"] and applied["how"] == "typed"
    _check_selection(applied["sel"], "two schools")
    # a code name is text, never markup
    assert page.locator(".cwtv-side b").count() == 0
    assert "Results <b>in</b> students" in page.locator(".cwtv-list").inner_text()


@pytest.mark.browser
def test_a_click_on_a_code_in_the_picker_applies_it(page):
    _drag(page, "t3", "great", "t3", "class")
    _held(page)
    page.locator(".cwtv-list [data-code='code-b']").first.click()
    applied = _reported(page, "APPLY")
    assert applied["codes"] == ["code-b"] and applied["how"] == "click"
    _check_selection(applied["sel"], "great class")


@pytest.mark.browser
def test_no_code_is_sent_without_a_selection(page):
    page.wait_for_timeout(500)
    runs = _runs(page)
    page.locator(".cwtv-root .cwtv-block[data-block='t2'] .cwtv-label").click()
    page.keyboard.press("1")
    page.locator(".cwtv-status", has_text="Select some text").wait_for(timeout=5_000)
    page.wait_for_timeout(800)
    assert _runs(page) == runs and page.locator("code", has_text="APPLY null").count() == 1


@pytest.mark.browser
@pytest.mark.parametrize("keys", ["u", "Control+z"])
def test_undo_key_after_a_plain_click(page, keys):
    page.locator(".cwtv-root .cwtv-block[data-block='t2'] .cwtv-label").click()
    page.keyboard.press(keys)
    shortcut = _reported(page, "SHORTCUT")
    # undo names the event it undoes, and each key press has its own id
    assert (shortcut["key"], shortcut["block"], shortcut["target"]) == ("u", "t2", "event-1")
    assert shortcut["nonce"]
    assert "applying Support to “two schools”" in page.locator(".cwtv-undo-btn").inner_text()


def _dom_selection(page) -> str:
    return page.evaluate("() => String(window.getSelection())")


@pytest.mark.browser
def test_selection_survives_a_rebuild(page):
    _drag(page, "t2", "señora", "t2", "Núñez")
    before = _held(page)
    page.get_by_role("button", name="Focus schools").click()
    page.locator(".cwtv-root .cwtv-focus[data-hl='h-schools']").wait_for()
    assert _held(page) == before
    assert _dom_selection(page) == "señora Núñez"


@pytest.mark.browser
def test_suggest_shares_the_selection_and_clear_selection_sticks(page):
    _drag(page, "t1", "started", "t1", "project")
    _held(page)
    page.locator(".cwtv-suggest").click()     # asks the server: the selection is shared
    _check_selection(_reported(page, "SELECTION"), "started the project")
    page.get_by_role("button", name="Clear selection").click()
    page.locator("code", has_text="SELECTION null").wait_for()
    page.get_by_role("button", name="Rerun").click()
    page.wait_for_timeout(1500)
    assert page.locator("code", has_text="SELECTION null").count() == 1
    assert _dom_selection(page) == ""
    assert page.evaluate("() => document.querySelector('.cwtv-root').__cwtv.sel") is None


@pytest.mark.browser
def test_plain_click_resets_selection(page):
    _drag(page, "t1", "started", "t1", "project")
    _held(page)
    page.locator(".cwtv-root .cwtv-label").first.click()
    page.wait_for_function("() => !document.querySelector('.cwtv-root').getAttribute('data-selection')")
    assert "Select text in the transcript" in page.locator(".cwtv-selbox").inner_text()


@pytest.mark.browser
def test_html_in_transcript_shows_as_text(page):
    block = page.locator(".cwtv-root .cwtv-block[data-block='t4']")
    assert block.inner_text() == (
        'Student: <b>bold</b><script>window.__x=1</script><img src=x onerror="window.__y=1">'
    )
    counts = page.evaluate(
        "() => ['script', 'img', 'b'].map(t => document.querySelectorAll(`.cwtv-root ${t}`).length)"
    )
    assert counts == [0, 0, 0]
    assert page.evaluate("() => [window.__x, window.__y]") == [None, None]
