"""Passwords: the policy a new password must meet, and its argon2 hash (argon2-cffi).

A sign-in verifies against a dummy hash when the name is unknown, so both answers
take as long (:func:`_verify_dummy`); :mod:`coding.team.accounts` does the sign-in.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coding.errors import CodingError

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a sign-in cheap to refuse

_hasher = PasswordHasher()
# Verified against when the name is unknown, so both answers take as long. A hash made
# once with the hasher's parameters (hashing at import cost every command and the app's
# start 0.2 s of CPU); made anew, once, if argon2-cffi's parameters ever differ from it.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$SLWeCeETB7+tkuUosruLwg$B2eLb9VIJIrdudxKdgktjjLYjGNHTaozheJWwhKF0xI"


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone: only for timing") if _hasher.check_needs_rehash(_DUMMY_HASH) \
        else _DUMMY_HASH


class PasswordPolicyError(CodingError):
    """A new password is too short, too common, or the member's or project's name."""


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
        return _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_dummy() -> None:
    try:
        _hasher.verify(_dummy_hash(), "x")
    except VerificationError:
        pass
