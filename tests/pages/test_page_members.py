"""AppTests: sign-in with name and password, the Members page (add, role, reset, remove,
sessions, mode), temporary passwords, and the member reloaded from the database on
every run (a revoked session or a new role counts at once)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from coding.team.accounts import set_password, sign_in
from coding.team.sessions import open_session
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member
from coding.store.models import Coder, MemberAccount, SessionToken, SignInAttempt

REPO = Path(__file__).resolve().parents[2]
PAGE = "app_pages/members_page.py"
LEAD_PW = "plum orchard lantern"
ANA_PW = "river stone quietly"


@pytest.fixture
def team(store, db_url, monkeypatch, loopback_server):
    """A protected project 'team': lead maria, coder ana (own password)."""
    monkeypatch.setenv("CODING_DB_URL", db_url)
    with store.session() as s:
        p = create_project(s, "team", lead_name="maria", lead_password=LEAD_PW)
        lead = Member.of(get_member(s, p, "maria"))
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead, password=ANA_PW, temporary=False))
    return store, lead, ana


def _app(page: str = PAGE, *, session_id: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["project"] = "team"
    if session_id:
        at.session_state["auth_session"] = session_id
    at.switch_page(page)
    return at


def _session(store, member: Member) -> str:
    with store.session() as s:
        return open_session(s, member).id


def _sign_in(at, name: str, password: str):
    at.text_input(key="common_name").input(name)
    at.text_input(key="common_pw").input(password)
    at.sidebar.button[0].click().run()
    return at


def _table(at, column: str):
    """The dataframe that has ``column`` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _texts(elements) -> str:
    """The shown text (Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", " | ".join(e.value for e in elements))


def test_sign_in_with_name_and_password_opens_a_session(team):
    store, _, ana = team
    at = _app()
    at.run()
    assert not at.exception
    assert "Sign in from the sidebar" in _texts(at.info)
    assert at.text_input(key="common_name") is not None  # protected: no list of names to pick from
    _sign_in(at, "ana", "wrong password!")
    assert "name or password is wrong" in _texts(at.sidebar.error)
    _sign_in(at, "ana", ANA_PW)
    assert not at.exception
    assert "Signed in as" in at.sidebar.markdown[0].value
    assert at.session_state["member"].name == "ana"
    with store.session() as s:
        (row,) = s.scalars(select(SessionToken)).all()
        assert row.coder_id == ana.id and row.grant_hash and row.token_hash is None  # the browser trades the grant
        assert at.session_state["auth_session"] == row.id
        assert s.scalars(select(SignInAttempt.outcome).order_by(SignInAttempt.at)).all() == ["fail", "ok"]
    at.button(key="common_sign_out").click().run()
    assert at.sidebar.button[0].label == "Sign in"
    with store.session() as s:
        assert s.get(SessionToken, row.id).revoked_at is not None


def test_a_lead_adds_a_member_who_must_choose_a_password(team):
    store, lead, _ = team
    at = _app(session_id=_session(store, lead))
    at.run()
    assert not at.exception
    at.text_input(key="members_add_name").input("ben")
    at.text_input(key="members_add_pw").input("short")
    at.button(key="FormSubmitter:members_add-Add member").click().run()
    assert "at least 10" in _texts(at.error)
    at.text_input(key="members_add_name").input("ben")
    at.text_input(key="members_add_pw").input("temporary pass 7")
    at.button(key="FormSubmitter:members_add-Add member").click().run()
    assert "Added ben as coder." in _texts(at.success)
    with store.session() as s:
        ben = get_member(s, get_project(s, "team"), "ben")
        assert s.get(MemberAccount, ben.id).must_change_password

    # ben signs in with the temporary password: the pages wait for his own
    at2 = _app("app_pages/coding_page.py")
    at2.run()
    _sign_in(at2, "ben", "temporary pass 7")
    assert not at2.exception
    assert "Choose your own password in the sidebar" in _texts(at2.info)
    at2.text_input(key="common_pw_old").input("temporary pass 7")
    at2.text_input(key="common_pw_new").input("bens own passphrase")
    at2.text_input(key="common_pw_again").input("bens own passphrase")
    at2.button(key="FormSubmitter:common_new_password-Set password").click().run()
    assert not at2.exception
    assert at2.title[0].value == "Code transcripts"
    with store.session() as s:
        assert not s.get(MemberAccount, ben.id).must_change_password
        sign_in(s, get_project(s, "team"), "ben", "bens own passphrase")


def test_a_lead_changes_roles_resets_and_removes_but_keeps_a_lead(team):
    store, lead, ana = team
    at = _app(session_id=_session(store, lead))
    at.run()
    at.selectbox(key="members_who").set_value("maria")
    at.selectbox(key="members_role_new").set_value("coder")
    at.button(key="FormSubmitter:members_role-Change role").click().run()
    assert "'maria' is the last lead" in _texts(at.error)
    at.selectbox(key="members_who").set_value("ana")
    at.selectbox(key="members_role_new").set_value("lead")
    at.button(key="FormSubmitter:members_role-Change role").click().run()
    assert "ana is now a lead." in _texts(at.success)
    at.selectbox(key="members_who").set_value("ana")
    at.text_input(key="members_reset_pw").input("temporary pass 8")
    at.button(key="FormSubmitter:members_reset-Reset password").click().run()
    assert "Password of ana reset" in _texts(at.success)
    at.selectbox(key="members_who").set_value("ana")
    at.button(key="FormSubmitter:members_remove-Remove member").click().run()
    assert "Tick the box" in _texts(at.error)
    at.selectbox(key="members_who").set_value("ana")
    at.checkbox(key="members_remove_sure").check()
    at.button(key="FormSubmitter:members_remove-Remove member").click().run()
    assert "ana was removed." in _texts(at.success)
    assert not at.exception
    with store.session() as s:
        assert s.get(Coder, ana.id).role == "lead" and s.get(MemberAccount, ana.id).removed_at is not None
    table = _table(at, "status")
    assert dict(zip(table["member"], table["status"])) == {"ana": "removed", "maria": "active"}


def test_a_coder_manages_only_their_own_account(team):
    store, _, ana = team
    at = _app(session_id=_session(store, ana))
    at.run()
    assert not at.exception
    assert "Only a lead adds or removes members" in _texts(at.caption)
    for key in ("members_add_name", "members_who", "members_protect"):
        with pytest.raises(KeyError):
            at.text_input(key=key) if key == "members_add_name" else at.selectbox(key=key)
    at.text_input(key="members_pw_old").input(ANA_PW)
    at.text_input(key="members_pw_new").input("a fresh long phrase")
    at.text_input(key="members_pw_again").input("a fresh long phrase")
    at.button(key="FormSubmitter:members_own_password-Change password").click().run()
    assert "Password changed." in _texts(at.success)
    with store.session() as s:
        sign_in(s, get_project(s, "team"), "ana", "a fresh long phrase")


def test_a_revoked_session_signs_the_other_tab_out_on_its_next_run(team):
    store, lead, ana = team
    ana_tab = _app("app_pages/coding_page.py", session_id=_session(store, ana))
    ana_tab.run()
    assert ana_tab.session_state["member"].name == "ana"
    lead_tab = _app(session_id=_session(store, lead))
    lead_tab.run()
    sessions = _table(lead_tab, "expires")
    assert list(sessions["member"]) == ["ana", "maria"]
    ana_sid = ana_tab.session_state["auth_session"]
    lead_tab.selectbox(key="members_session").set_value(ana_sid)
    lead_tab.button(key="FormSubmitter:members_revoke-End this session").click().run()
    assert "Session ended." in _texts(lead_tab.success)
    ana_tab.run()
    assert "Sign in from the sidebar" in _texts(ana_tab.info)
    assert "session was ended" in _texts(ana_tab.sidebar.info)


def test_the_member_in_the_ui_session_is_only_an_id(team):
    """A coder whose UI state claims the lead role is still a coder: every run reloads them."""
    store, _, ana = team
    at = _app(session_id=_session(store, ana))
    at.run()
    at.session_state["member"] = Member(ana.id, "ana", "lead", ana.project_id)
    at.run()
    assert at.session_state["member"].role == "coder"
    assert "Only a lead adds or removes members" in _texts(at.caption)
    # and a member object alone (no session) does not sign anyone in to a protected project
    at2 = _app()
    at2.session_state["member"] = Member(ana.id, "ana", "lead", ana.project_id)
    at2.run()
    assert "Sign in from the sidebar" in _texts(at2.info)


def test_a_local_mode_project_is_refused_off_loopback(store, db_url, monkeypatch):
    from streamlit import config

    monkeypatch.setenv("CODING_DB_URL", db_url)
    with store.session() as s:
        create_project(s, "laptop", lead_name="solo", local_mode=True)
    before = config.get_option("server.address")
    try:
        for address, refused in (("0.0.0.0", True), (None, True), ("127.0.0.1", False)):
            config.set_option("server.address", address)
            at = _app()
            at.session_state["project"] = "laptop"
            at.run()
            assert not at.exception
            errors = _texts(at.sidebar.error)
            assert ("local single-user mode" in errors) is refused, address
            if not refused:
                at.selectbox(key="common_who").set_value(0)
                at.sidebar.button[0].click().run()
                assert at.session_state["member"].name == "solo"
    finally:
        config.set_option("server.address", before)


def test_a_lead_protects_a_local_project_from_the_page(store, db_url, monkeypatch, loopback_server):
    monkeypatch.setenv("CODING_DB_URL", db_url)
    with store.session() as s:
        p = create_project(s, "laptop", lead_name="solo", local_mode=True)
        solo = Member.of(get_member(s, p, "solo"))
        set_password(s, p, solo, "kettle on the hob")
    at = _app(session_id=_session(store, solo))
    at.session_state["project"] = "laptop"
    at.run()
    at.button(key="members_protect").click().run()
    assert not at.exception
    assert "The project is protected" in _texts(at.success)
    with store.session() as s:
        assert get_project(s, "laptop").local_mode is False
