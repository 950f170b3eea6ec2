"""Exports that work on every project (issue 16, items 1-6 and the quote-bank options of 8).

On harbour (cohort/site attributes, no role/school), on a project without any attribute
(a Word document without speaker turns beside a transcript), and on a project built here
with long (> 32,767 characters) and hostile texts. What the files hold is compared with
the stored rows (document text sliced at the stored offsets), never with the code under test.
"""

from __future__ import annotations

import csv
import io
import zipfile

import docx
import openpyxl
import pytest
from sqlalchemy import select, text

from coding.cli.main import main as cli
from coding.codebook.edits import add_code
from coding.codebook.tree import code_tree
from coding.errors import CodingError, PermissionDeniedError
from coding.exporting.excerpts import excerpts, set_attribution_template
from coding.exporting.exports import WHAT_FORMATS, Filters, MatrixSpec, export
from coding.exporting.quote_bank import BankOptions
from coding.exporting.table import CELL_LIMIT, GUARD_COLUMN, SPLIT_NOTE
from coding.store.models import Coding, Document, Project
from coding.team.members import Member, get_member
from coding.team.projects import create_project, get_project
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document, import_uploads
from coding.work.memos import save_document_memo
from tests.conftest import TEAM_PASSWORDS

GANGS = "Gangs of eight under a foreman."


def _id(s, p, path):
    return code_tree(s, p).resolve(path).id


def _url(store):
    return store.engine.url.render_as_string(hide_password=False)


def _paras(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def _quotes(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs if p.style.name == "Quote"]


def _code_gangs(team, *coders, code="Work/Gang labour", extend=0):
    """Each coder codes the sentence about gangs in Docker_01 (li's span ``extend`` longer)."""
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        start = doc.text.index(GANGS)
        for i, name in enumerate(coders):
            apply_codes(s, p, team.member(s, name), doc, [_id(s, p, code)], start, start + len(GANGS) + i * extend)
        return doc.id, start


# --- item 1: the attribution template ---------------------------------------------------


def test_harbour_exports_every_kind_with_the_new_default_template(team, tmp_path, monkeypatch):
    _code_gangs(team, "tom")
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        assert p.attribution_template == "({speaker}, {document})"
        warned: list[str] = []
        [e] = excerpts(s, p, maria, warnings=warned)
        assert warned == []
        assert e.attribution == "(Docker, Docker_01)"
        # turn 4 of Docker_01 (Interviewer, Docker, Interviewer, Docker): what a reader finds
        assert (e.turns, e.location) == ((4, 4), "turn 4, Docker")
        stored = s.get(Document, e.document_id).text
        for what, fmts in WHAT_FORMATS.items():
            for fmt in fmts:
                data = export(s, p, maria, what, fmt, matrix=MatrixSpec(kind="attribute")).data
                assert data, (what, fmt)
        matrix = export(s, p, maria, "matrix", "csv").data.decode("utf-8-sig")
        assert "1970s" in matrix.splitlines()[0]  # the first attribute (cohort), not an empty "role"
        quotes = _quotes(export(s, p, maria, "quotes", "docx").data)
        assert quotes == [f"{stored[e.start:e.end]} (Docker, Docker_01)"]
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["maria"])
    out = tmp_path / "q.docx"
    assert cli(["--db", _url(team.store), "--as", "maria", "export", "quotes", "harbour", "--out", str(out)]) == 0
    assert _quotes(out.read_bytes()) == quotes


def test_a_lead_sets_a_template_with_built_in_fields_and_a_coder_cannot(team):
    _code_gangs(team, "tom")
    with team.store.session() as s:
        p = team.project(s)
        with pytest.raises(PermissionDeniedError):
            set_attribution_template(s, p, team.member(s, "tom"), "{speaker}")
        with pytest.raises(CodingError, match=r"names 'sitee', which no document of 'harbour' has"):
            set_attribution_template(s, p, team.member(s, "maria"), "{speaker} ({sitee})")
        set_attribution_template(s, p, team.member(s, "maria"), "{speaker} ({site}), turn {turn}")
    with team.store.session() as s:
        p = team.project(s)
        assert s.scalar(select(Project.attribution_template).where(Project.id == p.id)) == \
            "{speaker} ({site}), turn {turn}"
        [e] = excerpts(s, p, team.member(s, "tom"))
        assert e.attribution == "Docker (North Quay), turn 4"


def test_the_demo_template_on_a_project_without_those_attributes_warns_and_exports(team):
    """A project still holding migration 0005's default: the fields are left out, with a warning
    in the file; the export does not fail."""
    _code_gangs(team, "tom")
    with team.store.session() as s:
        p = team.project(s)
        s.execute(text("UPDATE projects SET attribution_template = '({role} - {school})' WHERE id = :p"), {"p": p.id})
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        warned: list[str] = []
        [e] = excerpts(s, p, maria, warnings=warned)
        assert e.attribution == ""
        assert len(warned) == 2 and "{role}" in warned[0] and "{school}" in warned[1]
        assert all("Docker_01" in w for w in warned)
        about = [r[0].value for r in openpyxl.load_workbook(io.BytesIO(
            export(s, p, maria, "excerpts", "xlsx").data))["About"].iter_rows()]
        assert any(line.startswith("Warning: ") and "{role}" in line for line in about)
        paras = _paras(export(s, p, maria, "quotes", "docx").data)
        assert any(t.startswith("Warning: ") and "{school}" in t for t in paras)


def _word(*paragraphs: str) -> bytes:
    d = docx.Document()
    for t in paragraphs:
        d.add_paragraph(t)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_a_project_without_attributes_cites_paragraphs_and_speakers(store):
    """No attribute at all: a Word document without turns is cited by paragraph, a transcript
    by turn; the default template leaves {speaker} out of the Word document's quotes."""
    with store.session() as s:
        p = create_project(s, "notes", lead_name="ines", local_mode=True)
        ines = Member.of(get_member(s, p, "ines"))
        code = add_code(s, p, ines, None, "Place")
        report = import_uploads(s, p, [
            ("Field notes.docx", _word("Arrived at the quay at dawn.", "The cranes were still.",
                                       "A clerk counted bales by hand.")),
            ("Talk.txt", (b"[00:00:05] Interviewer: Where was this?\n\n[00:00:09] Ana: At the north quay, by the cranes.\n\n"
                          b"[00:00:14] Interviewer: Alone?\n\n[00:00:16] Ana: Yes.\n")),
        ], actor=ines)
        assert report.ok, report
        notes, talk = get_document(s, p, "Field notes"), get_document(s, p, "Talk")
        apply_codes(s, p, ines, notes, [code.id], notes.text.index("A clerk"), len(notes.text.rstrip()))
        apply_codes(s, p, ines, talk, [code.id], talk.text.index("At the north"), talk.text.index("cranes.") + 7)
    with store.session() as s:
        p = get_project(s, "notes")
        ines = Member.of(get_member(s, p, "ines"))
        warned: list[str] = []
        es = {e.document: e for e in excerpts(s, p, ines, warnings=warned)}
        assert es["Field notes"].location == "paragraph 3" and es["Field notes"].attribution == "(Field notes)"
        assert es["Talk"].location == "turn 2, Ana, 00:00:09" and es["Talk"].attribution == "(Ana, Talk)"
        assert len(warned) == 1 and "{speaker}" in warned[0] and "Field notes" in warned[0]
        paras = _paras(export(s, p, ines, "quotes", "docx").data)
        assert "Field notes, paragraph 3 · coded by ines" in paras
        assert "Talk, turn 2, Ana, 00:00:09 · coded by ines" in paras
        rows = list(csv.reader(io.StringIO(export(s, p, ines, "excerpts", "csv").data.decode("utf-8-sig"))))
        header = rows[0]
        by_doc = {r[0]: r for r in rows[1:]}
        assert by_doc["Field notes"][header.index("location")] == "paragraph 3"
        stored = get_document(s, p, "Talk").text
        start, end = int(by_doc["Talk"][header.index("start")]), int(by_doc["Talk"][header.index("end")])
        assert by_doc["Talk"][header.index("text")] == stored[start:end]


# --- items 2 and 3: exact, long and hostile texts -------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "@@handle said so", "-----", "+44 20 7946 0000"]


def _long_and_hostile(store):
    """A project built here: one transcript whose witness speaks 61,889 characters (emoji
    included, so UTF-16 counts differ), codes and quotes starting with = + - @, a memo with a
    control character."""
    body = "".join(("The tide came in 😀 " if i % 7 == 0 else "and the ropes held fast ") for i in range(2900))
    body = body[:61_889 - len("Witness: ")]
    lines = [f"Interviewer: {h}" if i % 2 == 0 else f"Witness: {h}" for i, h in enumerate(HOSTILE)]
    raw = "\n\n".join(lines) + "\n\nWitness: " + body + "\n"
    with store.session() as s:
        p = create_project(s, "long", lead_name="lee", local_mode=True)
        lee = Member.of(get_member(s, p, "lee"))
        code = add_code(s, p, lee, None, "=SUM(1,2)")
        other = add_code(s, p, lee, None, "-----")
        assert import_uploads(s, p, [("=evil.txt", raw.encode())], actor=lee).ok
        doc = get_document(s, p, "=evil")
        for h in HOSTILE:
            [c] = apply_codes(s, p, lee, doc, [code.id], doc.text.index(h), doc.text.index(h) + len(h))
            set_memo(s, p, lee, c.id, "@memo\x07bell " + h)
        start = doc.text.index("Witness: The tide")
        apply_codes(s, p, lee, doc, [other.id], start, start + 61_889)
    return "long", "lee"


def test_xlsx_holds_exact_text_and_splits_cells_over_excels_limit(store):
    name, lead = _long_and_hostile(store)
    with store.session() as s:
        p = get_project(s, name)
        lee = Member.of(get_member(s, p, lead))
        doc = get_document(s, p, "=evil")
        stored = {(c.start, c.end): (doc.text[c.start:c.end], c.memo)
                  for c in s.scalars(select(Coding).where(Coding.document_id == doc.id))}
        data = export(s, p, lee, "excerpts", "xlsx").data
    assert max(e - st for st, e in stored) == 61_889
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Excerpts"]
    header = [c.value for c in ws[1]]
    parts = [i for i, h in enumerate(header) if h == "text" or h.startswith("text, continued ")]
    assert [header[i] for i in parts] == ["text", "text, continued 1"]  # 61,889 characters: two cells
    seen = 0
    for row in ws.iter_rows(min_row=2):
        cells = {h: c for h, c in zip(header, row)}
        span = (cells["start"].value, cells["end"].value)
        quote, memo = stored[span]
        pieces = [row[i].value for i in parts if row[i].value is not None]
        assert "".join(pieces) == quote  # exact, "=" "@" "-" "+" first included
        assert all(len(x.encode("utf-16-le")) // 2 <= CELL_LIMIT for x in pieces)
        assert all(row[i].data_type == "s" for i in parts if row[i].value is not None)
        assert cells["document"].value == "=evil" and cells["document"].data_type == "s"
        if memo:
            assert cells["memo"].value == memo.replace("\x07", "\ufffd")
        seen += 1
    assert seen == len(stored) == len(HOSTILE) + 1
    assert all(c.data_type != "f" for w in wb for row in w.iter_rows() for c in row)
    about = [r[0].value for r in wb["About"].iter_rows()]
    assert SPLIT_NOTE in about and any("\ufffd" in line for line in about)


def test_csv_keeps_the_guard_and_names_the_guarded_cells(store):
    name, lead = _long_and_hostile(store)
    with store.session() as s:
        p = get_project(s, name)
        data = export(s, p, Member.of(get_member(s, p, lead)), "excerpts", "csv").data.decode("utf-8-sig")
        doc = get_document(s, p, "=evil")
        stored = {(c.start, c.end): doc.text[c.start:c.end]
                  for c in s.scalars(select(Coding).where(Coding.document_id == doc.id))}
    rows = list(csv.reader(io.StringIO(data)))
    header = rows[0]
    assert header[-1] == GUARD_COLUMN
    for r in rows[1:]:
        quote = stored[int(r[header.index("start")]), int(r[header.index("end")])]
        guarded = set(r[-1].split("; "))
        assert {"document", "code"} <= guarded
        assert ("memo" in guarded) == bool(r[header.index("memo")])  # every memo here starts with "@"
        t = r[header.index("text")]
        if "text" in guarded:
            assert t == "'" + quote and quote[0] in "=+-@"
        else:
            assert t == quote and quote[0] not in "=+-@"


# --- item 4, 5, 6 and 8: the quote bank ------------------------------------------------------


def test_quote_bank_one_quote_per_passage_then_consensus_and_per_coder_on_request(team):
    doc_id, start = _code_gangs(team, "tom", "li", extend=20)
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        stored = s.get(Document, doc_id).text
        union = stored[start:start + len(GANGS) + 20]
        data = export(s, p, maria, "quotes", "docx").data
        paras = _paras(data)
        assert _quotes(data) == [f"{union} (Docker, Docker_01)"]
        assert "Docker_01, turn 4, Docker · coded by li, tom" in paras
        assert "quotes: one quote per passage" in paras[1] and "no consensus layer yet" in paras[1]
        assert f"{start}–" not in "\n".join(paras) and f"{start}-" not in "\n".join(paras)
        per_coder = _quotes(export(s, p, maria, "quotes", "docx", quotes="coder").data)
        assert sorted(per_coder) == sorted([f"{stored[start:start + len(GANGS)]} (Docker, Docker_01)",
                                            f"{union} (Docker, Docker_01)"])
        doc = s.get(Document, doc_id)
        apply_codes(s, p, maria, doc, [_id(s, p, "Work/Gang labour")], start, start + len(GANGS),
                    layer="consensus")
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        data = export(s, p, maria, "quotes", "docx").data
        assert _quotes(data) == [f"{stored[start:start + len(GANGS)]} (Docker, Docker_01)"]
        paras = _paras(data)
        assert "quotes: the consensus layer" in paras[1]
        assert "Docker_01, turn 4, Docker · coded by consensus" in paras


def test_filters_show_code_paths_not_ids(team):
    _code_gangs(team, "tom")
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        gang = _id(s, p, "Work/Gang labour")
        f = Filters(codes=[gang])  # the Retrieve page passes ids
        about = openpyxl.load_workbook(io.BytesIO(export(s, p, maria, "excerpts", "xlsx", f).data))["About"]
        line = about.cell(1, 1).value
        paras = _paras(export(s, p, maria, "quotes", "docx", f).data)
    assert "filters: codes Work/Gang labour" in line and gang not in line
    assert "filters: codes Work/Gang labour" in paras[1] and gang not in paras[1]


def test_quote_bank_options_contents_other_codes_variables_and_memos(team):
    doc_id, start = _code_gangs(team, "tom")
    with team.store.session() as s:
        p, tom, maria = team.project(s), team.member(s, "tom"), team.member(s, "maria")
        doc = s.get(Document, doc_id)
        [c] = apply_codes(s, p, tom, doc, [_id(s, p, "Community")], start + 5, start + 20)
        set_memo(s, p, tom, c.id, "Gangs were neighbours too.")
        save_document_memo(s, p, maria, doc, "Interview in the union hall.")
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        plain = _paras(export(s, p, maria, "quotes", "docx").data)
        data = export(s, p, maria, "quotes", "docx",
                      bank=BankOptions(memos=True, toc=True, other_codes=True, variables=True)).data
    paras = _paras(data)
    assert "Contents" not in plain and not any(t.startswith(("Also coded", "Variables")) for t in plain)
    i = paras.index("Contents")
    assert paras[i + 1:i + 5] == ["Work", "Gang labour (1)", "Community (1)", "Work"]  # then the first heading
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("word/document.xml").decode()
    assert 'TOC \\o "1-9"' in xml and 'w:anchor="_Toc_q2"' in xml and 'w:name="_Toc_q2"' in xml
    gang_quote = paras.index(next(t for t in paras if t.startswith(GANGS)))
    assert paras[gang_quote + 2] == "Also coded: Community"
    assert paras[gang_quote + 3] == "Variables: cohort: 1970s; site: North Quay"
    community_quote = paras.index(next(t for t in paras if t.startswith(GANGS[5:20])))
    assert "Also coded: Work/Gang labour" in paras[community_quote + 2]
    assert "Memo: Gangs were neighbours too." in paras
    assert paras[paras.index("Document memos"):][:3] == ["Document memos", "Docker_01",
                                                        "maria: Interview in the union hall."]
