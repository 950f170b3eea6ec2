"""Issue 15, item 2, in a real Chromium: a visitor who picks the protected project
``harbour`` in the sidebar without signing in gets nothing of it on any page. The
check reads every WebSocket frame the server sent the browser (tables travel as
Arrow bytes, which the page draws on a canvas), so a name in a table counts too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coding.store.models import SessionToken
from tests.conftest import TEAM_TEXTS

from .coding_helpers import choose, open_page, settle, signed_in
from .conftest import run_streamlit

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
# (title, url path) of every page, read from app.py; the first is the default page
PAGES = [(title, Path(f).stem) for f, title in
         re.findall(r'st\.Page\("(app_pages/[a-z_]+\.py)", title="([^"]+)"', (REPO / "app.py").read_text())]
SECRETS = [s.encode() for s in (*TEAM_TEXTS, "Docker:", "tally book", "North Quay", "South Basin", "Gang labour",
                                "Containerisation", "Job loss", "Counting, tallying")]


def test_a_visitor_sees_nothing_of_a_protected_project_until_signed_in(browser, team):
    url = team.store.engine.url.render_as_string(hide_password=False)
    frames: list[bytes] = []

    def watch(ws) -> None:
        ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes)
                                                              else payload.encode()))

    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx = browser.new_context(viewport={"width": 1300, "height": 900})
        page = ctx.new_page()
        page.on("websocket", watch)
        page.goto(app_url)
        page.locator(".st-key-common_project input").wait_for(timeout=60_000)
        choose(page, "common_project", team.name)
        page.locator(".st-key-common_name input").wait_for(timeout=30_000)
        settle(page)
        on_project_page = page.get_by_text("Sign in from the sidebar").first.is_visible()
        for title, path in PAGES[1:]:
            open_page(page, title, path)
            # still harbour (a name to type: the demo, in local mode, offers a list of members)
            page.locator(".st-key-common_name input").wait_for(timeout=30_000)
        sent = b"".join(frames)
        assert len(sent) > 1000 and b"harbour" in sent  # the frames were read; the list names it
        assert [s.decode() for s in SECRETS if s in sent] == []
        assert on_project_page  # the Project page says why it shows nothing
        with team.store.session() as s:
            assert s.query(SessionToken).count() == 0  # nobody signed in

        # signed in, the same frames carry the project: the check above can see a leak
        page.locator(".st-key-common_name input").fill("li")
        page.locator(".st-key-common_pw input").fill(team.passwords["li"])
        page.get_by_role("button", name="Sign in").click()
        signed_in(page)
        open_page(page, PAGES[0][0], PAGES[0][1] if PAGES[0][1] != "project" else "")
        page.get_by_text("Rounds and progress").wait_for(timeout=30_000)
        assert b"Docker_01" in b"".join(frames)
        with team.store.session() as s:
            assert s.query(SessionToken).filter(SessionToken.revoked_at.is_(None)).count() == 1
        ctx.close()
