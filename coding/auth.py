"""Signing in: argon2 password hashes, or local mode where a name is enough."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from .errors import PermissionDeniedError
from .projects import Member, get_member
from .store.models import Project

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise PermissionDeniedError("password is shorter than 8 characters: choose a longer one")
    return _hasher.hash(password)


def sign_in(s: Session, project: Project, name: str, password: str | None = None) -> Member:
    """Return the member, checking the password unless the project is in local mode
    and the member has none."""
    coder = get_member(s, project, name)
    if coder.password_hash is None:
        if project.local_mode:
            return Member.of(coder)
        raise PermissionDeniedError(
            f"{name!r} has no password and {project.name!r} is not in local mode: "
            "ask the lead to set one"
        )
    try:
        _hasher.verify(coder.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        raise PermissionDeniedError(f"wrong password for {name!r}: try again") from None
    return Member.of(coder)


def set_password(s: Session, project: Project, name: str, password: str) -> None:
    get_member(s, project, name).password_hash = hash_password(password)
