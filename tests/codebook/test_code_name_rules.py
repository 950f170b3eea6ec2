"""A refused code name says which rule it breaks (issue 17, item 11): a name over the limit
gives its length and the limit, a name with '/' says so, and neither message offers the
other reason. A 75-character name is fine everywhere a code is named. On harbour."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coding.codebook.edits import add_code, rename_code
from coding.codebook.proposals import create_code_while_coding
from coding.codebook.restructure import split_code
from coding.codebook.tree import MAX_CODE_NAME, code_tree, parse_codebook
from coding.errors import CodingError
from coding.store.models import Code

NAME_75 = ("Dockers' memories of the container terminal opening and the end of gang work")[:75]
TOO_LONG = "Containerisation " * 12  # 204 characters, 203 once stripped
SLASHED = "Union / management relations"


def _codes(s) -> int:
    return s.scalar(select(func.count()).select_from(Code))


def test_the_limit_is_the_database_column():
    assert MAX_CODE_NAME == 200 and len(NAME_75) == 75 and len(TOO_LONG.strip()) == 203


@pytest.mark.parametrize("who", ["maria", "tom"])
def test_a_75_character_name_is_stored_while_coding(team, who):
    with team.store.session() as s:
        p = team.project(s)
        work = code_tree(s, p).resolve("Change").id
        code = create_code_while_coding(s, p, team.member(s, who), NAME_75, parent_id=work)
    with team.store.session() as s:
        stored = s.get(Code, code.id)
        assert (stored.name, stored.status) == (NAME_75, "active" if who == "maria" else "proposed")


@pytest.mark.parametrize("who", ["maria", "tom"])
def test_too_long_while_coding_says_how_long_and_the_limit(team, who):
    with team.store.session() as s:
        p = team.project(s)
        before = _codes(s)
        with pytest.raises(CodingError) as err:
            create_code_while_coding(s, p, team.member(s, who), TOO_LONG)
    msg = str(err.value)
    assert "203 characters" in msg and "200-character limit" in msg and "'/'" not in msg
    with team.store.session() as s:
        assert _codes(s) == before


@pytest.mark.parametrize("who", ["maria", "tom"])
def test_a_slash_while_coding_says_it_is_the_slash(team, who):
    with team.store.session() as s:
        p = team.project(s)
        before = _codes(s)
        with pytest.raises(CodingError) as err:
            create_code_while_coding(s, p, team.member(s, who), SLASHED)
    msg = str(err.value)
    assert "contains '/'" in msg and "long" not in msg and "limit" not in msg
    with team.store.session() as s:
        assert _codes(s) == before


def test_codebook_edits_say_which_rule(team):
    with team.store.session() as s:
        p = team.project(s)
        maria = team.member(s, "maria")
        community = code_tree(s, p).resolve("Community").id
        added = add_code(s, p, maria, None, NAME_75)
        for edit in (lambda: add_code(s, p, maria, None, TOO_LONG),
                     lambda: rename_code(s, p, maria, community, TOO_LONG),
                     lambda: split_code(s, p, maria, community, ["Family", TOO_LONG])):
            with pytest.raises(CodingError, match=r"is 203 characters, over the 200-character limit"):
                edit()
        for edit in (lambda: add_code(s, p, maria, None, SLASHED),
                     lambda: rename_code(s, p, maria, community, SLASHED)):
            with pytest.raises(CodingError) as err:
                edit()
            assert "contains '/'" in str(err.value) and "limit" not in str(err.value)
    with team.store.session() as s:
        names = {c.name for c in s.scalars(select(Code).where(Code.project_id == team.project(s).id))}
        assert NAME_75 in names and "Community" in names and "Family" not in names
        assert added.id in {c.id for c in s.scalars(select(Code).where(Code.name == NAME_75))}


def test_a_codebook_file_says_which_rule():
    with pytest.raises(CodingError, match=r"harbour.yaml: code #1 .* is 203 characters, over the 200-character"):
        parse_codebook(f"codes:\n  - name: {TOO_LONG.strip()}\n", "harbour.yaml")
    with pytest.raises(CodingError, match=r"contains '/'"):
        parse_codebook(f"codes:\n  - name: {SLASHED}\n", "harbour.yaml")
    assert parse_codebook(f"codes:\n  - name: \"{NAME_75}\"\n", "harbour.yaml").codes[0].name == NAME_75
