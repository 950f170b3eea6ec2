"""Accounts: password policy, sign-in lock-out, roles and the last lead, sessions
(grant, token, revoke, expiry), and events that name the acting member."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from coding.team.accounts import (
    MAX_FAILURES,
    SignInLockedError,
    locked_until,
    must_change_password,
    reset_password,
    set_password,
    sign_in,
)
from coding.team.network import is_loopback
from coding.team.passwords import PasswordPolicyError, check_password
from coding.team.sessions import (
    close_session,
    list_sessions,
    open_session,
    redeem_grant,
    resume_session,
    revoke_session,
    session_member,
    utcnow,
)
from coding.errors import CodingError, ConflictError, PermissionDeniedError
from coding.team.projects import add_member, change_role, create_project, get_project, remove_member, set_local_mode
from coding.team.members import Member, active_coder, get_member, members
from coding.store import Store
from coding.store.models import Coder, Event, MemberAccount, SessionToken, SignInAttempt

LEAD_PW = "plum orchard lantern"
ANA_PW = "river stone quietly"


@pytest.fixture
def team(store):
    """A protected project: lead ``maria`` and coder ``ana`` (who changed her temporary password)."""
    with store.session() as s:
        p = create_project(s, "study", lead_name="maria", lead_password=LEAD_PW)
        lead = Member.of(get_member(s, p, "maria"))
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead, password="temporary pass 1"))
        set_password(s, p, ana, ANA_PW, old_password="temporary pass 1")
    return store, lead, ana


def _project(s):
    return get_project(s, "study")


def _events(s, action):
    return s.scalars(select(Event).where(Event.action == action).order_by(Event.seq)).all()


# --- creating a project -------------------------------------------------------


def test_a_new_project_needs_the_leads_password_or_explicit_local_mode(store):
    with store.session() as s:
        with pytest.raises(PermissionDeniedError, match="needs a password for its lead 'maria'.*local"):
            create_project(s, "study", lead_name="maria")
        with pytest.raises(PasswordPolicyError, match="at least 10"):
            create_project(s, "study", lead_name="maria", lead_password="short")
        p = create_project(s, "study", lead_name="maria", lead_password=LEAD_PW)
        q = create_project(s, "laptop", lead_name="solo", local_mode=True)
    with store.session() as s:
        p, q = get_project(s, "study"), get_project(s, "laptop")
        assert not p.local_mode and q.local_mode
        maria, solo = get_member(s, p, "maria"), get_member(s, q, "solo")
        assert maria.role == "lead" and maria.password_hash.startswith("$argon2")
        assert solo.role == "lead" and solo.password_hash is None
        created = _events(s, "project.create")
        assert [(e.project_id, e.actor) for e in created] == [(p.id, "maria"), (q.id, "solo")]
        # a protected project's lead must give the password; local mode signs in by name
        with pytest.raises(PermissionDeniedError, match="name or password is wrong"):
            sign_in(s, p, "maria", None)
        assert sign_in(s, p, "maria", LEAD_PW).name == "maria"
        assert sign_in(s, q, "solo").name == "solo"


@pytest.mark.parametrize("password, why", [
    ("", "empty"),
    ("abc123", "at least 10"),
    ("123456789", "at least 10"),
    ("password123", "most common"),
    ("Password2024!", "most common"),
    ("qwertyuiop", "most common"),
    ("1234567890", "most common"),
    ("!!2024iloveyou", "most common"),
    ("0000000000000", "most common"),
    ("Maria Lopez", "name"),
    ("marialopez!!", "name"),
    ("Gran Estudio", "name"),
    ("ababababababab", "too few different"),
    ("x" * 300, "at most 256"),
])
def test_the_password_policy_refuses(password, why):
    with pytest.raises(PasswordPolicyError, match=why):
        check_password(password, names=("Maria Lopez", "Gran Estudio"))


@pytest.mark.parametrize("password", [LEAD_PW, "Tr0mbone-Kettle", "correct horse battery", "jardín de lluvia"])
def test_the_password_policy_accepts(password):
    check_password(password, names=("maria", "study"))


def test_the_common_list_ships_with_the_package():
    from coding.team.passwords import common_passwords

    listed = common_passwords()
    assert 200 <= len(listed) <= 5000 and "password" in listed and "qwerty" in listed
    assert all(w == w.lower() and not w.startswith("#") for w in listed)


# --- sign-in: rate limiting and lock-out ---------------------------------------


def test_five_failures_lock_the_member_for_fifteen_minutes(team, db_url):
    store, lead, ana = team
    for i in range(MAX_FAILURES - 1):
        with pytest.raises(PermissionDeniedError, match="name or password is wrong") as e, store.session() as s:
            sign_in(s, _project(s), "ana", f"guess number {i}", source="10.1.1.1")
        assert not isinstance(e.value, SignInLockedError)
    with pytest.raises(PermissionDeniedError, match="name or password is wrong") as e, store.session() as s:
        sign_in(s, _project(s), "ana", "guess number 5", source="10.1.1.1")
    assert "ana" not in str(e.value)  # the answer an unknown name gets (tests/team/test_sign_in_limits.py)
    with store.session() as s:
        assert timedelta(minutes=14) < locked_until(s, ana.id) - utcnow() <= timedelta(minutes=15)
    # the right password does not help while locked, not even through another app instance
    other = Store(db_url, run_migrations=False)
    try:
        with pytest.raises(PermissionDeniedError, match="name or password is wrong"), other.session() as s:
            sign_in(s, _project(s), "ana", ANA_PW, source="10.9.9.9")
    finally:
        other.dispose()
    with store.session() as s:
        rows = s.scalars(select(SignInAttempt.outcome).where(SignInAttempt.coder_id == ana.id)).all()
        assert rows.count("fail") == MAX_FAILURES + 1 and "ok" not in rows  # the refused try is kept too
        # the other members are not affected
        assert sign_in(s, _project(s), "maria", LEAD_PW).name == "maria"
    # 16 minutes later: the lock is over
    with store.session() as s:
        s.execute(update(SignInAttempt).where(SignInAttempt.coder_id == ana.id)
                  .values(at=utcnow() - timedelta(minutes=16)))
    with store.session() as s:
        assert locked_until(s, ana.id) is None
        assert sign_in(s, _project(s), "ana", ANA_PW).name == "ana"


def test_a_failure_is_kept_when_the_caller_rolls_back(team):
    store, _, ana = team
    with pytest.raises(PermissionDeniedError), store.session() as s:
        sign_in(s, _project(s), "ana", "not the password")
    with store.session() as s:
        assert s.scalars(select(SignInAttempt.outcome).where(SignInAttempt.coder_id == ana.id)).all() == ["fail"]


def test_failures_spread_over_more_than_the_window_do_not_lock(team):
    store, _, ana = team
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(PermissionDeniedError), store.session() as s:
            sign_in(s, _project(s), "ana", "wrong password here")
    with store.session() as s:
        s.execute(update(SignInAttempt).values(at=utcnow() - timedelta(minutes=20)))
    with pytest.raises(PermissionDeniedError) as e, store.session() as s:
        sign_in(s, _project(s), "ana", "wrong password again")
    assert not isinstance(e.value, SignInLockedError)


def test_one_source_guessing_many_names_is_refused(team):
    from coding.team.accounts import SOURCE_MAX_FAILURES

    store, _, _ = team
    with pytest.raises(PermissionDeniedError), store.session() as s:
        sign_in(s, _project(s), "maria", "not her password", source="203.0.113.7")
    for i in range(SOURCE_MAX_FAILURES - 1):
        with pytest.raises(PermissionDeniedError), store.session() as s:
            sign_in(s, _project(s), f"user{i}", "some password", source="203.0.113.7")
    # maria failed from this address, which is over its limit now: refused there, not elsewhere
    with pytest.raises(PermissionDeniedError, match="too many failed tries"), store.session() as s:
        sign_in(s, _project(s), "maria", LEAD_PW, source="203.0.113.7")
    with store.session() as s:
        assert sign_in(s, _project(s), "maria", LEAD_PW, source="198.51.100.2").name == "maria"


def test_unknown_names_and_wrong_passwords_get_the_same_answer(team):
    store, _, _ = team
    messages = []
    for name, pw in (("nobody", ANA_PW), ("ana", "wrong password!")):
        with pytest.raises(PermissionDeniedError) as e, store.session() as s:
            sign_in(s, _project(s), name, pw)
        messages.append(str(e.value))
    assert messages[0] == messages[1]


# --- passwords -----------------------------------------------------------------


def test_changing_a_password_needs_the_old_one_and_ends_other_sessions(team):
    store, _, ana = team
    with store.session() as s:
        p = _project(s)
        here, there = open_session(s, ana, kind="cli"), open_session(s, ana, kind="cli")
        with pytest.raises(PermissionDeniedError, match="current password is wrong"):
            set_password(s, p, ana, "a brand new secret", old_password="not it at all")
    with store.session() as s:
        p = _project(s)
        assert s.scalars(select(SignInAttempt.outcome).where(SignInAttempt.coder_id == ana.id)).all() == ["fail"]
        with pytest.raises(PasswordPolicyError, match="most common"):
            set_password(s, p, ana, "letmein2024", old_password=ANA_PW)
        set_password(s, p, ana, "a brand new secret", old_password=ANA_PW, keep_session=here.id)
    with store.session() as s:
        p = _project(s)
        assert resume_session(s, here.secret)[0].name == "ana"
        with pytest.raises(PermissionDeniedError, match="session was ended"):
            resume_session(s, there.secret)
        assert sign_in(s, p, "ana", "a brand new secret").name == "ana"
        ev = _events(s, "member.password")[-1]
        assert ev.actor == "ana" and json.loads(ev.payload) == {"name": "ana", "reset": False}


def test_a_lead_resets_a_password_the_member_must_then_change(team):
    store, lead, ana = team
    with store.session() as s:
        for _ in range(MAX_FAILURES):
            with pytest.raises(PermissionDeniedError):
                sign_in(s, _project(s), "ana", "forgotten it again")
        assert locked_until(s, ana.id) is not None
    with store.session() as s:
        p = _project(s)
        with pytest.raises(PermissionDeniedError, match="cannot reset passwords: only a lead can"):
            reset_password(s, p, ana, "maria", "temporary secret 9")
        reset_password(s, p, lead, "ana", "temporary secret 9")
    with store.session() as s:
        p = _project(s)
        assert locked_until(s, ana.id) is None  # the reset lifts the lock
        m = sign_in(s, p, "ana", "temporary secret 9")
        assert must_change_password(s, m)
        set_password(s, p, m, "my own words now", old_password="temporary secret 9")
        assert not must_change_password(s, m)
        ev = [e for e in _events(s, "member.password") if json.loads(e.payload)["reset"]][-1]
        assert ev.actor == "maria" and ev.object_id == ana.id


def test_events_never_hold_a_password_or_its_hash(team):
    store, lead, ana = team
    with store.session() as s:
        p = _project(s)
        reset_password(s, p, lead, "ana", "temporary secret 9")
        hashes = [c.password_hash for c in members(s, p)]
        logged = " ".join(e.payload for e in s.scalars(select(Event)))
    for secret in (LEAD_PW, ANA_PW, "temporary pass 1", "temporary secret 9", *hashes):
        assert secret not in logged
    assert "$argon2" not in logged


# --- members and roles ----------------------------------------------------------


def test_only_a_lead_adds_members_and_only_a_lead_makes_a_lead(team):
    store, lead, ana = team
    with store.session() as s:
        p = _project(s)
        with pytest.raises(PermissionDeniedError, match="'ana' is a coder and cannot add members: only a lead can"):
            add_member(s, p, "mallory", "lead", actor=ana, password="temporary pass 2")
        with pytest.raises(PermissionDeniedError, match="cannot add members: only a lead can"):
            add_member(s, p, "mallory", "coder", actor=ana, password="temporary pass 2")
        with pytest.raises(PermissionDeniedError, match="protected: give 'ben' a temporary password"):
            add_member(s, p, "ben", "coder", actor=lead)
        add_member(s, p, "ben", "lead", actor=lead, password="temporary pass 2")
    with store.session() as s:
        p = _project(s)
        assert {c.name: c.role for c in members(s, p)} == {"ana": "coder", "ben": "lead", "maria": "lead"}
        assert [(e.actor, json.loads(e.payload)) for e in _events(s, "member.add")][-1] == \
            ("maria", {"name": "ben", "role": "lead"})
        assert must_change_password(s, Member.of(get_member(s, p, "ben")))


def test_a_lead_of_another_project_cannot_manage_this_one(team):
    store, _, _ = team
    with store.session() as s:
        other = create_project(s, "other", lead_name="olga", lead_password="another long secret")
        olga = Member.of(get_member(s, other, "olga"))
        with pytest.raises(PermissionDeniedError, match="not a member of 'study'"):
            add_member(s, _project(s), "spy", "lead", actor=olga, password="temporary pass 3")
        with pytest.raises(PermissionDeniedError, match="not a member of 'study'"):
            change_role(s, _project(s), olga, "ana", "lead")


def test_roles_change_and_the_last_lead_stays(team):
    store, lead, ana = team
    with store.session() as s:
        p = _project(s)
        with pytest.raises(ConflictError, match="'maria' is the last lead"):
            change_role(s, p, lead, "maria", "coder")
        with pytest.raises(ConflictError, match="'maria' is the last lead"):
            remove_member(s, p, lead, "maria")
        with pytest.raises(PermissionDeniedError, match="cannot change roles: only a lead can"):
            change_role(s, p, ana, "ana", "lead")
        with pytest.raises(CodingError, match="role 'owner' is unknown"):
            change_role(s, p, lead, "ana", "owner")
        change_role(s, p, lead, "ana", "lead")
    with store.session() as s:
        p = _project(s)
        # ana is a lead now, at once: she may demote maria, and then is the last lead herself
        change_role(s, p, ana, "maria", "coder")
        with pytest.raises(PermissionDeniedError, match="cannot change roles: only a lead can"):
            change_role(s, p, lead, "ana", "coder")
        with pytest.raises(ConflictError, match="'ana' is the last lead"):
            change_role(s, p, ana, "ana", "coder")
        assert [(e.actor, json.loads(e.payload)) for e in _events(s, "member.role")] == [
            ("maria", {"name": "ana", "before": "coder", "after": "lead"}),
            ("ana", {"name": "maria", "before": "lead", "after": "coder"})]


def test_a_removed_member_loses_access_at_once_and_keeps_their_work(team):
    store, lead, ana = team
    with store.session() as s:
        p = _project(s)
        sess = open_session(s, ana, kind="cli")
        remove_member(s, p, lead, "ana")
    with store.session() as s:
        p = _project(s)
        with pytest.raises(PermissionDeniedError, match="name or password is wrong"):
            sign_in(s, p, "ana", ANA_PW)
        with pytest.raises(PermissionDeniedError, match="session was ended"):
            resume_session(s, sess.secret)
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            active_coder(s, ana, p)
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            set_password(s, p, ana, "trying to come back", old_password=ANA_PW)
        # the row (and so every coding that points at it) stays; the name stays taken
        assert s.get(Coder, ana.id) is not None and s.get(MemberAccount, ana.id).removed_at is not None
        assert [c.name for c in members(s, p, active_only=True)] == ["maria"]
        with pytest.raises(ConflictError, match="removed members keep their name"):
            add_member(s, p, "ana", "coder", actor=lead, password="temporary pass 4")
        ev = _events(s, "member.remove")[-1]
        assert ev.actor == "maria" and json.loads(ev.payload) == {"name": "ana", "role": "coder"}
        revoked = _events(s, "session.revoke")
        assert revoked == [] or all(e.actor == "maria" for e in revoked)


# --- sessions ----------------------------------------------------------------


def test_a_browser_trades_its_grant_once_for_a_token(team):
    store, _, ana = team
    with store.session() as s:
        issued = open_session(s, ana, client="browser 10.0.0.5")
        row = s.get(SessionToken, issued.id)
        assert row.token_hash is None and row.grant_hash != issued.secret and len(row.grant_hash) == 64
    with store.session() as s:
        token = redeem_grant(s, issued.secret)
        assert token.id == issued.id and token.secret != issued.secret
        with pytest.raises(PermissionDeniedError, match="used up or expired"):
            redeem_grant(s, issued.secret)
    with store.session() as s:
        member, sid = resume_session(s, token.secret)
        assert (member.name, sid) == ("ana", issued.id)
        stored = s.get(SessionToken, sid)
        assert token.secret not in (stored.token_hash, stored.grant_hash) and stored.grant_hash is None
        with pytest.raises(PermissionDeniedError):
            resume_session(s, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B"))


def test_an_old_grant_is_refused(team):
    store, _, ana = team
    with store.session() as s:
        issued = open_session(s, ana)
        s.get(SessionToken, issued.id).grant_expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(PermissionDeniedError, match="used up or expired"), store.session() as s:
        redeem_grant(s, issued.secret)


def test_sessions_expire(team, monkeypatch):
    store, _, ana = team
    monkeypatch.setenv("CODING_SESSION_HOURS", "2")
    with store.session() as s:
        issued = open_session(s, ana, kind="cli")
        assert timedelta(hours=1, minutes=59) < issued.expires_at - utcnow() <= timedelta(hours=2)
        s.get(SessionToken, issued.id).expires_at = utcnow() - timedelta(seconds=1)
    with store.session() as s:
        with pytest.raises(PermissionDeniedError, match="expired"):
            resume_session(s, issued.secret)
        with pytest.raises(PermissionDeniedError, match="expired"):
            session_member(s, issued.id)
        assert list_sessions(s, _project(s), ana) == []
    monkeypatch.setenv("CODING_SESSION_HOURS", "forever")
    with pytest.raises(CodingError, match="CODING_SESSION_HOURS"), store.session() as s:
        open_session(s, ana)


def test_a_lead_revokes_a_session_and_sign_out_ends_one(team):
    store, lead, ana = team
    with store.session() as s:
        p = _project(s)
        a1, a2, m1 = open_session(s, ana, kind="cli"), open_session(s, ana, kind="cli"), open_session(s, lead)
        assert [x.member for x in list_sessions(s, p, lead)] == ["ana", "ana", "maria"]
        assert {x.id for x in list_sessions(s, p, ana)} == {a1.id, a2.id}  # a coder sees their own
        with pytest.raises(PermissionDeniedError, match="cannot end other members' sessions: only a lead can"):
            revoke_session(s, p, ana, m1.id)
        revoke_session(s, p, lead, a1.id)
        close_session(s, a2.id)
    with store.session() as s:
        p = _project(s)
        for issued in (a1, a2):
            with pytest.raises(PermissionDeniedError, match="session was ended"):
                resume_session(s, issued.secret)
        assert [x.id for x in list_sessions(s, p, lead)] == [m1.id]
        ev = _events(s, "session.revoke")[-1]
        assert ev.actor == "maria" and ev.object_id == ana.id and json.loads(ev.payload)["name"] == "ana"


def test_a_session_reloads_the_member_every_time(team):
    store, lead, ana = team
    with store.session() as s:
        issued = open_session(s, ana)
        assert session_member(s, issued.id).role == "coder"
        change_role(s, _project(s), lead, "ana", "lead")
    with store.session(write=False) as s:
        assert session_member(s, issued.id, touch=False).role == "lead"


def test_a_session_in_use_is_touched_at_most_every_few_minutes(team):
    from coding.team.sessions import TOUCH_EVERY, touch_session

    store, _, ana = team
    with store.session() as s:
        issued = open_session(s, ana)
        first = s.get(SessionToken, issued.id).last_seen_at
        touch_session(s, issued.id)
        s.expire_all()
        assert s.get(SessionToken, issued.id).last_seen_at == first  # just opened: nothing written
        s.get(SessionToken, issued.id).last_seen_at = utcnow() - TOUCH_EVERY - timedelta(seconds=5)
        s.flush()
        touch_session(s, issued.id)
        s.expire_all()
        assert utcnow() - s.get(SessionToken, issued.id).last_seen_at.replace(tzinfo=None).replace(
            tzinfo=utcnow().tzinfo) < timedelta(minutes=1)


# --- local mode -----------------------------------------------------------------


def test_local_mode_is_turned_off_by_a_lead_with_a_password(store):
    with store.session() as s:
        p = create_project(s, "laptop", lead_name="solo", local_mode=True)
        solo = Member.of(get_member(s, p, "solo"))
        add_member(s, p, "kim", "coder", actor=solo)
        kim = Member.of(get_member(s, p, "kim"))
        with pytest.raises(PermissionDeniedError, match="cannot change the project's mode: only a lead can"):
            set_local_mode(s, p, kim, False)
        with pytest.raises(PermissionDeniedError, match="set your own password first"):
            set_local_mode(s, p, solo, False)
        set_password(s, p, solo, "kettle on the hob")  # no password yet: no old one needed
        assert set_local_mode(s, p, solo, False) == ["kim"]
    with store.session() as s:
        p = get_project(s, "laptop")
        assert not p.local_mode
        with pytest.raises(PermissionDeniedError, match="name or password is wrong.*without one a temporary"):
            sign_in(s, p, "kim")
        ev = _events(s, "project.local_mode")[-1]
        assert ev.actor == "solo" and json.loads(ev.payload)["local_mode"] is False


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.1.1", True),
    (None, False), ("", False), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.org", False),
])
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback
