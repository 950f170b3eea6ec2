"""Deep codebooks (issue 15, item 7): no tree walk recurses, and a codebook nests at most
``MAX_DEPTH`` levels whichever way it comes in. A 600-level YAML codebook and a .qdpx or
.qdc with 500 nested codes are refused with a message naming the file, and nothing is
stored; a codebook exactly at the limit imports, exports (YAML, REFI-QDA, appendix) and
comes back the same. On the protected team project ``harbour``."""

from __future__ import annotations

import io
import sys
import uuid
import zipfile

import pytest
from sqlalchemy import func, select

from coding.cli.main import main as cli
from coding.codebook.tree import CodeTree, code_tree, export_codebook, import_codebook, parse_codebook
from coding.codebook.edits import add_code, move_code
from coding.errors import CodebookError, CodingError
from coding.exporting.exports import export
from coding.interchange import RefiError, export_qdc, export_qdpx, import_qdc, import_qdpx
from coding.team.projects import create_project, get_project
from coding.team.members import Member, get_member
from coding.store.models import Code, Event
from coding.codebook.walk import MAX_DEPTH, walk_tree
from coding.codebook.yamltext import dump_yaml, load_yaml

PROJECT_NS, CODEBOOK_NS = "urn:QDA-XML:project:1.0", "urn:QDA-XML:codebook:1.0"


def deep_yaml(levels: int) -> str:
    """A codebook of one chain of ``levels`` codes, d1 at the top."""
    lines, indent = ["codebook: Deep", "codes:"], "  "
    for i in range(1, levels + 1):
        lines.append(f"{indent}- name: d{i}")
        if i < levels:
            lines.append(f"{indent}  children:")
            indent += "    "
    return "\n".join(lines) + "\n"


def deep_codes_xml(levels: int) -> str:
    return ("".join(f'<Code guid="{uuid.uuid4()}" name="d{i}" isCodable="true">' for i in range(1, levels + 1))
            + "</Code>" * levels)


def deep_qdpx(levels: int) -> bytes:
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{PROJECT_NS}" name="deep" origin="hand">'
           f"<CodeBook><Codes>{deep_codes_xml(levels)}</Codes></CodeBook></Project>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", xml)
    return buf.getvalue()


def deep_qdc(levels: int) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="{CODEBOOK_NS}" origin="hand">'
            f"<Codes>{deep_codes_xml(levels)}</Codes></CodeBook>").encode()


def stored(s, project) -> tuple[int, int, list[str]]:
    """(codes, deepest level, the names along the deepest chain) as the database holds them,
    read from the parent links (not through CodeTree)."""
    parent = dict(s.execute(select(Code.id, Code.parent_id).where(Code.project_id == project.id)).all())
    names = dict(s.execute(select(Code.id, Code.name).where(Code.project_id == project.id)).all())
    best: list[str] = []
    for cid in parent:
        chain, cur = [], cid
        while cur is not None:
            chain.append(names[cur])
            cur = parent[cur]
        if len(chain) > len(best):
            best = chain[::-1]
    return len(parent), len(best), best


def counts(store) -> tuple[int, int]:
    with store.session(write=False) as s:
        return s.scalar(select(func.count()).select_from(Code)), s.scalar(select(func.count()).select_from(Event))


def other_project(s, team, name="deep"):
    """A second protected project on the same database, maria its lead."""
    p = create_project(s, name, lead_name="maria", lead_password=team.passwords["maria"])
    return p, Member.of(get_member(s, p, "maria"))


# --- refused past the limit, naming the file, nothing stored ----------------------------

def test_a_yaml_codebook_600_levels_deep_is_refused_naming_the_file(team, tmp_path, monkeypatch, capsys):
    before = counts(team.store)
    with pytest.raises(CodebookError, match=rf"deep\.yaml: code 'd1/d2/…/d100/d101' is nested more than "
                                            rf"{MAX_DEPTH} levels deep"):
        parse_codebook(deep_yaml(600), "deep.yaml")
    path = tmp_path / "deep.yaml"
    path.write_text(deep_yaml(600), encoding="utf-8")
    monkeypatch.setenv("CODING_PASSWORD", team.passwords["maria"])
    assert cli(["--db", team.store.url, "--as", "maria", "codebook", "import", team.name, str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: code 'd1/d2/…/d100/d101' is nested more than {MAX_DEPTH} levels deep" in err
    assert "Traceback" not in err
    assert counts(team.store) == before


@pytest.mark.parametrize("kind", ["qdpx", "qdc"])
def test_a_refi_file_with_500_nested_codes_is_refused_naming_the_file(team, kind):
    before = counts(team.store)
    with team.store.session() as s, pytest.raises(RefiError) as info:
        p, maria = team.project(s), team.member(s, "maria")
        if kind == "qdpx":
            import_qdpx(s, p, maria, deep_qdpx(500), "deep.qdpx", lenient=True)
        else:
            import_qdc(s, p, maria, deep_qdc(500), "deep.qdc", lenient=True)
    assert f"deep.{kind}" in str(info.value)
    assert f"code 'd1/d2/…/d100/d101' is nested more than {MAX_DEPTH} levels deep" in str(info.value)
    assert counts(team.store) == before


def test_edits_cannot_nest_a_code_past_the_limit(team):
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        import_codebook(s, p, parse_codebook(deep_yaml(MAX_DEPTH), "deep.yaml"), member=maria)
    with team.store.session() as s:
        p = team.project(s)
        tree = code_tree(s, p)
        deepest, above = tree.resolve("/".join(f"d{i}" for i in range(1, MAX_DEPTH + 1))), tree.resolve(
            "/".join(f"d{i}" for i in range(1, MAX_DEPTH)))
        work = tree.resolve("Work")  # Work/Gang labour: two levels
    before = counts(team.store)
    with team.store.session() as s, pytest.raises(CodebookError, match=f"more than the {MAX_DEPTH} levels a codebook may nest"):
        add_code(s, team.project(s), team.member(s, "maria"), deepest.id, "one more")
    with team.store.session() as s, pytest.raises(CodebookError, match=f"more than the {MAX_DEPTH} levels a codebook may nest"):
        move_code(s, team.project(s), team.member(s, "maria"), work.id, above.id)
    assert counts(team.store) == before
    with team.store.session() as s:  # one level less fits
        p, maria = team.project(s), team.member(s, "maria")
        move_code(s, p, maria, tree.resolve("Community").id, above.id)
    with team.store.session() as s:
        assert stored(s, team.project(s))[1] == MAX_DEPTH


# --- at the limit: imported, exported, and back the same -----------------------------------

def test_a_codebook_at_the_limit_imports_exports_and_comes_back_the_same(team):
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        import_codebook(s, p, parse_codebook(deep_yaml(MAX_DEPTH), "deep.yaml"), member=maria)
    chain = [f"d{i}" for i in range(1, MAX_DEPTH + 1)]
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        n_codes, depth, names = stored(s, p)
        assert (depth, names) == (MAX_DEPTH, chain)
        text = export_codebook(s, p, maria)
        qdc, qdpx = export_qdc(s, p, maria), export_qdpx(s, p, maria)
        md = export(s, p, maria, "codebook", "md").data.decode()
        docx = export(s, p, maria, "codebook", "docx").data
    assert f"name: d{MAX_DEPTH}\n" in text and f"d{MAX_DEPTH}" in md and docx[:2] == b"PK"
    with team.store.session() as s:  # each export, imported into a project of its own, stores the same tree
        for name, load in (("from-yaml", lambda s, p, m: import_codebook(s, p, parse_codebook(text, "back.yaml"),
                                                                          member=m)),
                           ("from-qdc", lambda s, p, m: import_qdc(s, p, m, qdc, "back.qdc")),
                           ("from-qdpx", lambda s, p, m: import_qdpx(s, p, m, qdpx, "back.qdpx"))):
            p2, m2 = other_project(s, team, name)
            load(s, p2, m2)
            assert stored(s, p2) == (n_codes, MAX_DEPTH, chain), name


def test_a_refi_file_at_the_limit_imports(team):
    with team.store.session() as s:
        p, maria = other_project(s, team)
        import_qdpx(s, p, maria, deep_qdpx(MAX_DEPTH), "deep.qdpx")
        p2, maria2 = other_project(s, team, "deep-qdc")
        import_qdc(s, p2, maria2, deep_qdc(MAX_DEPTH), "deep.qdc")
    with team.store.session() as s:
        for name in ("deep", "deep-qdc"):
            assert stored(s, get_project(s, name))[1:] == (MAX_DEPTH, [f"d{i}" for i in range(1, MAX_DEPTH + 1)])


# --- the walker and the YAML text: no recursion at any depth ---------------------------

def test_no_walk_recurses_even_far_past_the_limit():
    """Far deeper than any codebook may be: the walker, the stored-tree view and the YAML
    reader and writer keep their own stacks (run with a low recursion limit to be sure)."""
    class C:  # what CodeTree reads of a stored code
        def __init__(self, i):
            self.id, self.parent_id, self.name, self.position = f"c{i}", f"c{i - 1}" if i else None, f"n{i}", 0
            self.codable, self.colour, self.status, self.proposed_by = True, "#888888", "active", None
            self.definition = self.inclusion = self.exclusion = self.example = ""

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        chain = [C(i) for i in range(3000)]
        tree = CodeTree(chain)
        assert tree.infos[-1].depth == 2999 and tree.infos[-1].path.count("/") == 2999
        assert len(tree.descendants("c0")) == 2999
        steps = list(walk_tree([0], lambda i: [i + 1] if i < 100_000 else []))
        assert steps[-1].depth == 100_000 and steps[-1].parent == 99_999
        deep = deep_yaml(600)  # the file (deeper YAML only takes longer: its indentation grows)
        assert dump_yaml(load_yaml(deep)).count("name: d") == 600
        assert dump_yaml(load_yaml("x: " + "[" * 1000 + "]" * 1000)).count("-") == 999
        with pytest.raises(CodebookError, match="nested more than"):
            parse_codebook(deep, "deep.yaml")
    finally:
        sys.setrecursionlimit(old)


def test_a_shared_or_cyclic_yaml_node_is_refused(team):
    cyclic = "codes:\n  - &a\n    name: x\n    children:\n      - *a\n"
    with pytest.raises(CodingError, match=r"cyclic\.yaml: line 2 is not valid YAML \(anchors and aliases"):
        parse_codebook(cyclic, "cyclic.yaml")
