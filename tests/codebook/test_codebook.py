"""Codebooks: the YAML format, its validation messages, round trips, computed paths."""

from pathlib import Path

import pytest

from coding.codebook.tree import (
    CodeTree, code_tree, export_codebook, import_codebook, load_codebook_file, parse_codebook, walk_nodes,
)
from coding.errors import CodebookError, NotFoundError
from coding.team.projects import create_project
from coding.team.members import Member, get_member

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["cic.yaml", "inquiry-cycle.yaml"])
def test_shipped_codebooks_are_valid(name):
    book = load_codebook_file(REPO / "codebooks" / name)
    nodes = list(walk_nodes(book.codes))
    assert len(nodes) >= 12
    assert all(n.definition for n in nodes)
    assert all(n.inclusion and n.exclusion and n.example for n in nodes if n.codable)
    assert len({n.colour for n in nodes}) == len(nodes)


def test_cic_codebook_has_the_study_structure():
    book = load_codebook_file(REPO / "codebooks" / "cic.yaml")
    top = [n.name for n in book.codes]
    assert top == ["CIC Project", "Implementation factors", "Synthesis"]
    cic = book.codes[0]
    teachers = next(n for n in cic.children if n.name == "Collaboration between teachers")
    assert [c.name for c in teachers.children] == ["Joint planning", "Peer observation", "Feedback", "Refinement"]
    assert not cic.codable


@pytest.mark.parametrize("yaml_text, message", [
    ("codes: [{name: A, children: [{name: B, colour: red}]}]", r"code 'A/B': field 'colour' is 'red'"),
    ("codes: [{name: A, children: [{definition: x}]}]", r"code #1 under A: field 'name' is missing"),
    ("codes: [{name: A}, {name: a}]", r"code 'a' appears twice"),
    ("codes: [{name: 'A/B'}]", r"contains '/'"),
    ("codes: [{name: A, codable: maybe}]", r"code 'A': field 'codable' is 'maybe'"),
    ("codes: [{name: A, colour: '#aabbcc', defintion: typo}]", r"code 'A': unknown field\(s\) defintion"),
    ("codes: [{name: A, id: 42}]", r"field 'id' 42 is not a UUID"),
    ("codes: {name: A}", r"expected a mapping with a 'codes' list"),
    ("codes: [{name: A\n  - b", r"line \d+ is not valid YAML"),
])
def test_invalid_codebooks_name_the_path_and_field(yaml_text, message):
    with pytest.raises(CodebookError, match=message):
        parse_codebook(yaml_text, "book.yaml")


def _lead(s, p) -> Member:
    return Member.of(get_member(s, p, "lead"))


def test_export_then_import_gives_the_same_codebook(store, tmp_path):
    with store.session() as s:
        p = create_project(s, "a", lead_name="lead", local_mode=True)
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=_lead(s, p))
        first = export_codebook(s, p, _lead(s, p))
        q = create_project(s, "b", lead_name="lead", local_mode=True)
        import_codebook(s, q, parse_codebook(first), member=_lead(s, q))
        second = export_codebook(s, q, _lead(s, q))
        # importing again into the same project changes nothing (idempotent, ids kept)
        counts = import_codebook(s, q, parse_codebook(second), member=_lead(s, q))
        assert counts == {"created": 0, "updated": 21}
        assert export_codebook(s, q, _lead(s, q)) == second
    # same codebook; ids differ between projects because primary keys are global
    strip = lambda text: [line for line in text.splitlines() if not line.strip().startswith("id:")]  # noqa: E731
    assert strip(first) == strip(second)
    assert "id:" in first


def test_paths_are_computed_not_prefix_matched(store):
    with store.session() as s:
        p = create_project(s, "prefix", lead_name="lead", local_mode=True)
        import_codebook(s, p, parse_codebook(
            "codes: [{name: emo, children: [{name: joy}]}, {name: emotion, children: [{name: joy}]}]"),
            member=_lead(s, p))
        tree = code_tree(s, p)
        emo = tree.resolve("emo")
        emotion = tree.resolve("emotion")
        assert tree.descendants(emo.id) == [tree.resolve("emo/joy").id]
        assert tree.resolve("emotion/joy").id in tree.descendants(emotion.id)
        assert tree.resolve("emotion/joy").id not in tree.descendants(emo.id)
        assert tree.resolve(" Emotion / Joy ").path == "emotion/joy"
        with pytest.raises(NotFoundError, match="no code at path 'emo/jo'"):
            tree.resolve("emo/jo")


def test_empty_tree():
    assert CodeTree([]).infos == []
