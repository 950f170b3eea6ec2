"""Accounts: password policy and hashes, sign-in with rate limiting and lock-out, sessions.

Passwords are argon2 hashes (argon2-cffi). Every sign-in try is a row in
``sign_in_attempts``, committed before the answer is given: limits then hold
across app instances and processes, and a caller's rollback cannot erase a
failure. After :data:`MAX_FAILURES` failures within :data:`FAILURE_WINDOW` a
member is locked for :data:`LOCK_TIME`; a source (an IP address, ``cli``) with
:data:`SOURCE_MAX_FAILURES` failures within the window is refused for every name
that failed from it (members who did not may still sign in from it). A source is
the connection's address (see :mod:`coding.team.network`). Every refusal gives the same
answer, so a try learns nothing about which names are members.

A session is a ``session_tokens`` row holding only SHA-256 hashes of its secrets
(each 256 random bits from :mod:`secrets`, so a fast hash is enough and a
database reader learns nothing usable). A browser gets a one-time *grant* when
it signs in and trades it, within :data:`GRANT_TTL`, for the session token, which
the web layer puts in an HTTP-only cookie; the CLI gets the token itself
(``login``). Sessions expire after :func:`session_lifetime`, and a lead, sign-out,
a password change or a removal revokes them. Every use reloads the member from
the database, so a revoked session, a removal or a new role takes effect at once.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.team.events import log_event
from coding.team.network import is_loopback  # noqa: F401 (re-exported: callers import it from here)
from coding.team.access import Action, can, require
from coding.team.members import Member, account_of, active_coder, get_member, members
from coding.store.models import Coder, MemberAccount, Project, SessionToken, SignInAttempt

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a sign-in cheap to refuse
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)
SOURCE_MAX_FAILURES = 30
GRANT_TTL = timedelta(minutes=2)
DEFAULT_SESSION_HOURS = 12
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often
SESSION_COOKIE = "coding_session"  # the web layer's HTTP-only cookie holding the token

_hasher = PasswordHasher()
# Verified against when the name is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash("not a password of anyone: only for timing")


class PasswordPolicyError(CodingError):
    """A new password is too short, too common, or the member's or project's name."""


class SignInLockedError(PermissionDeniedError):
    """Too many failed sign-ins: ``retry_at`` (UTC) says when to try again."""

    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(dt: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they are all UTC."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


# --- passwords ---------------------------------------------------------------


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (``coding/data/common_passwords.txt``), lower case."""
    text = resources.files("coding").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


_DECORATION = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$", re.S)


def check_password(password: str, *, names: tuple[str, ...] = ()) -> None:
    """Refuse a password that is short, common, or one of ``names`` (the member's and
    the project's); the message says what to choose instead."""
    if not isinstance(password, str) or not password:
        raise PasswordPolicyError("the password is empty: choose one of at least "
                                  f"{MIN_LENGTH} characters (a few unrelated words work well)")
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"the password has {len(password)} characters: use at least {MIN_LENGTH} "
                                  "(a few unrelated words work well)")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"the password has {len(password)} characters: use at most {MAX_LENGTH}")
    low = password.lower()
    squashed = re.sub(r"\s+", "", low)
    core = _DECORATION.match(squashed).group(1)
    for n in names:
        n = re.sub(r"\s+", "", (n or "").lower())
        if n and (squashed == n or core == n):
            raise PasswordPolicyError("the password is the member's or the project's name: choose "
                                      "something nobody could guess from the project")
    listed = common_passwords()
    if low in listed or squashed in listed or core in listed or (core == "" and squashed.isdigit()):
        raise PasswordPolicyError("the password is one of the most common ones (or one with digits or "
                                  "symbols added): choose a few unrelated words instead")
    if len(set(squashed)) < 4:
        raise PasswordPolicyError("the password repeats too few different characters: choose a few "
                                  "unrelated words instead")


def hash_password(password: str) -> str:
    """An argon2 hash; check the policy first with :func:`check_password`."""
    if not password:
        raise PasswordPolicyError("the password is empty: choose one")
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str | None) -> bool:
    if not password or len(password) > MAX_LENGTH:
        _verify_dummy()
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_dummy() -> None:
    try:
        _hasher.verify(_DUMMY_HASH, "x")
    except VerificationError:
        pass


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


# --- sessions ----------------------------------------------------------------


def session_lifetime() -> timedelta:
    """How long a session lasts: ``CODING_SESSION_HOURS`` (1 to 720), else 12 hours."""
    raw = os.environ.get("CODING_SESSION_HOURS", "").strip()
    if not raw:
        return timedelta(hours=DEFAULT_SESSION_HOURS)
    try:
        hours = float(raw)
    except ValueError:
        hours = -1
    if not 1 <= hours <= 720:
        raise CodingError(f"CODING_SESSION_HOURS={raw!r} is not a number of hours from 1 to 720: fix or unset it")
    return timedelta(hours=hours)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedSession:
    """A new session: ``secret`` is a one-time grant (browser) or the token (CLI).
    It is shown once and never stored."""

    id: str
    secret: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionInfo:
    id: str
    member: str
    role: str
    client: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def open_session(s: Session, member: Member, *, client: str = "", kind: str = "browser") -> IssuedSession:
    """Start a session for a member who just signed in. A browser session's secret is a
    grant to trade with :func:`redeem_grant` within :data:`GRANT_TTL`; a CLI session's
    secret is its token."""
    if kind not in ("browser", "cli"):
        raise CodingError(f"session kind {kind!r} is unknown: use 'browser' or 'cli'")
    coder = active_coder(s, member)
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    row = SessionToken(coder_id=coder.id, client=(client or kind)[:200], created_at=now, last_seen_at=now,
                       expires_at=now + session_lifetime())
    if kind == "browser":
        row.grant_hash, row.grant_expires_at = _digest(secret), now + GRANT_TTL
    else:
        row.token_hash = _digest(secret)
    s.add(row)
    s.flush()
    return IssuedSession(row.id, secret, row.expires_at)


def redeem_grant(s: Session, grant: str) -> IssuedSession:
    """Trade a browser's one-time grant for its session token (once, before it expires)."""
    now = utcnow()
    row = s.scalar(select(SessionToken).where(SessionToken.grant_hash == _digest(grant or "")))
    if row is None or row.revoked_at is not None or _utc(row.grant_expires_at) < now or _utc(row.expires_at) <= now:
        raise PermissionDeniedError("this sign-in link is used up or expired: sign in again")
    token = secrets.token_urlsafe(32)
    # Conditional on the grant still being there: two redemptions cannot both win.
    done = s.execute(update(SessionToken).where(SessionToken.id == row.id, SessionToken.grant_hash == row.grant_hash)
                     .values(grant_hash=None, grant_expires_at=None, token_hash=_digest(token)))
    if done.rowcount != 1:
        raise PermissionDeniedError("this sign-in link is used up or expired: sign in again")
    return IssuedSession(row.id, token, _utc(row.expires_at))


def _live(s: Session, row: SessionToken | None, now: datetime, *, touch: bool = True) -> tuple[SessionToken, Coder]:
    if row is None or row.revoked_at is not None:
        raise PermissionDeniedError("your session was ended (signed out, or revoked by a lead): sign in again")
    if _utc(row.expires_at) <= now:
        raise PermissionDeniedError("your session expired: sign in again")
    coder = active_coder(s, row.coder_id)
    if touch and _utc(row.last_seen_at) < now - TOUCH_EVERY:
        row.last_seen_at = now
    return row, coder


def resume_session(s: Session, token: str) -> tuple[Member, str]:
    """The member and session id a token (cookie or ``--token``) belongs to."""
    if not token:
        raise PermissionDeniedError("no session token: sign in")
    row = s.scalar(select(SessionToken).where(SessionToken.token_hash == _digest(token)))
    row, coder = _live(s, row, utcnow())
    return Member.of(coder), row.id


def session_member(s: Session, session_id: str, *, touch: bool = True) -> Member:
    """The member of a live session, reloaded from the database (role included).
    ``touch=False`` writes nothing (for a read-only transaction; see :func:`touch_session`)."""
    row, coder = _live(s, s.get(SessionToken, session_id) if session_id else None, utcnow(), touch=touch)
    return Member.of(coder)


def touch_session(s: Session, session_id: str) -> None:
    """Record that a session is in use (at most every :data:`TOUCH_EVERY`)."""
    now = utcnow()
    s.execute(update(SessionToken).where(SessionToken.id == session_id, SessionToken.revoked_at.is_(None),
                                         SessionToken.last_seen_at < now - TOUCH_EVERY)
              .values(last_seen_at=now))


def close_session(s: Session, session_id: str) -> None:
    """Sign-out: the session ends for good (its cookie or token no longer works)."""
    row = s.get(SessionToken, session_id) if session_id else None
    if row is not None and row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), row.coder_id
        row.grant_hash = None


def close_session_by_token(s: Session, token: str) -> None:
    """Sign-out from the web layer, which knows only the cookie."""
    row = s.scalar(select(SessionToken).where(SessionToken.token_hash == _digest(token or "")))
    if row is not None:
        close_session(s, row.id)


def _revoke_all(s: Session, coder_id: str, *, by: str, keep: str | None = None) -> int:
    q = (update(SessionToken)
         .where(SessionToken.coder_id == coder_id, SessionToken.revoked_at.is_(None))
         .values(revoked_at=utcnow(), revoked_by=by, grant_hash=None))
    if keep:
        q = q.where(SessionToken.id != keep)
    return s.execute(q).rowcount or 0


def revoke_member_sessions(s: Session, coder_id: str, *, by: str) -> int:
    """End every session of a member (removal, reset); returns how many."""
    return _revoke_all(s, coder_id, by=by)


def list_sessions(s: Session, project: Project, actor: Member) -> list[SessionInfo]:
    """Live sessions a member may see: a lead every member's, others their own."""
    me = require(s, actor, Action.READ_PROJECT, project)
    now = utcnow()
    q = (select(SessionToken, Coder).join(Coder, Coder.id == SessionToken.coder_id)
         .where(Coder.project_id == project.id, SessionToken.revoked_at.is_(None),
                SessionToken.expires_at > now)
         .order_by(Coder.name, SessionToken.created_at))
    if not can(me, Action.MANAGE_MEMBERS):
        q = q.where(Coder.id == me.id)
    return [SessionInfo(t.id, c.name, c.role, t.client, _utc(t.created_at), _utc(t.last_seen_at),
                        _utc(t.expires_at))
            for t, c in s.execute(q) if _utc(t.expires_at) > now]


def revoke_session(s: Session, project: Project, actor: Member, session_id: str) -> None:
    """End one session: a lead any in the project, a member their own."""
    me = require(s, actor, Action.READ_PROJECT, project)
    row = s.get(SessionToken, session_id) if session_id else None
    owner = s.get(Coder, row.coder_id) if row is not None else None
    if owner is None or owner.project_id != project.id:
        raise NotFoundError(f"no session {session_id!r} in {project.name!r}: reload the list")
    if owner.id != me.id:
        require(s, actor, Action.MANAGE_MEMBERS, project, doing="end other members' sessions")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by, row.grant_hash = utcnow(), me.id, None
        log_event(s, project.id, me, "session.revoke", "coder", owner.id, name=owner.name,
                  sessions=1)


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
