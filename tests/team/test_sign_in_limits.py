"""Sign-in limits that cannot be dodged or turned against a team (issue 15, item 5), on
the protected project ``harbour``: every refusal gives one answer, whatever the name;
an address over its limit does not lock out members who never failed from it; the
address a try counts against is the connection's peer, or what the operator's listed
proxies forwarded (right-most address that is not one of them)."""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select, update

from coding.team.accounts import MAX_FAILURES, SOURCE_MAX_FAILURES, locked_until, sign_in
from coding.errors import CodingError, PermissionDeniedError
from coding.team.network import client_address, local_connection_problem, trusted_proxies
from coding.store.models import Coder, SignInAttempt

LOOPBACK = "127.0.0.1"


def _refusal(team, name: str, password: str, source: str = LOOPBACK) -> PermissionDeniedError:
    with pytest.raises(PermissionDeniedError) as e, team.store.session() as s:
        sign_in(s, team.project(s), name, password, source=source)
    return e.value


def _rows(team, name: str | None) -> list[tuple[str, str]]:
    with team.store.session(write=False) as s:
        coder_id = team.member(s, name).id if name else None
        q = select(SignInAttempt.outcome, SignInAttempt.source).where(
            SignInAttempt.project_id == team.project(s).id).order_by(SignInAttempt.at, SignInAttempt.id)
        q = q.where(SignInAttempt.coder_id == coder_id) if coder_id else q.where(SignInAttempt.coder_id.is_(None))
        return [tuple(r) for r in s.execute(q)]


def test_an_address_over_its_limit_does_not_lock_out_members_who_never_failed_from_it(team):
    # everyone on this computer shares 127.0.0.1: someone fails 30 times, one of them as li
    _refusal(team, "li", "a wrong guess for li")
    for i in range(SOURCE_MAX_FAILURES - 1):
        _refusal(team, f"guess{i}", "some password or other")
    # tom never failed from here: his right password works
    with team.store.session() as s:
        assert sign_in(s, team.project(s), "tom", team.passwords["tom"], source=LOOPBACK).name == "tom"
    assert _rows(team, "tom") == [("ok", LOOPBACK)]
    # li failed from here: refused even with her password, with the answer an unknown name gets
    unknown = _refusal(team, "nobody at all", team.passwords["li"])
    li = _refusal(team, "li", team.passwords["li"])
    assert str(li) == str(unknown) and type(li) is type(unknown)
    assert _rows(team, "li") == [("fail", LOOPBACK), ("fail", LOOPBACK)]
    # from another address li is not refused (two failures are no lock-out)
    with team.store.session() as s:
        assert sign_in(s, team.project(s), "li", team.passwords["li"], source="192.0.2.7").name == "li"


def test_a_locked_member_and_an_unknown_name_get_the_same_answer(team):
    answers = {}
    for name in ("tom", "nobody"):
        for i in range(MAX_FAILURES):
            answers[name, i] = _refusal(team, name, f"wrong guess {i} here", source=f"192.0.2.{i}")
    # tom is locked now: his right password gets exactly what the unknown name gets
    locked = _refusal(team, "tom", team.passwords["tom"], source="198.51.100.1")
    unknown = _refusal(team, "nobody", "wrong guess 6 here", source="198.51.100.1")
    every = [*answers.values(), locked, unknown]
    assert {(type(e), str(e)) for e in every} == {(type(unknown), str(unknown))}
    assert "tom" not in str(unknown)
    with team.store.session(write=False) as s:
        assert locked_until(s, team.member(s, "tom").id) is not None
    assert ("ok", "198.51.100.1") not in _rows(team, "tom")


def test_a_member_without_a_password_in_a_protected_project_gets_the_same_answer(team):
    with team.store.session() as s:
        s.execute(update(Coder).where(Coder.id == team.member(s, "tom").id).values(password_hash=None))
    tom = _refusal(team, "tom", "")
    unknown = _refusal(team, "nobody", "")
    assert (type(tom), str(tom)) == (type(unknown), str(unknown))
    assert _rows(team, "tom") == [("fail", LOOPBACK)]


# --- which address a try counts against -----------------------------------------------


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    # no proxy listed (the default): the peer, whatever the client wrote
    ("127.0.0.1", ["203.0.113.9"], "", "127.0.0.1"),
    ("192.0.2.4", ["10.0.0.1, 127.0.0.1"], "", "192.0.2.4"),
    ("::1", [], "", "::1"),
    # a listed proxy: the right-most forwarded address that is not a listed proxy
    ("127.0.0.1", ["198.51.100.1, 203.0.113.5"], "127.0.0.1", "203.0.113.5"),
    ("127.0.0.1", ["198.51.100.1, 203.0.113.5, 10.1.1.1"], "127.0.0.1 10.0.0.0/8", "203.0.113.5"),
    ("127.0.0.1", ["198.51.100.1", "203.0.113.5"], "127.0.0.1", "203.0.113.5"),   # two header lines
    ("10.0.0.2", ["[2001:db8::7]:4711"], "10.0.0.0/8", "2001:db8::7"),
    ("127.0.0.1", ["198.51.100.1:5555"], "127.0.0.1", "198.51.100.1"),
    # a listed proxy that forwarded nothing, or only listed proxies
    ("127.0.0.1", [], "127.0.0.1", "127.0.0.1"),
    ("127.0.0.1", ["10.1.1.1"], "127.0.0.1,10.0.0.0/8", "10.1.1.1"),
    # a peer that is not listed never gets its header believed
    ("203.0.113.5", ["127.0.0.1"], "127.0.0.1", "203.0.113.5"),
    ("::ffff:127.0.0.1", ["203.0.113.9"], "127.0.0.1", "203.0.113.9"),
])
def test_the_address_a_try_counts_against(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted_proxies(trusted)) == expected


def test_a_forwarded_value_that_is_no_address_is_kept_as_given():
    got = client_address("127.0.0.1", ["x" * 100 + ", unknown"], trusted_proxies("127.0.0.1"))
    assert got == "unknown"
    assert client_address(None, ["203.0.113.9"], ()) == "unknown"


def test_the_trusted_proxies_setting(monkeypatch):
    monkeypatch.delenv("CODING_TRUSTED_PROXIES", raising=False)
    assert trusted_proxies() == ()
    monkeypatch.setenv("CODING_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ::1")
    assert trusted_proxies() == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"),
                                 ipaddress.ip_network("::1/128"))
    monkeypatch.setenv("CODING_TRUSTED_PROXIES", "127.0.0.1, proxy.example.org")
    with pytest.raises(CodingError, match=r"CODING_TRUSTED_PROXIES.*'proxy.example.org' is not an IP address"):
        trusted_proxies()


@pytest.mark.parametrize("peer, local, forwarded, problem", [
    ("127.0.0.1", "127.0.0.1", False, None),
    ("::1", "::1", False, None),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1", False, None),
    ("192.0.2.2", "192.0.2.2", False, "came from 192.0.2.2"),
    ("127.0.0.1", "192.0.2.2", False, "came to 192.0.2.2"),
    ("127.0.0.1", "127.0.0.1", True, "through a proxy"),
    (None, "127.0.0.1", False, "came from an unknown address"),
    ("127.0.0.1", None, False, "came to an unknown address"),
])
def test_local_mode_is_decided_from_the_connection(peer, local, forwarded, problem):
    got = local_connection_problem(peer, local, forwarded=forwarded)
    assert (got is None) if problem is None else (problem in got)
