"""Sessions: a member's browser or CLI session, from sign-in to expiry or revocation.

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

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.team.events import log_event
from coding.team.access import Action, can, require
from coding.team.members import Member, active_coder
from coding.store.models import Coder, Project, SessionToken

GRANT_TTL = timedelta(minutes=2)
DEFAULT_SESSION_HOURS = 12
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often
SESSION_COOKIE = "coding_session"  # the web layer's HTTP-only cookie holding the token


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(dt: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they are all UTC."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


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
