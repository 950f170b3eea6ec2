"""Accounts: sign-in with rate limiting and lock-out, a member's own password, a lead's
reset, and the members' sign-in state (the password policy and hashes are in
:mod:`coding.team.passwords`, sessions in :mod:`coding.team.sessions`).

Passwords are argon2 hashes (argon2-cffi). Every sign-in try is a row in
``sign_in_attempts``, committed before the answer is given: limits then hold
across app instances and processes, and a caller's rollback cannot erase a
failure. After :data:`MAX_FAILURES` failures within :data:`FAILURE_WINDOW` a
member is locked for :data:`LOCK_TIME`; a source (an IP address, ``cli``) with
:data:`SOURCE_MAX_FAILURES` failures within the window is refused for every name
that failed from it (members who did not may still sign in from it). A source is
the connection's address (see :mod:`coding.team.network`). Every refusal gives the same
answer, so a try learns nothing about which names are members.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import PermissionDeniedError
from coding.team.events import log_event
from coding.team.access import Action, require
from coding.team.members import Member, account_of, active_coder, get_member, members
from coding.store.models import Coder, MemberAccount, Project, SignInAttempt
from coding.team.passwords import (
    PasswordPolicyError,
    _hasher,
    _verify,
    _verify_dummy,
    check_password,
    hash_password,
)
from coding.team.sessions import _revoke_all, _utc, utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)
SOURCE_MAX_FAILURES = 30


class SignInLockedError(PermissionDeniedError):
    """Too many failed sign-ins: ``retry_at`` (UTC) says when to try again."""

    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


# --- sign-in, rate limiting, lock-out ---------------------------------------


def _record(s: Session, project_id: str, coder_id: str | None, source: str, outcome: str) -> None:
    s.add(SignInAttempt(project_id=project_id, coder_id=coder_id, source=(source or "")[:64], outcome=outcome))
    s.flush()


def locked_until(s: Session, coder_id: str, now: datetime | None = None) -> datetime | None:
    """When the member's lock-out ends, or None when they may try now.

    Failures since the last success (or reset) are walked in order; the
    :data:`MAX_FAILURES`-th within :data:`FAILURE_WINDOW` locks the member for
    :data:`LOCK_TIME` from that failure, and counting starts again after it."""
    now = now or utcnow()
    rows = s.execute(
        select(SignInAttempt.outcome, SignInAttempt.at)
        .where(SignInAttempt.coder_id == coder_id, SignInAttempt.at >= now - FAILURE_WINDOW - LOCK_TIME)
        .order_by(SignInAttempt.at, SignInAttempt.id)
    ).all()
    window: list[datetime] = []
    until: datetime | None = None
    for outcome, at in rows:
        at = _utc(at)
        if outcome != "fail":
            window, until = [], None
            continue
        if until is not None and at < until:
            continue
        window = [t for t in window if t > at - FAILURE_WINDOW] + [at]
        if len(window) >= MAX_FAILURES:
            until, window = at + LOCK_TIME, []
    return until if until is not None and until > now else None


def _source_locked_until(s: Session, source: str, now: datetime) -> datetime | None:
    if not source:
        return None
    times = sorted(_utc(t) for t in s.scalars(
        select(SignInAttempt.at).where(SignInAttempt.source == source[:64], SignInAttempt.outcome == "fail",
                                       SignInAttempt.at > now - FAILURE_WINDOW)))
    if len(times) < SOURCE_MAX_FAILURES:
        return None
    return times[-SOURCE_MAX_FAILURES] + FAILURE_WINDOW


def _when(at: datetime, now: datetime) -> str:
    minutes = max(1, int((at - now).total_seconds() + 59) // 60)
    return f"{at:%H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''})"


def _failed_here(s: Session, coder_id: str, source: str, now: datetime) -> bool:
    """Whether the member failed from this source within the window, since their last success."""
    last_ok = s.scalar(select(SignInAttempt.at)
                       .where(SignInAttempt.coder_id == coder_id, SignInAttempt.outcome != "fail")
                       .order_by(SignInAttempt.at.desc()).limit(1))
    since = max(now - FAILURE_WINDOW, _utc(last_ok)) if last_ok is not None else now - FAILURE_WINDOW
    return s.scalar(select(SignInAttempt.id).where(
        SignInAttempt.coder_id == coder_id, SignInAttempt.source == source[:64], SignInAttempt.outcome == "fail",
        SignInAttempt.at > since).limit(1)) is not None


def _refused(project: Project) -> PermissionDeniedError:
    """The one answer to every failed sign-in: it says nothing of whether the name is a
    member, is locked, has no password, or whether the address is over its limit."""
    return PermissionDeniedError(
        f"name or password is wrong for project {project.name!r}, or there were too many failed tries: check "
        f"both and try again; after {MAX_FAILURES} failed tries a name is locked for "
        f"{int(LOCK_TIME.total_seconds() // 60)} minutes (a lead can reset a password, or give a member "
        "without one a temporary password)")


def sign_in(s: Session, project: Project, name: str, password: str | None = None, *,
            source: str = "") -> Member:
    """Check a member's password and return them, or raise :class:`PermissionDeniedError`,
    the same answer (and the same work: one password hash checked) for an unknown name, a
    removed or locked member, a member without a password in a protected project and a
    wrong password. In local mode a member without a password signs in by name.

    Limits: a member is locked after :data:`MAX_FAILURES` failures (:func:`locked_until`).
    A ``source`` (the client's address, ``cli``) over :data:`SOURCE_MAX_FAILURES` failures
    refuses only members who failed from it since: everyone on one computer shares an
    address, and one of them guessing must not lock out the others. Every failure is
    recorded and committed before the error is raised."""
    now = utcnow()
    source_over = _source_locked_until(s, source, now) is not None
    coder = s.scalar(select(Coder).where(Coder.project_id == project.id, Coder.name == (name or "").strip())
                     .with_for_update())  # PostgreSQL: one sign-in of a member at a time
    account = account_of(s, coder.id) if coder is not None else None
    refused = (coder is None or (account is not None and account.removed_at is not None)
               or locked_until(s, coder.id, now) is not None
               or (source_over and _failed_here(s, coder.id, source, now))
               or (coder.password_hash is None and not project.local_mode))
    if not refused and coder.password_hash is None:
        _record(s, project.id, coder.id, source, "ok")  # local mode: the name is enough
        return Member.of(coder)
    if refused:
        _verify_dummy()
    if refused or not _verify(coder.password_hash, password):
        _record(s, project.id, coder.id if coder else None, source, "fail")
        s.commit()
        raise _refused(project)
    if _hasher.check_needs_rehash(coder.password_hash):
        coder.password_hash = _hasher.hash(password)
    _record(s, project.id, coder.id, source, "ok")
    return Member.of(coder)


def must_change_password(s: Session, member: Member) -> bool:
    """Whether the member signed in with a temporary password and must choose their own."""
    account = account_of(s, member.id)
    return bool(account and account.must_change_password)


def set_password(s: Session, project: Project, member: Member, new_password: str, *,
                 old_password: str | None = None, keep_session: str | None = None) -> None:
    """The member sets their own password. Changing an existing one needs the old one
    (a wrong one counts as a failed sign-in). Their other sessions are revoked."""
    coder = s.get(Coder, require(s, member, Action.READ_PROJECT, project).id)
    now = utcnow()
    if coder.password_hash is not None:
        until = locked_until(s, coder.id, now)
        if until is not None:
            raise SignInLockedError(f"too many failed tries for {coder.name!r}: locked until {_when(until, now)}",
                                    until)
        if not _verify(coder.password_hash, old_password):
            _record(s, project.id, coder.id, "password change", "fail")
            s.commit()
            raise PermissionDeniedError("the current password is wrong: type it again to change it")
        if _verify(coder.password_hash, new_password):
            raise PasswordPolicyError("the new password is the current one: choose another")
    check_password(new_password, names=(coder.name, project.name))
    coder.password_hash = hash_password(new_password)
    acc = _account(s, coder.id)
    acc.must_change_password = False
    acc.password_changed_at = now
    revoked = _revoke_all(s, coder.id, by=coder.id, keep=keep_session)
    log_event(s, project.id, Member.of(coder), "member.password", "coder", coder.id, name=coder.name, reset=False)
    if revoked:
        log_event(s, project.id, Member.of(coder), "session.revoke", "coder", coder.id, name=coder.name,
                  sessions=revoked)


def reset_password(s: Session, project: Project, actor: Member, name: str, temporary_password: str) -> None:
    """A lead gives a member a temporary password (to pass on in person); the member
    must choose their own at the next sign-in. Lifts a lock-out, ends their sessions."""
    lead = require(s, actor, Action.MANAGE_MEMBERS, project, doing="reset passwords")
    coder = get_member(s, project, name)
    active_coder(s, coder, project)
    check_password(temporary_password, names=(coder.name, project.name))
    coder.password_hash = hash_password(temporary_password)
    acc = _account(s, coder.id)
    acc.must_change_password = coder.id != lead.id
    acc.password_changed_at = utcnow()
    _record(s, project.id, coder.id, "reset", "reset")
    revoked = _revoke_all(s, coder.id, by=lead.id)
    log_event(s, project.id, lead, "member.password", "coder", coder.id, name=coder.name, reset=True)
    if revoked:
        log_event(s, project.id, lead, "session.revoke", "coder", coder.id, name=coder.name, sessions=revoked)


def _account(s: Session, coder_id: str) -> MemberAccount:
    acc = account_of(s, coder_id)
    if acc is None:
        acc = MemberAccount(coder_id=coder_id, must_change_password=False)
        s.add(acc)
        s.flush()
    return acc


def member_overview(s: Session, project: Project, actor: Member) -> list[dict]:
    """For a lead: each member's role, password state, lock-out and last sign-in."""
    require(s, actor, Action.MANAGE_MEMBERS, project, doing="see the members' sign-in state")
    now = utcnow()
    rows = []
    for c in members(s, project):
        acc = account_of(s, c.id)
        last = s.scalar(select(SignInAttempt.at).where(SignInAttempt.coder_id == c.id, SignInAttempt.outcome == "ok")
                        .order_by(SignInAttempt.at.desc()).limit(1))
        password = "none" if c.password_hash is None else (
            "temporary" if acc is not None and acc.must_change_password else "set")
        rows.append({"name": c.name, "role": c.role, "password": password,
                     "removed": acc is not None and acc.removed_at is not None,
                     "locked_until": locked_until(s, c.id, now), "last_sign_in": _utc(last)})
    return rows
