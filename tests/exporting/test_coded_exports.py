"""The segment table (0/1 per code), the framework matrix and coded documents as DOCX
(issue 16, item 8), on harbour and on a project without attributes.

Codings are made in the test by tom and li in a blind round; what each file holds is
checked against the stored rows, counted here straight from the database.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from datetime import UTC, datetime

import docx
import openpyxl
import pytest
from lxml import etree
from sqlalchemy import select

from coding.cli.main import main as cli
from coding.codebook import tree as codebook
from coding.codebook.tree import code_tree
from coding.errors import CodingError, PermissionDeniedError
from coding.exporting.coded_exports import export_coded, export_segments
from coding.exporting.exports import Filters
from coding.store.models import Coder, Coding, Document
from coding.team.members import Member, get_member
from coding.team.projects import add_member, change_role, create_project, get_project
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document, import_uploads
from coding.work.rounds import assign, open_round, reveal
from tests.conftest import TEAM, TEAM_PASSWORDS

WHEN = datetime(2026, 12, 7, tzinfo=UTC)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

# (coder, document, phrase, code paths): overlapping and identical spans, two codes on one span
CODINGS = [
    ("tom", "Docker_01", "Gangs of eight under a foreman.", ["Work/Gang labour"]),
    ("li", "Docker_01", "Gangs of eight under a foreman.", ["Work/Gang labour", "Community"]),
    ("tom", "Docker_01", "Containers came in 1978 and the gangs went.", ["Change/Containerisation", "Change/Job loss"]),
    ("li", "Docker_01", "Containers came in 1978", ["Change/Containerisation"]),
    ("tom", "Docker_02", "The union fought for severance.", ["Community"]),
    ("tom", "Docker_02", "Most of us took the money and left.", ["Change/Job loss"]),
    ("li", "Docker_02", "Wives kept the houses going.", ["Community"]),
    ("li", "Clerk_01", "Counted every bale over the side.", ["Work/Clerical work"]),
    ("tom", "Clerk_01", "By 1985 a terminal did my job.", ["Change/Job loss", "Work/Clerical work"]),
]


def _code(s, p, who, doc_name, phrase, paths):
    doc = get_document(s, p, doc_name)
    start = doc.text.index(phrase)
    tree = code_tree(s, p)
    member = Member.of(get_member(s, p, who))
    return apply_codes(s, p, member, doc, [tree.resolve(x).id for x in paths], start, start + len(phrase))


@pytest.fixture
def coded(team):
    """harbour in an open blind round: every document assigned to tom and li, who code it."""
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        rnd = open_round(s, p, maria, "Round 1", blind=True)
        docs = list(s.scalars(select(Document).where(Document.project_id == p.id)))
        coders = list(s.scalars(select(Coder).where(Coder.project_id == p.id, Coder.name.in_(["tom", "li"]))))
        assign(s, p, maria, rnd, docs, coders)
        for c in CODINGS:
            _code(s, p, *c)
        memo_on = s.scalar(select(Coding).join(Coder, Coder.id == Coding.coder_id).where(
            Coding.project_id == p.id, Coder.name == "li", Coding.start == get_document(s, p, "Docker_02").text.index("Wives")))
        set_memo(s, p, team.member(s, "li"), memo_on.id, "=HYPERLINK(\"x\") <b>memo</b>")
    return team


def _stored(s, p, coder: str | None = None) -> Counter:
    """Codings per code path, straight from the table (one coder's, or everyone's)."""
    tree = code_tree(s, p)
    q = select(Coding.code_id).join(Coder, Coder.id == Coding.coder_id).where(Coding.project_id == p.id,
                                                                               Coding.layer == "coder")
    if coder:
        q = q.where(Coder.name == coder)
    return Counter(tree.info[c].path for c in s.scalars(q))


def _export(team, who, what, fmt, filters=None):
    with team.store.session(write=False) as s:
        return export_coded(s, team.project(s), team.member(s, who), what, fmt, filters, when=WHEN)


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _sheet(data: bytes, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb[name].iter_rows(values_only=True)]


# --- segment table --------------------------------------------------------------------------


def test_segment_table_columns_sum_to_the_stored_codings(coded):
    with coded.store.session(write=False) as s:
        p = coded.project(s)
        stored = _stored(s, p)
        codable = [i.path for i in code_tree(s, p).infos if i.codable]
        spans = set(s.execute(select(Coding.document_id, Coding.coder_id, Coding.start, Coding.end)
                              .where(Coding.project_id == p.id)).all())
        texts = {d.name: d.text for d in s.scalars(select(Document).where(Document.project_id == p.id))}
    rows = _csv_rows(_export(coded, "maria", "segments", "csv").data)
    assert len(rows) == len(spans) == 9  # one row per coder's span, two codes on a span in one row
    header = list(rows[0])
    assert header[:4] == ["segment", "document", "cohort", "site"]
    assert header[-len(codable):] == codable  # every codable code, in codebook order, by path
    for path in codable:
        assert sum(int(r[path]) for r in rows) == stored[path], path
    assert sum(stored.values()) == 12
    for r in rows:
        assert r["text"] == texts[r["document"]][int(r["start"]):int(r["end"])]
        assert set(r[c] for c in codable) <= {"0", "1"}
    both = next(r for r in rows if r["coder"] == "tom" and r["text"].startswith("Containers came in 1978 and"))
    assert (both["Change/Containerisation"], both["Change/Job loss"], both["Community"]) == ("1", "1", "0")
    assert {(r["document"], r["cohort"], r["site"]) for r in rows} >= {("Clerk_01", "1980s", "North Quay")}

    xlsx = _sheet(_export(coded, "maria", "segments", "xlsx").data, "Segments")
    assert list(xlsx[0]) == header
    assert len(xlsx) == len(rows) + 1
    col = {h: i for i, h in enumerate(xlsx[0])}
    for path in codable:
        assert sum(r[col[path]] for r in xlsx[1:]) == stored[path]  # numbers, not text: SPSS reads them as such
    about = _sheet(_export(coded, "maria", "segments", "xlsx").data, "About")[0][0]
    assert "harbour" in about and "12 coding(s) by li, tom" in about and "2026-12-07" in about


def test_a_coder_in_the_open_blind_round_exports_only_their_own_segments(coded):
    with coded.store.session(write=False) as s:
        tom_stored = _stored(s, coded.project(s), "tom")
    rows = _csv_rows(_export(coded, "tom", "segments", "csv").data)
    assert {r["coder"] for r in rows} == {"tom"}
    for path, n in tom_stored.items():
        assert sum(int(r[path]) for r in rows) == n
    # framework and documents too: li's passages are nowhere in tom's files
    grid = _csv_rows(_export(coded, "tom", "framework", "csv").data)
    assert "Wives kept" not in str(grid) and "[li]" not in str(grid) and "[tom]" in str(grid)
    d = docx.Document(io.BytesIO(_export(coded, "tom", "document", "docx").data))
    assert {c.author for c in d.comments} == {"tom"}
    # once maria reveals the round, tom gets li's codings too
    with coded.store.session() as s:
        p = coded.project(s)
        from coding.work.rounds import get_round

        reveal(s, p, coded.member(s, "maria"), get_round(s, p, "Round 1"))
    assert {r["coder"] for r in _csv_rows(_export(coded, "tom", "segments", "csv").data)} == {"tom", "li"}


def test_roles_changing_while_the_round_is_open(coded):
    """li made a lead sees every coding at once (her role is read from the database at each
    export); made a coder again, only her own."""
    with coded.store.session() as s:
        change_role(s, coded.project(s), coded.member(s, "maria"), "li", "lead")
    assert {r["coder"] for r in _csv_rows(_export(coded, "li", "segments", "csv").data)} == {"tom", "li"}
    with coded.store.session() as s:
        change_role(s, coded.project(s), coded.member(s, "maria"), "li", "coder")
    assert {r["coder"] for r in _csv_rows(_export(coded, "li", "segments", "csv").data)} == {"li"}


def test_filters_narrow_rows_and_columns(coded):
    f = Filters(codes=["Change"], documents=["Docker_01", "Clerk_01"], attributes={"site": ["North Quay"]})
    rows = _csv_rows(_export(coded, "maria", "segments", "csv", f).data)
    assert set(rows[0]) >= {"Change/Containerisation", "Change/Job loss"}
    assert not {"Community", "Work/Gang labour"} & set(rows[0])
    assert {r["document"] for r in rows} == {"Docker_01", "Clerk_01"}
    assert sum(int(r["Change/Job loss"]) for r in rows) == 2
    about = _sheet(_export(coded, "maria", "segments", "xlsx", f).data, "About")[0][0]
    assert "codes Change" in about and "site = North Quay" in about
    with coded.store.session(write=False) as s:  # filters naming a code by id are shown by path
        f = Filters(codes=[code_tree(s, coded.project(s)).resolve("Change/Job loss").id])
    about = _sheet(_export(coded, "maria", "segments", "xlsx", f).data, "About")[0][0]
    assert "codes Change/Job loss" in about


# --- framework matrix -----------------------------------------------------------------------


def test_framework_cells_hold_the_coded_text_of_each_case_and_code(coded):
    with coded.store.session(write=False) as s:
        p = coded.project(s)
        tree = code_tree(s, p)
        texts = {d.id: (d.name, d.text) for d in s.scalars(select(Document).where(Document.project_id == p.id))}
        names = dict(s.execute(select(Coder.id, Coder.name)).all())
        expected: dict = {}
        for c in s.scalars(select(Coding).where(Coding.project_id == p.id)):
            name, text = texts[c.document_id]
            expected.setdefault((name, tree.info[c.code_id].path), []).append(
                (c.start, c.end, f"{text[c.start:c.end]} [{names[c.coder_id]}]"))
    grid = _sheet(_export(coded, "maria", "framework", "xlsx").data, "Framework")
    header = grid[0]
    assert header[:3] == ("document", "cohort", "site")
    assert [r[0] for r in grid[1:]] == ["Clerk_01", "Docker_01", "Docker_02"]  # every case, even uncoded cells
    for row in grid[1:]:
        for path, cell in zip(header[3:], row[3:]):
            want = "\n\n".join(t for *_, t in sorted(expected.get((row[0], path), [])))
            assert (cell or "") == want, (row[0], path)
    # CSV: the same grid
    rows = _csv_rows(_export(coded, "maria", "framework", "csv").data)
    assert [tuple(r.values()) for r in rows] == [tuple("" if v is None else v for v in r) for r in grid[1:]]
    # DOCX: one section per case, the code paths and passages in its table
    d = docx.Document(io.BytesIO(_export(coded, "maria", "framework", "docx").data))
    assert [p.text for p in d.paragraphs if p.style.name == "Heading 1"] == ["Clerk_01", "Docker_01", "Docker_02"]
    clerk = d.tables[0]
    assert [r.cells[0].text for r in clerk.rows] == ["Code", "Work/Clerical work", "Change/Job loss"]
    assert clerk.rows[2].cells[1].text == "By 1985 a terminal did my job. [tom]"


# --- coded documents --------------------------------------------------------------------


def _comment_ranges(data: bytes) -> list[tuple[str, str, str]]:
    """(author, comment text, anchored text) of every comment, read from the OOXML itself."""
    z = zipfile.ZipFile(io.BytesIO(data))
    body = etree.fromstring(z.read("word/document.xml"))
    comments = etree.fromstring(z.read("word/comments.xml"))
    texts = {c.get(f"{{{W}}}id"): (c.get(f"{{{W}}}author"), "\n".join("".join(t.text or "" for t in p.iter(f"{{{W}}}t"))
                                                                    for p in c.iter(f"{{{W}}}p")))
             for c in comments.iter(f"{{{W}}}comment")}
    open_: dict[str, list[str]] = {}
    out = []
    for el in body.iter(f"{{{W}}}commentRangeStart", f"{{{W}}}commentRangeEnd", f"{{{W}}}t", f"{{{W}}}p"):
        cid = el.get(f"{{{W}}}id")
        if el.tag == f"{{{W}}}commentRangeStart":
            open_[cid] = []
        elif el.tag == f"{{{W}}}commentRangeEnd":
            out.append((*texts[cid], "".join(open_.pop(cid))))
        elif el.tag == f"{{{W}}}p":
            for buf in open_.values():
                if buf:
                    buf.append("\n")
        else:
            for buf in open_.values():
                buf.append(el.text or "")
    return out


def test_each_coding_is_a_comment_anchored_on_its_text(coded):
    with coded.store.session(write=False) as s:
        p = coded.project(s)
        tree = code_tree(s, p)
        doc = get_document(s, p, "Docker_01")
        names = dict(s.execute(select(Coder.id, Coder.name)).all())
        want = sorted((names[c.coder_id], tree.info[c.code_id].path, doc.text[c.start:c.end])
                      for c in s.scalars(select(Coding).where(Coding.document_id == doc.id)))
    out = _export(coded, "maria", "document", "docx", Filters(documents=["Docker_01"]))
    assert out.filename == "harbour-Docker_01.docx"
    got = sorted(_comment_ranges(out.data))
    assert got == want and len(got) == 6
    d = docx.Document(io.BytesIO(out.data))
    assert doc.text in "\n".join(p.text for p in d.paragraphs)  # the stored text, a paragraph per line
    # every coded document, one after the other; li's memo goes with its code, as text
    both = _comment_ranges(_export(coded, "maria", "document", "docx").data)
    assert len(both) == 12
    assert ("li", "Community\nMemo: =HYPERLINK(\"x\") <b>memo</b>", "Wives kept the houses going.") in both


# --- a project without attributes, from the CLI ---------------------------------------------


def test_a_project_without_attributes_exports_all_three_from_the_cli(team_store, tmp_path, monkeypatch, capsys):
    with team_store.session() as s:
        p = create_project(s, "bare", lead_name="ada", lead_password=TEAM_PASSWORDS["maria"])
        ada = Member.of(get_member(s, p, "ada"))
        codebook.import_codebook(s, p, codebook.parse_codebook("codes:\n  - name: Theme\n  - name: Other\n", "b.yaml"),
                                 member=ada)
        import_uploads(s, p, [("note.txt", "=1+2 said ada. \U0001F600 Then\r\nmore text here.\r\n".encode())], actor=ada)
        add_member(s, p, "bo", "coder", actor=ada, password=TEAM_PASSWORDS["tom"], temporary=False)
        doc = get_document(s, p, "note")
        tree = code_tree(s, p)
        apply_codes(s, p, ada, doc, [tree.resolve("Theme").id], 0, 5)
        apply_codes(s, p, Member.of(get_member(s, p, "bo")), doc, [tree.resolve("Theme").id, tree.resolve("Other").id],
                    doc.text.index("Then"), doc.text.index("here"))
    url = team_store.url
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["maria"])
    for what, fmt in (("segments", "csv"), ("segments", "xlsx"), ("framework", "xlsx"), ("framework", "docx"),
                      ("framework", "csv"), ("document", "docx")):
        target = tmp_path / f"bare-{what}.{fmt}"
        assert cli(["--db", url, "--as", "ada", "export", what, "bare", "--format", fmt, "--out", str(target)]) == 0
        assert target.stat().st_size > 0
    rows = _csv_rows((tmp_path / "bare-segments.csv").read_bytes())
    assert list(rows[0])[:3] == ["segment", "document", "coder"]  # no attribute columns
    assert rows[0]["text"] == "'=1+2 "  # the CSV guard: no formula
    assert [(r["Theme"], r["Other"]) for r in rows] == [("1", "0"), ("1", "1")]
    assert rows[1]["text"] == "Then\nmore text "  # the stored text (the import made CRLF a line feed)
    comments = _comment_ranges((tmp_path / "bare-document.docx").read_bytes())
    assert sorted(comments) == [("ada", "Theme", "=1+2 "), ("bo", "Other", "Then\nmore text "),
                                ("bo", "Theme", "Then\nmore text ")]
    grid = _sheet((tmp_path / "bare-framework.xlsx").read_bytes(), "Framework")
    assert grid[0] == ("document", "Theme", "Other") and grid[1][0] == "note"
    assert grid[1][1].endswith("[ada]\n\nThen\nmore text  [bo]") and grid[1][2] == "Then\nmore text  [bo]"
    framework = _csv_rows((tmp_path / "bare-framework.csv").read_bytes())
    assert framework == [{"document": "note", "Theme": "'=1+2  [ada]\n\nThen\nmore text  [bo]",
                          "Other": "Then\nmore text  [bo]"}]
    # a coder asks for a format the export does not have: a clear error, no file
    assert cli(["--db", url, "--as", "ada", "export", "document", "bare", "--format", "csv",
                "--out", str(tmp_path / "x.csv")]) == 1
    assert "document exports as docx, not 'csv'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_unknown_documents_and_removed_members_are_refused(coded):
    with pytest.raises(CodingError, match="no document named 'Docker_99'"):
        _export(coded, "maria", "framework", "xlsx", Filters(documents=["Docker_99"]))
    with coded.store.session() as s:
        p = coded.project(s)
        tom = coded.member(s, "tom")
        from coding.team.projects import remove_member

        remove_member(s, p, coded.member(s, "maria"), "tom")
    with coded.store.session(write=False) as s, pytest.raises(PermissionDeniedError):
        export_coded(s, get_project(s, TEAM), tom, "segments", "csv")


# --- SPSS-safe variable names ---------------------------------------------------------------

SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
# (parent, name, definition): digits first, non-ASCII, reserved words, a fixed column's name in
# other case, a name past 64 bytes, one that collapses onto Change/Job loss, one with no ASCII
HOSTILE = [(None, "1970s memories", "Recollections of the 1970s."),
           (None, "Überstunden & pay", "Overtime and wages."),
           (None, "AND", "A code named like SPSS's AND."),
           (None, "with", ""),
           (None, "Text", "Collides with the fixed column text, ignoring case."),
           (None, "港口", "The port, in Chinese."),
           (None, "A very long code name that goes past sixty four bytes in SPSS, surely", "Long."),
           ("Change", "Job-loss", "Collapses onto Change/Job loss.")]


def _spss_valid(name: str) -> bool:
    import re

    return (len(name.encode()) <= 64 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.@#$]*", name) is not None
            and name.upper() not in SPSS_RESERVED and not name.endswith("."))


@pytest.fixture
def hostile(coded):
    """coded, plus codes with hostile names, each applied by tom and one by li."""
    from coding.codebook.edits import add_code

    with coded.store.session() as s:
        p, maria = coded.project(s), coded.member(s, "maria")
        tree = code_tree(s, p)
        for parent, name, definition in HOSTILE:
            add_code(s, p, maria, tree.resolve(parent).id if parent else None, name, definition=definition)
    with coded.store.session() as s:
        p = coded.project(s)
        paths = [f"{parent}/{name}" if parent else name for parent, name, _ in HOSTILE]
        _code(s, p, "tom", "Docker_02", "Wives kept the houses going.", paths)
        _code(s, p, "li", "Clerk_01", "Paper, pencil, carbon copies.", ["Change/Job-loss", "港口", "AND"])
    return coded


def test_spss_names_are_valid_unique_and_map_exactly_to_code_paths(hostile, tmp_path, monkeypatch):
    with hostile.store.session(write=False) as s:
        p = hostile.project(s)
        stored = _stored(s, p)
        tree = code_tree(s, p)
        codable = [i for i in tree.infos if i.codable]
        definitions = {i.path: i.definition for i in codable}
        table, key = export_segments(s, p, hostile.member(s, "maria"), "xlsx", names="spss", when=WHEN)
        csv_table, csv_key = export_segments(s, p, hostile.member(s, "maria"), "csv", names="spss", when=WHEN)
    segments = _sheet(table.data, "Segments")
    header = list(segments[0])
    variables = _sheet(table.data, "Variables")
    assert variables[0] == ("variable", "kind", "source", "values", "definition")
    # every column has a valid name for SPSS (and Stata: <= 32 characters), unique ignoring case
    assert all(_spss_valid(h) and len(h) <= 32 for h in header), header
    assert len({h.casefold() for h in header}) == len(header)
    # the Variables sheet lists every column, in order, with its exact source
    assert [v[0] for v in variables[1:]] == header
    kinds = {v[0]: (v[1], v[2], v[4]) for v in variables[1:]}
    code_names = {src: name for name, (kind, src, _) in kinds.items() if kind == "code"}
    assert set(code_names) == {i.path for i in codable}  # every codable code, by its exact path
    assert [kinds[h][1] for h in header[:11]] == ["segment", "document", "cohort", "site", "coder", "layer", "start",
                                                  "end", "speakers", "timestamp", "text"]
    col = {h: i for i, h in enumerate(header)}
    for path, name in code_names.items():
        assert (kinds[name][2] or "") == definitions[path]
        assert sum(r[col[name]] for r in segments[1:]) == stored[path], path  # the column is that code's codings
    assert stored["港口"] == 2 and stored["Change/Job-loss"] == 2 and stored["Change/Job loss"] == 3
    # what the names became: readable where they can be, told apart where they collapse
    assert code_names["Change/Job loss"] == "Change_Job_loss" and code_names["Change/Job-loss"] == "Change_Job_loss_2"
    assert code_names["1970s memories"] == "c_1970s_memories" and code_names["Überstunden & pay"] == "Uberstunden_pay"
    assert code_names["AND"] == "c_AND" and code_names["with"] == "c_with" and code_names["Text"] == "Text_2"
    assert code_names["港口"] == "c"
    # the CSV: the same table, and the key as a CSV of its own
    rows = _csv_rows(csv_table.data)
    assert list(rows[0]) == header and len(rows) == len(segments) - 1
    assert [tuple(r.values()) for r in _csv_rows(csv_key.data)] == [
        tuple("" if c is None else str(c) for c in v) for v in variables[1:]]
    assert csv_key.data == key.data
    # the CLI writes the key beside a CSV, or where --codebook-out says; the default stays paths
    url = hostile.store.url
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["maria"])
    out = tmp_path / "seg.csv"
    assert cli(["--db", url, "--as", "maria", "export", "segments", TEAM, "--names", "spss", "--format", "csv",
                "--out", str(out)]) == 0
    assert list(_csv_rows(out.read_bytes())[0]) == header
    assert (tmp_path / "seg_variables.csv").read_bytes() == csv_key.data
    assert cli(["--db", url, "--as", "maria", "export", "segments", TEAM, "--format", "csv", "--out",
                str(tmp_path / "paths.csv"), "--codebook-out", str(tmp_path / "key.csv")]) == 0
    by_path = list(_csv_rows((tmp_path / "paths.csv").read_bytes())[0])
    assert "Change/Job-loss" in by_path and "港口" in by_path and "text" in by_path and "Text" in by_path
    assert [r["variable"] for r in _csv_rows((tmp_path / "key.csv").read_bytes())] == by_path
    assert not (tmp_path / "paths_variables.csv").exists()
    assert cli(["--db", url, "--as", "maria", "export", "segments", TEAM, "--format", "xlsx", "--out",
                str(tmp_path / "paths.xlsx")]) == 0
    assert openpyxl.load_workbook(tmp_path / "paths.xlsx").sheetnames == ["Segments", "About"]
