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
    selection = _reported(page, "SELECTION")
    _check_selection(selection, phrase)
    assert selection["text"] == phrase


@pytest.mark.browser
def test_drag_selects_accented_spanish_phrase(page):
    phrase = "opinó la señora Núñez"
    _drag(page, "t2", "opinó", "t2", "Núñez")
    selection = _reported(page, "SELECTION")
    _check_selection(selection, phrase)


@pytest.mark.browser
def test_drag_across_blocks_includes_the_gap(page):
    phrase = "children loved it.\n\nStudent"
    _drag(page, "t3", "children", "t4", "Student")
    selection = _reported(page, "SELECTION")
    _check_selection(selection, phrase)
    assert selection["text"] == "children loved it.\nStudent"


@pytest.mark.browser
def test_double_click_selects_a_word(page):
    start, end = page.evaluate(_LOCATE_JS, ["t1", "March", "t1", "March"])
    page.mouse.dblclick((start["x"] + end["x"]) / 2, start["y"])
    _check_selection(_reported(page, "SELECTION"), "March")


@pytest.mark.browser
def test_selection_with_emoji_inside(page):
    phrase = "class 👏 indeed"
    _drag(page, "t3", "class", "t3", "indeed")
    _check_selection(_reported(page, "SELECTION"), phrase)


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
def test_digit_shortcut_reports_key_and_block(page):
    _drag(page, "t2", "señora", "t2", "Núñez")
    _reported(page, "SELECTION")
    page.keyboard.press("1")
    shortcut = _reported(page, "SHORTCUT")
    assert (shortcut["key"], shortcut["block"], shortcut["target"]) == ("1", "t2", None)
    assert shortcut["nonce"]


@pytest.mark.browser
def test_undo_key_after_a_plain_click(page):
    page.locator(".cwtv-root .cwtv-block[data-block='t2'] .cwtv-label").click()
    page.keyboard.press("u")
    shortcut = _reported(page, "SHORTCUT")
    # undo names the event it undoes, and each key press has its own id
    assert (shortcut["key"], shortcut["block"], shortcut["target"]) == ("u", "t2", "event-1")


def _dom_selection(page) -> str:
    return page.evaluate("() => String(window.getSelection())")


@pytest.mark.browser
def test_selection_survives_a_rebuild(page):
    _drag(page, "t2", "señora", "t2", "Núñez")
    before = _reported(page, "SELECTION")
    page.get_by_role("button", name="Focus schools").click()
    page.locator(".cwtv-root .cwtv-focus[data-hl='h-schools']").wait_for()
    assert _reported(page, "SELECTION") == before
    assert _dom_selection(page) == "señora Núñez"


@pytest.mark.browser
def test_clear_selection_sticks(page):
    _drag(page, "t1", "started", "t1", "project")
    _reported(page, "SELECTION")
    page.get_by_role("button", name="Clear selection").click()
    page.locator("code", has_text="SELECTION null").wait_for()
    page.get_by_role("button", name="Rerun").click()
    page.wait_for_timeout(1500)
    assert page.locator("code", has_text="SELECTION null").count() == 1
    assert _dom_selection(page) == ""


@pytest.mark.browser
def test_plain_click_resets_selection(page):
    _drag(page, "t1", "started", "t1", "project")
    _reported(page, "SELECTION")
    page.locator(".cwtv-root .cwtv-label").first.click()
    page.locator("code", has_text="SELECTION null").wait_for()


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
