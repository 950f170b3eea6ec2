"""In a real Chromium: a member of a protected project signs in, reloads the page and
is still signed in (the HTTP-only session cookie, which page JavaScript cannot read);
signs out, reloads, and gets the sign-in form again. A session a lead revokes ends
on the next reload as well."""

from __future__ import annotations

from pathlib import Path

import pytest

from coding.team.sessions import SESSION_COOKIE
from coding.team.projects import add_member, create_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import SessionToken

from .conftest import run_streamlit

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
LEAD_PW = "plum orchard lantern"
ANA_PW = "river stone quietly"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('session') / 'session.db'}"
    store = Store(url)
    with store.session() as s:
        p = create_project(s, "team", lead_name="maria", lead_password=LEAD_PW)
        lead = Member.of(get_member(s, p, "maria"))
        add_member(s, p, "ana", "coder", actor=lead, password=ANA_PW, temporary=False)
    yield store, url
    store.dispose()


def _sign_in(page, name: str, password: str) -> None:
    page.locator(".st-key-common_name input").fill(name)
    page.locator(".st-key-common_pw input").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=20_000)


def _cookie(ctx):
    return next((c for c in ctx.cookies() if c["name"] == SESSION_COOKIE), None)


def _live_sessions(store) -> list[SessionToken]:
    with store.session() as s:
        return list(s.query(SessionToken).filter(SessionToken.revoked_at.is_(None)))


def test_a_session_survives_a_reload_and_sign_out_ends_it(browser, team):
    store, url = team
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx = browser.new_context(viewport={"width": 1300, "height": 900})
        page = ctx.new_page()
        page.goto(app_url)
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        _sign_in(page, "ana", ANA_PW)
        page.wait_for_function("() => true")
        for _ in range(50):  # the component trades the grant for the cookie
            if _cookie(ctx):
                break
            page.wait_for_timeout(200)
        cookie = _cookie(ctx)
        assert cookie is not None, "no session cookie was set"
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert SESSION_COOKIE not in page.evaluate("document.cookie")  # page scripts cannot read it
        (row,) = _live_sessions(store)
        assert row.token_hash and row.grant_hash is None and cookie["value"] not in (row.token_hash,)

        page.reload()
        page.get_by_text("Signed in as").wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Sign in").count() == 0
        assert "ana" in page.locator("[data-testid='stSidebar']").inner_text()

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign in").first.wait_for(timeout=20_000)
        assert _live_sessions(store) == []
        for _ in range(50):  # the component asks the server to delete the cookie
            if _cookie(ctx) is None:
                break
            page.wait_for_timeout(200)
        assert _cookie(ctx) is None

        page.reload()
        page.get_by_role("button", name="Sign in").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1_000)  # let the first run finish: a restored session would show now
        assert page.get_by_text("Signed in as").count() == 0
        ctx.close()


def test_a_revoked_session_is_gone_after_a_reload_even_with_its_cookie(browser, team):
    store, url = team
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx = browser.new_context(viewport={"width": 1300, "height": 900})
        page = ctx.new_page()
        page.goto(app_url)
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        _sign_in(page, "ana", ANA_PW)
        for _ in range(50):
            if _cookie(ctx):
                break
            page.wait_for_timeout(200)
        assert _cookie(ctx) is not None
        with store.session() as s:  # what a lead's "End this session" does
            from coding.team.sessions import revoke_session
            from coding.team.projects import get_project

            p = get_project(s, "team")
            (row,) = [r for r in s.query(SessionToken).filter(SessionToken.revoked_at.is_(None))]
            revoke_session(s, p, Member.of(get_member(s, p, "maria")), row.id)
        page.reload()
        page.get_by_role("button", name="Sign in").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1_000)
        assert page.get_by_text("Signed in as").count() == 0
        assert _cookie(ctx) is not None  # still sent, but the database no longer knows it
        ctx.close()


def test_the_cookie_routes_refuse_other_sites(team):
    import json
    import urllib.error
    import urllib.request

    store, url = team
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        for origin, expected in (("https://evil.example", 403), (None, 403), (app_url, 403)):
            req = urllib.request.Request(f"{app_url}/account/session", data=json.dumps({"grant": "x"}).encode(),
                                         headers={"Content-Type": "application/json",
                                                  **({"Origin": origin} if origin else {})}, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, set_cookie = r.status, r.headers.get("set-cookie")
            except urllib.error.HTTPError as e:
                status, set_cookie = e.code, e.headers.get("set-cookie")
            # a foreign origin is refused outright; our own origin with a made-up grant too
            assert (status, set_cookie) == (expected, None)
