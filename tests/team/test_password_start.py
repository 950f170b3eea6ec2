"""The dummy hash an unknown name is verified against is a constant made with the hasher's
own parameters (issue 19: hashing it at import cost every command and the app's start
0.2 s of CPU), so an unknown name still costs what a known one does."""

from argon2 import PasswordHasher

from coding.team import passwords
from coding.team.accounts import sign_in
from coding.errors import CodingError
from tests.conftest import TEAM_PASSWORDS

import pytest


def test_the_dummy_hash_has_the_hashers_parameters():
    assert not PasswordHasher().check_needs_rehash(passwords._DUMMY_HASH)
    assert passwords._dummy_hash() == passwords._DUMMY_HASH
    assert PasswordHasher().verify(passwords._DUMMY_HASH, "not a password of anyone: only for timing")


def test_unknown_name_and_wrong_password_are_refused_alike(team):
    with team.store.session() as s:
        p = team.project(s)
        with pytest.raises(CodingError) as unknown:
            sign_in(s, p, "nobody", TEAM_PASSWORDS["tom"], source="cli")
        with pytest.raises(CodingError) as wrong:
            sign_in(s, p, "tom", "Not-Toms-Password-1234", source="cli")
    assert str(unknown.value) == str(wrong.value)
