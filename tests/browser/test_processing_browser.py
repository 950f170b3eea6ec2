"""Background processing in a real Chromium (issue 9): the lead presses 'Process documents' on
the Suggestions page, the progress updates by itself (the page polls the server's background
run), and when every document is cached the themes view appears without a click."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coding.store.models import NlpCache

from .coding_helpers import demo_app, open_page, sign_in_local

pytestmark = pytest.mark.browser


def test_process_documents_shows_progress_and_then_the_themes(browser, tmp_path):
    with demo_app(tmp_path / "demo.db") as (store, url):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        sign_in_local(page, url, "lead")
        open_page(page, "Suggestions", "suggestions_page")
        page.get_by_text("Documents processed for suggestions: 0 of 8").wait_for(timeout=60_000)
        page.get_by_role("button", name="Process documents").click()
        page.get_by_text("Processing documents for suggestions").first.wait_for(timeout=60_000)
        # No further click: the fragment polls, and the page reruns when the run has ended.
        page.get_by_text("Documents processed for suggestions: 8 of 8").wait_for(timeout=240_000)
        page.locator(".st-key-sugg_find button").wait_for(timeout=60_000)
        with store.session(write=False) as s:
            assert s.scalar(select(func.count()).select_from(NlpCache)) == 8
