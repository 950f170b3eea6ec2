"""Excerpts query, matrices and export writers (issue 10), on the demo project.

Counts are checked against numbers computed here straight from the stored rows,
never through the code under test.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime

import docx
import openpyxl
import pytest
from sqlalchemy import select

from coding.cli.main import main as cli
from coding.codebook.tree import code_tree
from coding.codebook.edits import add_code
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document, import_attributes, store_document
from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.exporting import matrices
from coding.exporting.excerpts import excerpts, set_attribution_template
from coding.exporting.exports import Filters, MatrixSpec, export
from coding.exporting.pseudonyms import Pseudonyms, parse_pseudonyms
from coding.exporting.excerpts import Excerpt
from coding.exporting.table import GUARD_COLUMN
from coding.exporting.writers import FORMULA_START, About, excerpts_csv, excerpts_xlsx, md_text
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round
from coding.store.models import Attribute, Coder, Coding, Document, Project

WHEN = datetime(2025, 3, 1, tzinfo=UTC)
_ABOUT = About("p", "coder", 1, when=WHEN)


def ctx(s, name="lead"):
    p = get_project(s, "demo")
    return p, Member.of(get_member(s, p, name))


def stored(s, p, **where):
    """Codings as stored: (coding, document text, code path, coder name)."""
    tree = code_tree(s, p)
    names = dict(s.execute(select(Coder.id, Coder.name)).all())
    q = select(Coding, Document.text).join(Document, Document.id == Coding.document_id).where(
        Coding.project_id == p.id)
    for k, v in where.items():
        q = q.where(getattr(Coding, k) == v)
    return [(c, t, tree.info[c.code_id].path, names[c.coder_id]) for c, t in s.execute(q)]


def role_of(s):
    return dict(s.execute(select(Attribute.document_id, Attribute.value).where(Attribute.name == "role")).all())


# --- the query ------------------------------------------------------------------------


def test_every_quote_is_the_stored_slice_and_the_lead_gets_every_coding(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        es = excerpts(s, p, lead, layer="all")
        rows = stored(s, p)
        assert len(es) == len(rows) > 100
        texts = {c.id: t for c, t, _, _ in rows}
        for e in es:
            assert e.text == texts[e.coding_id][e.start:e.end]
        # Spanish documents are in the demo; their quotes keep every accent.
        assert any("ñ" in e.text or "ó" in e.text for e in es if e.document.startswith("P07"))
        first = next(e for e in es if e.document == "P01_principal_School-I_3")
        assert first.attribution == "(Principal - School I_3)"
        assert first.speakers == ("Principal",)
        assert first.attributes["role"] == "Principal"
        assert first.code_levels == tuple(first.code.split("/"))
        _check_filters(s, p, lead)


def test_emoji_and_crlf_documents_quote_code_points_of_the_stored_text(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        raw = "Interviewer: ¿Cómo fue? 🙂\r\nDocente: Muy bien 👩🏽‍🏫, la señora José\r\nlo dijo.\r\n"
        doc = store_document(s, p, "P09_emoji", "P09_emoji.txt", raw.encode("utf-8"), language="es", actor=lead)
        import_attributes(s, p, "a.csv", "document,role,school\nP09_emoji,Docente,Escuela I_9\n".encode(),
                          actor=lead)
        start = doc.text.index("Muy")
        end = doc.text.index("lo dijo.") + len("lo dijo.")
        code = code_tree(s, p).resolve("Synthesis/Most important learning")
        apply_codes(s, p, lead, doc, [code.id], start, end)
    with demo_store.session() as s:
        p, lead = ctx(s)
        [e] = excerpts(s, p, lead, documents=["P09_emoji"])
        assert "\r" not in e.text
        assert e.text == "Muy bien 👩🏽‍🏫, la señora José\nlo dijo."
        assert e.text == get_document(s, p, "P09_emoji").text[e.start:e.end]
        assert e.speakers == ("Docente",)
        assert e.attribution == "(Docente - Escuela I_9)"


def _check_filters(s, p, lead):
    """Each filter against counts taken from the stored rows."""
    rows = stored(s, p, layer="coder")
    roles = role_of(s)
    parent = "CIC Project/Collaboration between teachers"
    under = [r for r in rows if r[2] == parent or r[2].startswith(parent + "/")]
    assert len(excerpts(s, p, lead, codes=[parent])) == len(under) > 0
    assert len(excerpts(s, p, lead, codes=[parent], include_descendants=False)) == \
        sum(r[2] == parent for r in rows)
    assert len(excerpts(s, p, lead, attributes={"role": ["Principal"]})) == \
        sum(roles.get(c.document_id) == "Principal" for c, *_ in rows) > 0
    assert len(excerpts(s, p, lead, layer="coder:ana")) == sum(r[3] == "ana" for r in rows) > 0
    assert len(excerpts(s, p, lead, layer="ben")) == sum(r[3] == "ben" for r in rows) > 0
    assert len(excerpts(s, p, lead, documents=["P01_principal_School-I_3"])) == \
        sum(t.startswith("Interviewer: Thank you for making time") for _, t, _, _ in rows)
    assert len(excerpts(s, p, lead, provenance="suggested")) == 0
    assert len(excerpts(s, p, lead, round="Round 1")) == len(rows)
    hits = excerpts(s, p, lead, text_search="TUESDAY")
    assert hits and all("tuesday" in e.text.lower() for e in hits)
    assert len(hits) == sum("tuesday" in t[c.start:c.end].lower() for c, t, _, _ in rows)
    with pytest.raises(NotFoundError, match="no code at path"):
        excerpts(s, p, lead, codes=["CIC Project/Nope"])
    with pytest.raises(NotFoundError, match="nobody"):
        excerpts(s, p, lead, layer="coder:nobody")


def _blind_round_with_ben_secret(demo_store):
    """Round 2, blind and open, on P01 for ana and ben; ben codes a span with a memo."""
    with demo_store.session() as s:
        p, lead = ctx(s)
        doc = get_document(s, p, "P01_principal_School-I_3")
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        assign(s, p, lead, rnd, [doc], [get_member(s, p, "ana"), get_member(s, p, "ben")])
        _, ben = ctx(s, "ben")
        start = doc.text.index("I walked in once")
        code = code_tree(s, p).resolve("CIC Project/Collaboration between teachers/Joint planning")
        [c] = apply_codes(s, p, ben, doc, [code.id], start, start + 120)
        set_memo(s, p, ben, c.id, "BEN-SECRET-MEMO")
        return doc.id, c.id


def test_blind_rule_a_coder_in_an_open_round_gets_only_their_own_excerpts(demo_store, tmp_path, capsys):
    doc_id, secret = _blind_round_with_ben_secret(demo_store)
    with demo_store.session() as s:
        p, ana = ctx(s, "ana")
        _, lead = ctx(s)
        mine = excerpts(s, p, ana, layer="all")
        on_blind = [e for e in mine if e.document_id == doc_id]
        assert on_blind and {e.coder for e in on_blind} == {"ana"}
        # Everything else is ana's own work on P01 plus everyone's work elsewhere.
        expected = {c.id for c, _, _, who in stored(s, p) if c.document_id != doc_id or who == "ana"}
        assert {e.coding_id for e in mine} == expected
        assert secret in {e.coding_id for e in excerpts(s, p, lead)}
        # Every export path as ana leaves ben's blind work out.
        for what, fmt in [("excerpts", "csv"), ("excerpts", "json"), ("excerpts", "md"), ("excerpts", "xlsx"),
                          ("quotes", "docx"), ("codebook", "md"), ("matrix", "csv")]:
            data = export(s, p, ana, what, fmt, Filters(layer="all"), memos=True).data
            text = _text_of(fmt, data)
            assert "BEN-SECRET-MEMO" not in text, (what, fmt)
        ben_p01 = sum(1 for c, _, _, who in stored(s, p) if c.document_id == doc_id and who == "ben")
        m = matrices.code_by_attribute(mine, code_tree(s, p), "role")
        lead_m = matrices.code_by_attribute(excerpts(s, p, lead, layer="all"), code_tree(s, p), "role")
        assert sum(map(sum, lead_m.counts)) - sum(map(sum, m.counts)) == ben_p01
    assert cli(["--db", _url(demo_store), "--as", "ana", "excerpts", "demo", "--json", "--layer", "all"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["coder"] for r in records if r["document"] == "P01_principal_School-I_3"} == {"ana"}
    assert all({"document", "code", "coder", "start", "end", "text", "attribution"} <= set(r) for r in records)
    out = tmp_path / "q.docx"
    assert cli(["--db", _url(demo_store), "--as", "ana", "export", "quotes", "demo", "--memos",
                "--out", str(out)]) == 0
    assert "BEN-SECRET-MEMO" not in _text_of("docx", out.read_bytes())


def _url(store):
    return store.engine.url.render_as_string(hide_password=False)


def _text_of(fmt: str, data: bytes) -> str:
    if fmt == "docx":
        d = docx.Document(io.BytesIO(data))
        return "\n".join(par.text for par in d.paragraphs)
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    return data.decode("utf-8-sig")


# --- attribution ---------------------------------------------------------------------


def test_attribution_template_per_project_and_the_missing_attribute_error(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        assert p.attribution_template == "({role} - {school})"
        e = excerpts(s, p, lead, documents=["P07_directora_Escuela-II_5"])[0]
        assert e.attribution == "(Principal - School II_5)"
        e = excerpts(s, p, lead, documents=["P07_directora_Escuela-II_5"], template="{role}, cohort {cohort} {{x}}")[0]
        assert e.attribution == "Principal, cohort II {x}"
        # A field a document lacks is left out, with its joining text, and named in a warning.
        warned: list[str] = []
        e = excerpts(s, p, lead, template="({role} - {district})", warnings=warned)[0]
        assert e.attribution == f"({e.attributes['role']})"
        [w] = warned
        assert "{district}" in w and "P01_principal_School-I_3" in w and "no attribute 'district'" in w
        with pytest.raises(CodingError, match="not a plain name"):
            excerpts(s, p, lead, template="{role!r}")
        with pytest.raises(CodingError, match="not valid"):
            excerpts(s, p, lead, template="({role")
        _, ana = ctx(s, "ana")
        with pytest.raises(PermissionDeniedError):
            set_attribution_template(s, p, ana, "{role}")
        set_attribution_template(s, p, lead, "[{school}; {role}]")
    with demo_store.session() as s:
        p, lead = ctx(s)
        assert s.get(Project, p.id).attribution_template == "[{school}; {role}]"
        e = excerpts(s, p, lead, documents=["P01_principal_School-I_3"])[0]
        assert e.attribution == "[School I_3; Principal]"


def test_setting_the_attribution_template_is_logged_with_before_and_after(demo_store):
    from coding.store.models import Event

    with demo_store.session() as s:
        p, lead = ctx(s)
        set_attribution_template(s, p, lead, "  [{school}; {role}] ")
        set_attribution_template(s, p, lead, "[{school}; {role}]")  # unchanged: nothing to log
        with pytest.raises(CodingError, match="not valid"):
            set_attribution_template(s, p, lead, "({role")
        with pytest.raises(CodingError, match=r"names 'district', which no document of 'demo' has"):
            set_attribution_template(s, p, lead, "{role} {district}")
        set_attribution_template(s, p, lead, "")  # back to the default, which needs no attribute
    with demo_store.session() as s:
        p, lead = ctx(s)
        events = s.scalars(select(Event).where(Event.project_id == p.id, Event.action == "project.attribution")
                           .order_by(Event.seq)).all()
        assert [(e.actor_id, e.object_id, json.loads(e.payload)) for e in events] == [
            (lead.id, p.id, {"before": "({role} - {school})", "after": "[{school}; {role}]"}),
            (lead.id, p.id, {"before": "[{school}; {role}]", "after": "({speaker}, {document})"})]
        assert s.get(Project, p.id).attribution_template == "({speaker}, {document})"


# --- spreadsheet safety ----------------------------------------------------------------

# Stored through the engine (PostgreSQL refuses NUL in text: NUL is checked on a record below).
HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
           "\t=1+1", "\r=1+1"]


def _hostile(demo_store):
    """A hostile code, memo and transcript text, stored through the engine."""
    with demo_store.session() as s:
        p, lead = ctx(s)
        text = "Interviewer: =cmd|' /C calc'!A0\n\nPrincipal: @SUM(1+1) and more\n"
        doc = store_document(s, p, "=evil", "evil.txt", text.encode(), actor=lead)
        import_attributes(s, p, "a.csv", "document,role,school\n=evil,-role,+school\n".encode(), actor=lead)
        code = add_code(s, p, lead, None, "=HYPERLINK(\"evil\")")
        for i, memo in enumerate(HOSTILE):
            start = text.index("=cmd") if i % 2 == 0 else text.index("@SUM")
            [c] = apply_codes(s, p, lead, doc, [code.id], start, start + 5 + i)
            set_memo(s, p, lead, c.id, memo)


def test_csv_xlsx_and_markdown_keep_hostile_text_inert(demo_store):
    _hostile(demo_store)
    _check_csv(demo_store)
    _check_xlsx(demo_store)
    _check_markdown(demo_store)


def _check_csv(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        data = export(s, p, lead, "excerpts", "csv", Filters(documents=["=evil"])).data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    header, body = rows[0], rows[1:]
    assert len(body) == len(HOSTILE)
    memos = [r[header.index("memo")] for r in body]
    assert sorted(memos) == sorted("'" + m for m in HOSTILE)
    assert header[-1] == GUARD_COLUMN
    for r in body:
        for v in r:
            assert not v.startswith(FORMULA_START), v
        # the last column names the cells that got the apostrophe, so a script can take it off
        guarded = r[-1].split("; ")
        assert {"document", "code", "text", "memo", "role"} <= set(guarded)
        assert all(r[header.index(h)].startswith("'") for h in guarded)
        assert r[header.index("code")] == "'=HYPERLINK(\"evil\")"
        assert r[header.index("attribution")] == "(-role - +school)"  # starts with "(": left alone
        assert r[header.index("role")] == "'-role"


def _check_xlsx(demo_store):
    """Cells are strings holding the exact text (offsets numbers), never formulas; header
    frozen, filtered; quotes wrapped (issue 16: no apostrophe in XLSX)."""
    with demo_store.session() as s:
        p, lead = ctx(s)
        data = export(s, p, lead, "excerpts", "xlsx", Filters(documents=["=evil"])).data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Excerpts"]
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{len(HOSTILE) + 1}"
    assert ws.cell(2, header.index("text") + 1).alignment.wrap_text
    memos = []
    for row in ws.iter_rows(min_row=2):
        for h, c in zip(header, row):
            if c.value is None:
                continue
            assert c.data_type == ("n" if h in ("start", "end") else "s"), (h, c.value, c.data_type)
        memos.append(row[header.index("memo")].value)
        assert row[header.index("document")].value == "=evil"
        assert row[header.index("code")].value == "=HYPERLINK(\"evil\")"
    # every memo exactly as stored, tab and CR first included
    assert sorted(memos) == sorted(HOSTILE)
    assert all(c.data_type != "f" for ws in wb for row in ws.iter_rows() for c in row)


def test_a_nul_start_is_neutralised_and_kept_out_of_xml():
    e = Excerpt("id", "d", "did", "=c", ("=c",), "cid", "ana", "coder", "typed", 0, 5, "\0=1+1",
                ("\0sp",), None, {"role": "\0x"}, "\0=2", "(x)")
    rows = list(csv.reader(io.StringIO(excerpts_csv([e]))))
    assert rows[1][rows[0].index("text")] == "'\0=1+1" and rows[1][rows[0].index("memo")] == "'\0=2"
    ws = openpyxl.load_workbook(io.BytesIO(excerpts_xlsx([e])))["Excerpts"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index("text") + 1)
    assert (cell.value, cell.data_type) == ("\ufffd=1+1", "s")  # NUL cannot live in XML
    assert ws.cell(2, header.index("code") + 1).value == "=c"
    about = [r[0].value for r in openpyxl.load_workbook(io.BytesIO(excerpts_xlsx([e], _ABOUT)))["About"].iter_rows()]
    assert any("shown as \ufffd" in line for line in about)


def test_xlsx_keeps_error_codes_and_numbers_looking_text_as_strings():
    """Text such as "#N/A" or "0012" is a string cell, as typed, not an error or a number."""
    e = Excerpt("id", "#N/A", "did", "#DIV/0!", ("#DIV/0!",), "cid", "ana", "coder", "typed", 0, 4, "0012",
                (), None, {"role": "#REF!"}, "", "(x)")
    ws = openpyxl.load_workbook(io.BytesIO(excerpts_xlsx([e])))["Excerpts"]
    header = [c.value for c in ws[1]]
    got = {h: (ws.cell(2, i + 1).value, ws.cell(2, i + 1).data_type) for i, h in enumerate(header)}
    assert got["document"] == ("#N/A", "s") and got["code"] == ("#DIV/0!", "s")
    assert got["role"] == ("#REF!", "s") and got["text"] == ("0012", "s") and got["end"] == (4, "n")


# --- DOCX, Markdown, appendix -------------------------------------------------------------


def test_quote_bank_docx_holds_the_quotes_in_codebook_order(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        es = excerpts(s, p, lead, layer="coder:ana")
        data = export(s, p, lead, "quotes", "docx", Filters(layer="coder:ana"), memos=True, when=WHEN).data
        tree = code_tree(s, p)
        version = p.codebook_version
    d = docx.Document(io.BytesIO(data))
    paras = d.paragraphs
    assert f"Project demo; layer coder:ana; codebook version {version}; exported 2025-03-01" in paras[1].text
    headings = [par.text for par in paras if par.style.name.startswith("Heading")]
    used = {e.code_id for e in es}
    expected = [i.name for i in tree.infos
                if i.id in used or any(u in tree.descendants(i.id) for u in used)]
    assert headings == expected
    # Each quote sits under its code's heading, followed by its attribution.
    current, seen = None, []
    for par in paras:
        if par.style.name.startswith("Heading"):
            current = par.text
        elif par.style.name == "Quote":
            seen.append((current, par.text))
    assert len(seen) == len(es)
    by_code = defaultdict(list)
    for e in es:
        by_code[e.code_levels[-1]].append(f"{e.text} {e.attribution}")
    for name, text in seen:
        assert text in by_code[name]


def test_codebook_appendix_markdown_and_docx_with_counts(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        md = export(s, p, lead, "codebook", "md").data.decode()
        dx = docx.Document(io.BytesIO(export(s, p, lead, "codebook", "docx").data))
        tree = code_tree(s, p)
        rows = stored(s, p, layer="coder")
    n = Counter(c.code_id for c, *_ in rows)
    docs = defaultdict(set)
    for c, *_ in rows:
        docs[c.code_id].add(c.document_id)
    positions = [md.index(f"# {md_text(i.name)}\n") for i in tree.infos]
    assert positions == sorted(positions)
    jp = tree.resolve("CIC Project/Collaboration between teachers/Joint planning")
    line = f"*{n[jp.id]} excerpt(s) in {len(docs[jp.id])} document(s)*"
    assert line in md and n[jp.id] > 0
    assert "**Definition:**" in md and "**Exclude:**" in md
    texts = [par.text for par in dx.paragraphs]
    assert line.strip("*") in texts
    assert texts[texts.index("Joint planning") + 1] == line.strip("*")


def _check_markdown(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        md = export(s, p, lead, "excerpts", "md", Filters(documents=["=evil"])).data.decode()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(HOSTILE)
    assert "=cmd\\|" in md  # a pipe in the text cannot split the table row
    assert len({line.replace("\\|", "").count("|") for line in table}) == 1


# --- matrices -----------------------------------------------------------------------------


def _check_code_by_role(s, p, lead, tree, es):
    rows = stored(s, p, layer="coder")
    roles = role_of(s)
    for count in ("excerpts", "documents", "participants"):
        m = matrices.code_by_attribute(es, tree, "role", count=count)
        hand: dict = defaultdict(set)
        for c, *_ in rows:
            hand[tree.info[c.code_id].path, roles[c.document_id]].add(
                c.id if count == "excerpts" else c.document_id)
        assert {(r, col): n for r, cs in zip(m.rows, m.counts) for col, n in zip(m.columns, cs) if n} == \
            {k: len(v) for k, v in hand.items()}
        cell = next(iter(hand))
        assert {e.coding_id if count == "excerpts" else e.document_id for e in m.cells[cell]} == hand[cell]
    rolled = matrices.code_by_attribute(es, tree, "role", rollup=True)
    parent = "CIC Project/Collaboration between teachers"
    assert rolled.count(parent, "Principal") == sum(
        1 for c, _, path, _ in rows
        if (path == parent or path.startswith(parent + "/")) and roles[c.document_id] == "Principal")
    assert [r for r in rolled.rows] == [i.path for i in tree.infos if i.path in rolled.rows]


def test_code_by_document_and_co_occurrence_against_hand_counts(demo_store):
    with demo_store.session() as s:
        p, lead = ctx(s)
        tree = code_tree(s, p)
        es = excerpts(s, p, lead)
        rows = stored(s, p, layer="coder")
        docname = dict(s.execute(select(Document.id, Document.name)).all())
        m = matrices.code_by_document(es, tree)
        hand = Counter((tree.info[c.code_id].path, docname[c.document_id]) for c, *_ in rows)
        assert {(r, d): n for r, cs in zip(m.rows, m.counts) for d, n in zip(m.columns, cs) if n} == dict(hand)
        pairs = Counter()
        for a, _, pa, wa in rows:
            for b, _, pb, wb in rows:
                if (a.id != b.id and a.document_id == b.document_id and wa == wb and pa != pb
                        and a.start < b.end and b.start < a.end):
                    pairs[pa, pb] += 1
        co = matrices.co_occurrence(s, es, tree, mode="overlap")
        got = {(r, c): n for r, cs in zip(co.rows, co.counts) for c, n in zip(co.columns, cs) if n and r != c}
        assert got == dict(pairs) and pairs
        assert all(co.count(r, c) == co.count(c, r) for r in co.rows for c in co.rows)
        turn = matrices.co_occurrence(s, es, tree, mode="turn")
        assert turn.rows and all(turn.count(r, r) >= max(turn.counts[i]) for i, r in enumerate(turn.rows))
        out = export(s, p, lead, "matrix", "csv", matrix=MatrixSpec(kind="documents")).data.decode("utf-8-sig")
        assert list(csv.reader(io.StringIO(out)))[0] == ["code", *m.columns]
        _check_code_by_role(s, p, lead, tree, es)


# --- pseudonyms -----------------------------------------------------------------------------

NAMES = {"José": "Teacher A", "Carolina": "Teacher B", "Ximena": "Teacher C", "School I_3": "School X"}


def test_no_listed_name_survives_any_export_and_the_store_keeps_them(demo_store):
    ps = parse_pseudonyms("name,pseudonym\n" + "".join(f"{k},{v}\n" for k, v in NAMES.items()))
    assert isinstance(ps, Pseudonyms) and ps.mapping == NAMES
    with demo_store.session() as s:
        p, lead = ctx(s)
        doc = get_document(s, p, "P01_principal_School-I_3")
        start = doc.text.index("José, who teaches")
        code = code_tree(s, p).resolve("CIC Project/Collaboration within the school")
        [c] = apply_codes(s, p, lead, doc, [code.id], start, start + 120)
        set_memo(s, p, lead, c.id, "José and Carolina again (see Ximena).")
    with demo_store.session() as s:
        p, lead = ctx(s)
        assert any("José" in e.text for e in excerpts(s, p, lead, layer="all"))
        for what, fmts in [("excerpts", ("csv", "xlsx", "md", "json")), ("quotes", ("docx",)),
                           ("codebook", ("docx", "md")), ("matrix", ("csv", "xlsx", "md"))]:
            for fmt in fmts:
                spec = MatrixSpec(kind="attribute", attribute="school")
                text = _text_of(fmt, export(s, p, lead, what, fmt, Filters(layer="all"), pseudonyms=ps,
                                            memos=True, matrix=spec).data)
                for real in NAMES:
                    assert real not in text, (what, fmt, real)
                assert "PSEUDONYMISED" in text or '"pseudonymised": true' in text, (what, fmt)
        whole = _text_of("csv", export(s, p, lead, "excerpts", "csv", Filters(layer="all"), pseudonyms=ps).data)
        assert "Teacher A, who teaches" in whole and "School X" in whole
        assert "José, who teaches" in get_document(s, p, "P01_principal_School-I_3").text


# --- agreement report as DOCX ---------------------------------------------------------------


def test_agreement_docx_writes_the_method_sentence_and_the_table(demo_store, tmp_path):
    from coding.agreement.project import compute_agreement
    from coding.exporting.agreement_report import agreement_docx, method_sentence

    with demo_store.session() as s:
        p, lead = ctx(s)
        rep = compute_agreement(s, p, ["ana", "ben"], member=lead, unit="turn", n_boot=50)
        turn = compute_agreement(s, p, ["ana", "ben"], member=lead, unit="turn", min_share=0.5, ci=False)
        seg = compute_agreement(s, p, ["ana", "ben"], member=lead, unit="segment")
    overall = rep.rows[-1]
    sentence = method_sentence(rep)
    assert "2 coders (ana and ben)" in sentence and f"over {len(rep.options['documents'])} documents" in sentence
    assert "each speaker turn was a unit" in sentence and "Cohen's kappa and Krippendorff's alpha" in sentence
    assert f"n = {overall.n_units:,}, of which {overall.n_coded:,} coded" in sentence
    assert f"Krippendorff's alpha {overall.alpha:.2f} [95% CI {overall.alpha_ci[0]:.2f}, " in sentence
    assert "50 resamples" in sentence and f"Codebook version {rep.codebook_version}." in sentence
    assert "covered at least 50% of it" in method_sentence(turn) and "confidence" not in method_sentence(turn)
    assert "segment matching" in method_sentence(seg) and "kappa" not in method_sentence(seg)

    d = docx.Document(io.BytesIO(agreement_docx(rep, "demo", when=WHEN)))
    texts = [par.text for par in d.paragraphs]
    assert texts[1] == (f"Project demo; unit turn; coders ana, ben; codebook version {rep.codebook_version}; "
                        "computed 2025-03-01")
    assert sentence in texts
    [table] = d.tables
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0][:2] == ["Code", "n (speaker turns)"] and len(rows) == len(rep.rows) + 1
    assert [r[0] for r in rows[1:]] == [r.code for r in rep.rows]
    assert rows[-1][1] == f"{overall.n_units:,}" and rows[-1][-1] == overall.verdict

    out = tmp_path / "agreement.docx"
    assert cli(["--db", _url(demo_store), "--as", "lead", "agreement", "demo", "--coders", "ana", "ben",
                "--unit", "turn", "--no-ci", "--docx", str(out)]) == 0
    cli_texts = [par.text for par in docx.Document(str(out)).paragraphs]
    assert any(t.startswith("Agreement between 2 coders (ana and ben)") for t in cli_texts)
    assert cli(["--db", _url(demo_store), "--as", "lead", "agreement", "demo", "--coders", "ana", "ben",
                "--unit", "turn", "--no-ci", "--docx", str(tmp_path / "no" / "such" / "dir.docx")]) == 1
