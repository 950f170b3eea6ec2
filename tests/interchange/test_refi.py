"""REFI-QDA exchange (issue 11): real files from ../shared/refi, round trips, schema
validity of our exports, positions by origin, hostile files. Real SQLite/PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
import zipfile

import pytest
from tests.conftest import PG_URL, REPO
from sqlalchemy import func, select, text

from coding.codebook.tree import code_tree
from coding.work.codings import apply_codes, undo_last
from coding.work.documents import get_document, store_document
from coding.errors import InputFileError, PermissionDeniedError
from coding.interchange import (
    RefiError,
    export_qdc,
    export_qdpx,
    import_qdc,
    import_qdpx,
)
from coding.interchange.schema import parse_xml, validate
from coding.work.memos import add_journal_entry, save_document_memo
from coding.text.offsets import RefiPositions
from coding.team.projects import create_project, get_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import (
    Attribute,
    Code,
    Coder,
    Coding,
    Document,
    Event,
    Memo,
    Set,
    SetMember,
)

REFI = REPO.parent / "shared" / "refi"
# The sample files of other tools stay outside the repository; the schemas ship in the package.
needs_refi = pytest.mark.skipif(not (REFI / "qc-1.3.2_demo.qdpx").is_file(),
                                reason="../shared/refi (sample files of other tools) is not beside the repo")
NS = "urn:QDA-XML:project:1.0"


# --- helpers -------------------------------------------------------------------------

def _new_project(s, name="imp", lead="boss"):
    p = create_project(s, name, lead_name=lead, local_mode=True)
    return p, Member.of(get_member(s, p, lead))


def _counts(store) -> dict[str, int]:
    with store.session(write=False) as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Code, Coder, Document, Coding, Memo, Attribute)}


def _qdpx(project_xml: str, sources: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", project_xml)
        for n, d in (sources or {}).items():
            z.writestr(f"sources/{n}", d)
        for n, d in (extra or {}).items():
            z.writestr(n, d)
    return buf.getvalue()


G = {k: str(uuid.uuid5(uuid.NAMESPACE_DNS, k)) for k in
     ("user", "code", "code2", "src", *(f"sel{i}" for i in range(1, 11)), *(f"c{i}" for i in range(1, 11)))}


def _project_xml(origin: str, selections: list[tuple[int, int]], *, code_ref: str | None = None,
                 dup: bool = False) -> str:
    sels = "".join(
        f'<PlainTextSelection guid="{G[f"sel{i + 1}"]}" startPosition="{a}" endPosition="{b}">'
        f'<Coding guid="{G[f"c{i + 1}"]}" creatingUser="{G["user"]}"><CodeRef targetGUID="{code_ref or G["code"]}"/>'
        f'</Coding></PlainTextSelection>' for i, (a, b) in enumerate(selections))
    code2 = G["code"] if dup else G["code2"]
    return (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="hand" origin="{origin}">'
            f'<Users><User guid="{G["user"]}" name="rita"/></Users>'
            f'<CodeBook><Codes><Code guid="{G["code"]}" name="Quote" isCodable="true" color="#ff0000"/>'
            f'<Code guid="{code2}" name="Other" isCodable="true"/></Codes></CodeBook>'
            f'<Sources><TextSource guid="{G["src"]}" name="talk" plainTextPath="internal://{G["src"]}.txt">'
            f'{sels}</TextSource></Sources></Project>')


def _coded_texts(store, project="imp") -> list[str]:
    with store.session(write=False) as s:
        p = get_project(s, project)
        rows = s.execute(select(Document.text, Coding.start, Coding.end).join(Coding, Coding.document_id == Document.id)
                         .where(Document.project_id == p.id).order_by(Coding.start)).all()
    return [t[a:b] for t, a, b in rows]


@pytest.fixture
def other_store(_template, tmp_path):
    """A second, empty database (the round trip imports into one with no GUID taken)."""
    kind, admin, tmpl = _template
    if kind == "pg":
        name = f"coding_t_{uuid.uuid4().hex[:10]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"'))
        st = Store(PG_URL.rsplit("/", 1)[0] + "/" + name, run_migrations=False)
        yield st
        st.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path / "other.db"
        shutil.copy(tmpl, path)
        st = Store(f"sqlite:///{path}", run_migrations=False)
        yield st
        st.dispose()


# --- real files ---------------------------------------------------------------------

@needs_refi
def test_qc_project_imports_with_exact_line_positions(store):
    data = (REFI / "qc-1.3.2_demo.qdpx").read_bytes()
    with store.session() as s:
        p, lead = _new_project(s)
        rep = import_qdpx(s, p, lead, data, "qc-1.3.2_demo.qdpx")
    assert rep.convention == "standard" and rep.problems == []
    assert rep.codes_created == 262 and rep.members_created == ["cp"]
    assert sorted(rep.documents) == ["admin-1", "board_2017"]
    assert rep.codings_by_coder == {"cp": 205} and rep.selections == 158 and rep.inside_word == 0
    z = zipfile.ZipFile(io.BytesIO(data))
    sels = re.findall(r'<TextSource plainTextPath="([^"]+)"|name="line:(\d+)" startPosition="(\d+)" endPosition="(\d+)"',
                      z.read("project.qde").decode())
    with store.session(write=False) as s:
        p = get_project(s, "imp")
        assert s.scalar(select(func.count()).select_from(Coding).where(Coding.project_id == p.id)) == 205
        docs = {}
        for name in ("admin-1", "board_2017"):
            d = get_document(s, p, name)
            assert d.text == z.read(f"sources/{name}.txt").decode("utf-8")
            docs[f"{name}.txt"] = d
        coded = {(c.document_id, c.start, c.end) for c in s.scalars(select(Coding).where(Coding.project_id == p.id))}
        cp = get_member(s, p, "cp")
        assert {c.coder_id for c in s.scalars(select(Coding).where(Coding.project_id == p.id))} == {cp.id}
        assert str(uuid.UUID(cp.id)) == "39633935-3331-3962-6632-373436373264"  # the file's GUID kept
    # qc names each selection after the line it codes: every one lands exactly on that line's start
    doc = None
    checked = 0
    for path, line, start, end in sels:
        if path:
            doc = docs[path]
            continue
        start, end = int(start), int(end)
        assert (doc.id, start, end) in coded
        assert doc.text[:start].count("\n") == int(line) and (start == 0 or doc.text[start - 1] == "\n")
        checked += 1
    assert checked == 158
    assert "This district goal is engage every student in joyful" in _coded_texts(store)[0]


@needs_refi
def test_nvivo_mac_codebook_only_project(store):
    with store.session() as s:
        p, lead = _new_project(s)
        rep = import_qdpx(s, p, lead, (REFI / "nvivo-mac-15_codebook-only.qdpx").read_bytes(), "nvivo.qdpx")
        assert rep.convention == "nvivo"
        assert sorted(rep.members_created) == ["chrisp", "cp"] and rep.codes_created == 262
        assert rep.documents == [] and rep.skipped == {"empty text sources": 2}
        tree = code_tree(s, p)
        assert "rq1_definition/competencies/programming" in tree.by_path
        assert tree.by_path["rq1_definition/competencies/programming"].depth == 2
        assert str(uuid.UUID(tree.by_path["rq1_definition"].id)) == "34653336-3766-3235-6466-363134396437"


@needs_refi
def test_atlasti_codebook_merges_by_guid_then_path(store):
    data = (REFI / "atlasti-win-23.4_codebook.qdc").read_bytes()
    with store.session() as s:
        p, lead = _new_project(s)
        rep = import_qdc(s, p, lead, data, "atlas.qdc")
        assert rep.codes_created == 1 and rep.skipped == {}
        assert (rep.sets_created, rep.set_members) == (1, 1)
        info = code_tree(s, p).by_path["code1"]
        assert (info.colour, info.definition, info.codable) == ("#46aa00", "description", True)
        assert info.id == "1ff58b12-6f6f-4b0c-8be5-bbdc91f55294"
        again = import_qdc(s, p, lead, data, "atlas.qdc")
        assert (again.codes_created, again.codes_updated) == (0, 1)
        assert (again.sets_created, again.sets_updated, again.set_members) == (0, 1, 0)
        qdc = export_qdc(s, p, lead)
    with store.session(write=False) as s:
        (group,) = s.scalars(select(Set)).all()
        assert (group.id, group.name, group.description) == ("eca18d76-2b8b-4f26-bc1d-19eca19fb3f0", "code group 1",
                                                             "kategorie 1")
        assert [(m.code_id, m.document_id) for m in s.scalars(select(SetMember))] == [(info.id, None)]
    # the code group goes back out in the codebook, as ATLAS.ti writes it
    assert re.search(rb'<Set guid="eca18d76-[^"]+" name="code group 1"><Description>kategorie 1</Description>'
                     rb'<MemberCode guid="1ff58b12-6f6f-4b0c-8be5-bbdc91f55294" /></Set>', qdc)
    assert validate(parse_xml(qdc, "x"), "Codebook.xsd") == []


# --- round trip and schema ------------------------------------------------------------

def _normalised(qdpx: bytes, drop_user: str | None = None) -> dict[str, bytes]:
    """The archive's members, without timestamps and the project's name; ``drop_user``: a
    member of the copy who is not in the original (every member is a user of the file)."""
    z = zipfile.ZipFile(io.BytesIO(qdpx))
    out = {}
    for n in z.namelist():
        d = z.read(n)
        if n == "project.qde":
            d = re.sub(rb' (creation|modified)DateTime="[^"]*"', b"", d)
            d = re.sub(rb'<Project ([^>]*)name="[^"]*"', rb'<Project \1name="P"', d)
            if drop_user:
                d, n_users = re.subn(rb'<User guid="[^"]+" name="' + drop_user.encode() + rb'" />', b"", d)
                assert n_users == 1
        out[n] = d
    return out


def _enrich_demo(s):
    """A consensus coding, a document memo and a journal entry beside the demo's codings."""
    p = get_project(s, "demo")
    lead = Member.of(get_member(s, p, "lead"))
    ana = Member.of(get_member(s, p, "ana"))
    doc = s.scalars(select(Document).where(Document.project_id == p.id).order_by(Document.name)).first()
    code = next(i for i in code_tree(s, p).infos if i.codable)
    apply_codes(s, p, lead, doc, [code.id], 0, 40, layer="consensus")
    save_document_memo(s, p, ana, doc, "Ana's memo 😀\non two lines")
    add_journal_entry(s, p, lead, "Decision", "We merge the two codes.")
    # sets: two documents and a code; codes only (with a description); empty
    docs = list(s.scalars(select(Document).where(Document.project_id == p.id).order_by(Document.name)))
    codes = [i.id for i in code_tree(s, p).infos if i.codable]
    for name, desc, members in (("Principals", "", [(docs[2].id, None), (docs[0].id, None), (None, codes[3])]),
                                ("Support codes", "Codes about\nsupport", [(None, codes[1]), (None, codes[0])]),
                                ("Empty", "", [])):
        st = Set(project_id=p.id, name=name, description=desc)
        s.add(st)
        s.flush()
        s.add_all(SetMember(set_id=st.id, document_id=d, code_id=c) for d, c in members)
    s.flush()
    return p, lead


def _snapshot(s, project_name):
    p = get_project(s, project_name)
    tree = code_tree(s, p)
    names = {c.id: c.name for c in s.scalars(select(Coder).where(Coder.project_id == p.id))}
    docs = {d.id: d for d in s.scalars(select(Document).where(Document.project_id == p.id))}
    return {
        "docs": sorted((d.name, d.sha256) for d in docs.values()),
        "codes": [(i.path, i.codable, i.colour, i.definition, i.inclusion, i.exclusion, i.example)
                  for i in tree.infos],
        "codings": sorted((docs[c.document_id].name, names[c.coder_id], c.layer, tree.info[c.code_id].path,
                           c.start, c.end, c.memo)
                          for c in s.scalars(select(Coding).where(Coding.project_id == p.id))),
        "memos": sorted((docs[m.document_id].name if m.document_id else "", names.get(m.author_id, ""), m.text)
                        for m in s.scalars(select(Memo).where(Memo.project_id == p.id))),
        "attributes": sorted((docs[a.document_id].name, a.name, a.value)
                             for a in s.scalars(select(Attribute).where(Attribute.document_id.in_(list(docs))))),
        "sets": sorted((st.name, st.description,
                        sorted(docs[m.document_id].name if m.document_id else tree.info[m.code_id].path
                               for m in s.scalars(select(SetMember).where(SetMember.set_id == st.id))))
                       for st in s.scalars(select(Set).where(Set.project_id == p.id))),
    }


@pytest.mark.parametrize("tool", [None, "nvivo"])
def test_round_trip_is_identical_apart_from_timestamps(demo_store, other_store, tool):
    with demo_store.session() as s:
        p, lead = _enrich_demo(s)
        first = export_qdpx(s, p, lead, for_tool=tool)
        before = _snapshot(s, "demo")
    with other_store.session() as s:
        p2, boss = _new_project(s, "copy", lead="importer")
        rep = import_qdpx(s, p2, boss, first, "demo.qdpx")
        assert rep.problems == [] and rep.consensus_codings == 1 and rep.journal_entries == 1
        assert (rep.sets_created, rep.set_members) == (3, 5)
        second = export_qdpx(s, p2, boss, for_tool=tool)
        after = _snapshot(s, "copy")
    assert _normalised(first) == _normalised(second, drop_user="importer")
    # the same data, apart from who owns the consensus layer (the lead becomes a member of the copy)
    assert after["docs"] == before["docs"] and after["codes"] == before["codes"]
    assert after["codings"] == before["codings"] and after["attributes"] == before["attributes"]
    assert after["sets"] == before["sets"] and len(before["sets"]) == 3
    assert b"<Sets>" in _normalised(first)["project.qde"]
    assert [m[::2] for m in after["memos"]] == [m[::2] for m in before["memos"]]
    assert len(before["codings"]) > 300 and len(before["attributes"]) == 48


def test_exports_validate_against_the_schemas(demo_store):
    with demo_store.session() as s:
        p, lead = _enrich_demo(s)
        for tool in (None, "nvivo", "atlasti", "maxqda"):
            for layer in ("project", "coders", "consensus", "coder:ana"):
                z = zipfile.ZipFile(io.BytesIO(export_qdpx(s, p, lead, layer=layer, for_tool=tool)))
                assert validate(parse_xml(z.read("project.qde"), "x"), "Project-mrt2019.xsd") == []
        assert validate(parse_xml(export_qdc(s, p, lead), "x"), "Codebook.xsd") == []
        one = zipfile.ZipFile(io.BytesIO(export_qdpx(s, p, lead, layer="coder:ana"))).read("project.qde").decode()
        ana = get_member(s, p, "ana").id
        users = set(re.findall(r'creatingUser="([^"]+)"', one))
        assert users == {ana}


# --- sets and notes on codes ------------------------------------------------------------

NOTE = str(uuid.uuid5(uuid.NAMESPACE_DNS, "note"))
SET = str(uuid.uuid5(uuid.NAMESPACE_DNS, "set"))


def _with_sets_and_code_note(member_source: str = G["src"]) -> str:
    xml = _project_xml("QualCoder", [(0, 2)]).replace(
        f'<Code guid="{G["code"]}" name="Quote" isCodable="true" color="#ff0000"/>',
        f'<Code guid="{G["code"]}" name="Quote" isCodable="true" color="#ff0000"><Description>Said aloud.'
        f'</Description><NoteRef targetGUID="{NOTE}"/></Code>')
    return xml.replace("</Project>", (
        f'<Notes><Note guid="{NOTE}" name="on Quote"><PlainTextContent>Check with Rita.\r\nTwo lines.'
        f'</PlainTextContent></Note></Notes>'
        f'<Sets><Set guid="{SET}" name="Talks"><Description>first wave</Description>'
        f'<MemberCode targetGUID="{G["code2"]}"/><MemberSource targetGUID="{member_source}"/>'
        f'<MemberNote targetGUID="{NOTE}"/></Set></Sets></Project>'))


def test_sets_and_notes_on_codes_are_stored_and_reported(store):
    """A set of a source and a code is stored with the file's GUID; its note member is
    reported as skipped. A code's note has no memo to go to (memos belong to documents or
    the journal): it is appended to the definition under a line, and the report says so."""
    data = _qdpx(_with_sets_and_code_note(), SRC)
    with store.session() as s:
        p, lead = _new_project(s)
        rep = import_qdpx(s, p, lead, data, "sets.qdpx")
        assert rep.problems == [] and (rep.sets_created, rep.set_members, rep.code_notes) == (1, 2, 1)
        assert rep.skipped == {"set members: notes": 1} and rep.journal_entries == 0
        assert any("Note (imported):" in w and "Quote" in w for w in rep.warnings)
        assert ("notes on codes: 1, appended to their code's definition under a line 'Note (imported):' "
                "(the workbench keeps no memos on codes)") in rep.lines()
        assert "sets: 1 new, 0 updated (2 members)" in rep.lines()
        tree = code_tree(s, p)
    with store.session(write=False) as s:
        assert s.get(Code, G["code"]).definition == "Said aloud.\n\nNote (imported):\nCheck with Rita.\nTwo lines."
        st = s.get(Set, SET)
        assert (st.name, st.description, st.project_id) == ("Talks", "first wave", p.id)
        assert {(m.document_id, m.code_id) for m in s.scalars(select(SetMember).where(SetMember.set_id == SET))
                } == {(G["src"], None), (None, tree.by_path["Other"].id)}
        assert s.scalar(select(func.count()).select_from(Memo)) == 0
        pay = json.loads(s.scalars(select(Event.payload).where(Event.action == "interchange.import")).one())
        assert pay["sets"] == {"created": 1, "updated": 0, "members": 2} and pay["code_notes"] == 1


def test_a_set_naming_an_unknown_source_is_refused(store):
    data = _qdpx(_with_sets_and_code_note(member_source=str(uuid.uuid4())), SRC)
    with store.session() as s:
        _new_project(s)
    before = _counts(store)
    with pytest.raises(RefiError, match=r"Sets\[1\]/Set\[1\]: MemberSource .* names no source"), store.session() as s:
        p = get_project(s, "imp")
        import_qdpx(s, p, get_member(s, p, "boss"), data, "bad.qdpx")
    assert _counts(store) == before
    with store.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Set)) == 0


# --- positions by origin --------------------------------------------------------------

RAW = "Hi 😀 there\r\nSecond 🎉 line\r\nends here\r\n"


@pytest.mark.parametrize("origin, utf16, crlf2", [
    ("NVivo 12.6 (Windows)", True, True),
    ("ATLAS.ti Win 23.4.0", False, False),
    ("MAXQDA 2022", False, True),
    ("QualCoder 3.5", False, True),
])
def test_positions_by_origin_land_on_the_words(store, origin, utf16, crlf2):
    def pos(i: int) -> int:  # the tool's count of RAW[:i]
        head = RAW[:i]
        n = len(head) + (sum(ord(c) > 0xFFFF for c in head) if utf16 else 0)
        return n - (0 if crlf2 else head.count("\r\n"))

    words = ["there", "Second", "ends"]
    spans = [(pos(RAW.index(w)), pos(RAW.index(w) + len(w))) for w in words]
    xml = _project_xml(origin, spans)
    with store.session() as s:
        p, lead = _new_project(s)
        rep = import_qdpx(s, p, lead, _qdpx(xml, {f"{G['src']}.txt": RAW.encode("utf-8")}), "hand.qdpx")
        assert rep.inside_word == 0 and rep.snapped == 0
    assert _coded_texts(store) == words
    with store.session(write=False) as s:
        assert get_document(s, get_project(s, "imp"), "talk").text == RAW.replace("\r\n", "\n")


def test_nvivo_export_writes_utf16_positions_and_crlf(store):
    with store.session() as s:
        p, lead = _new_project(s)
        import_qdpx(s, p, lead, _qdpx(_project_xml("NVivo 12", [(13, 19)]),
                                      {f"{G['src']}.txt": RAW.encode("utf-8")}), "hand.qdpx")
        z = zipfile.ZipFile(io.BytesIO(export_qdpx(s, p, lead, for_tool="nvivo")))
    written = z.read(f"sources/{G['src']}.txt").decode("utf-8")
    assert written == RAW
    a, b = map(int, re.search(r'startPosition="(\d+)" endPosition="(\d+)"', z.read("project.qde").decode()).groups())
    assert (a, b) == (13, 19)  # "Hi 😀 there\r\n" is 13 UTF-16 units with CRLF as two
    assert written.encode("utf-16-le")[2 * a:2 * b].decode("utf-16-le") == "Second"
    assert RefiPositions(written, "nvivo").to_stored(a, b)[:2] == (11, 17)


def test_misread_positions_are_refused_with_the_likely_convention(store):
    raw = "".join(f"😀😀😀 word{i} and more\r\n" for i in range(10))
    utf16 = [(len(raw[:raw.index(f"word{i}")].encode("utf-16-le")) // 2,
              len(raw[:raw.index(f"word{i}") + 5].encode("utf-16-le")) // 2) for i in range(10)]
    data = _qdpx(_project_xml("SomeTool 1.0", utf16[:6]), {f"{G['src']}.txt": raw.encode("utf-8")})
    before = _counts(store)
    with store.session() as s:
        p, lead = _new_project(s)
        with pytest.raises(RefiError, match="inside a word.*positions=nvivo"):
            import_qdpx(s, p, lead, data, "x.qdpx")
    with store.session() as s:
        rep = import_qdpx(s, get_project(s, "imp"), get_member(s, get_project(s, "imp"), "boss"), data, "x.qdpx",
                          positions="nvivo")
        assert rep.inside_word == 0
    assert _counts(store)["Coding"] == before["Coding"] + 6


# --- hostile and malformed files ---------------------------------------------------------

BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        f'<Project xmlns="{NS}" name="&lol2;"/>')
XXE = f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Project xmlns="{NS}" name="&x;"/>'
GOOD = _project_xml("QualCoder", [(0, 2)])
SRC = {f"{G['src']}.txt": b"Hi there"}


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", GOOD)
        z.writestr(f"sources/{G['src']}.txt", b"Hi there" + b" " * (30 * 1024 * 1024))
    return buf.getvalue()


@pytest.mark.parametrize("data, message", [
    (b"not a zip at all", "is not a REFI-QDA project"),
    (_qdpx("", extra={"other.txt": b"x"})[:0] + _qdpx(GOOD).replace(b"project.qde", b"project.xyz"),
     "has no project.qde"),
    (_qdpx(BOMB), "DTD or entities"),
    (_qdpx(XXE), "DTD or entities"),
    (_qdpx(GOOD, SRC, {"../evil.txt": b"x"}), "climbs out of the archive"),
    (_qdpx(GOOD, SRC, {"/etc/evil": b"x"}), "is an absolute path"),
    (_bomb(), "zip bomb"),
    (_qdpx(GOOD), "is not in the archive"),
    (_qdpx(_project_xml("QualCoder", [(0, 99)]), SRC), "does not fit its source"),
    (_qdpx(_project_xml("QualCoder", [(0, 2)], code_ref=str(uuid.uuid4())), SRC), "names no code"),
    (_qdpx(_project_xml("QualCoder", [(0, 2)], dup=True), SRC), "is used twice"),
    (_qdpx(GOOD.replace('startPosition="0"', 'startPosition="zero"'), SRC), "schema: .*startPosition"),
])
def test_hostile_and_broken_files_are_refused_and_nothing_is_stored(store, data, message):
    with store.session() as s:
        _new_project(s)
    before = _counts(store)
    with pytest.raises(RefiError, match=message) as err, store.session() as s:
        p = get_project(s, "imp")
        import_qdpx(s, p, get_member(s, p, "boss"), data, "bad.qdpx")
    assert "\n" not in str(err.value).split(":")[0]
    assert _counts(store) == before


def test_lenient_imports_what_is_valid_and_reports_the_rest(store):
    data = _qdpx(_project_xml("QualCoder", [(0, 2), (3, 99)]), SRC)
    with store.session() as s:
        p, lead = _new_project(s)
        rep = import_qdpx(s, p, lead, data, "half.qdpx", lenient=True)
    assert rep.codings_by_coder == {"rita": 1}
    assert any("PlainTextSelection[2]" in x and "does not fit" in x for x in rep.problems)
    assert _coded_texts(store) == ["Hi"]


def test_a_coder_cannot_import(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        with pytest.raises(PermissionDeniedError):
            import_qdpx(s, p, get_member(s, p, "ana"), _qdpx(GOOD, SRC), "x.qdpx")


def test_dry_run_stores_nothing(store):
    with store.session() as s:
        _new_project(s)
    before = _counts(store)
    with store.session() as s:
        p = get_project(s, "imp")
        rep = import_qdpx(s, p, get_member(s, p, "boss"), _qdpx(GOOD, SRC), "x.qdpx", dry_run=True)
        assert rep.codings_by_coder == {"rita": 1} and rep.dry_run
    assert _counts(store) == before


def test_one_import_event_and_imported_codings_are_not_undone(store):
    """Each import logs one interchange.import (what came in, from where); the lead's undo
    reverts the lead's own last coding, never the codings of an import."""
    with store.session() as s:
        p, lead = _new_project(s)
        doc = store_document(s, p, "own", "own.txt", b"The lead codes this first.", actor=lead)
        code = import_qdc(s, p, lead, _qdc_one_code(), "one.qdc")  # a code to apply
        own_code = code_tree(s, p).by_path["Solo"].id
        apply_codes(s, p, lead, doc, [own_code], 4, 8)
        rep = import_qdpx(s, p, lead, _qdpx(_project_xml("QualCoder", [(0, 2), (3, 8)]), SRC), "two.qdpx")
        assert rep.codings_by_coder == {"rita": 2} and code.codes_created == 1
    with store.session(write=False) as s:
        p = get_project(s, "imp")
        evs = list(s.scalars(select(Event).where(Event.project_id == p.id, Event.action == "interchange.import")
                             .order_by(Event.seq)))
        assert [json.loads(e.payload)["file"] for e in evs] == ["one.qdc", "two.qdpx"]
        pay = json.loads(evs[1].payload)
        assert (pay["origin"], pay["positions"], pay["documents"], pay["codings"], pay["coders"]) == (
            "QualCoder", "standard", ["talk"], {"rita": 2}, ["rita"])
        assert evs[1].actor_id == get_member(s, p, "boss").id
    with store.session() as s:
        p = get_project(s, "imp")
        boss = get_member(s, p, "boss")
        assert undo_last(s, p, boss) == "coding.add"  # the lead's own coding, made before the import
        assert undo_last(s, p, boss) is None  # nothing of the import is undoable
    assert _coded_texts(store) == ["Hi", "there"]


def _qdc_one_code() -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="hand">'
            f'<Codes><Code guid="{uuid.uuid4()}" name="Solo" isCodable="true"/></Codes></CodeBook>').encode()


def test_store_document_keeps_a_given_id_and_refuses_a_taken_one(store):
    given = str(uuid.uuid4())
    with store.session() as s:
        p, lead = _new_project(s)
        assert store_document(s, p, "a", "a.txt", b"Alpha", actor=lead, document_id=given).id == given
        with pytest.raises(InputFileError, match="already taken"):
            store_document(s, p, "b", "b.txt", b"Beta", actor=lead, document_id=given)
    with store.session(write=False) as s:
        assert [d.name for d in s.scalars(select(Document))] == ["a"]


def test_a_source_with_a_bad_file_name_is_reported_not_stored(store):
    """Documents go through store_document: its checks (here a control character in the
    file name) refuse that source, and with it the file, naming the element."""
    xml = _project_xml("QualCoder", [(0, 2)]).replace(f'internal://{G["src"]}.txt', "internal://bad&#9;name.txt")
    with store.session() as s:
        p, lead = _new_project(s)
        with pytest.raises(RefiError, match="TextSource.*control characters"):
            import_qdpx(s, p, lead, _qdpx(xml, {"bad\tname.txt": b"Hi there"}), "ctl.qdpx")
    with store.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0


def test_cli_imports_and_exports(tmp_path, db_url, capsys):
    from coding.cli.main import main

    f = tmp_path / "hand.qdpx"
    f.write_bytes(_qdpx(_project_xml("NVivo 12", [(13, 19)]), {f"{G['src']}.txt": RAW.encode("utf-8")}))
    assert main(["--db", db_url, "--as", "boss", "refi", "import", str(f), "--local"]) == 0
    assert "codings: rita 1" in capsys.readouterr().out
    out = tmp_path / "out.qdpx"
    assert main(["--db", db_url, "--as", "boss", "refi", "export", "hand", str(out), "--for", "atlasti"]) == 0
    assert zipfile.ZipFile(out).read(f"sources/{G['src']}.txt").decode() == RAW
    assert main(["--db", db_url, "--as", "boss", "refi", "codebook-export", "hand", str(tmp_path / "c.qdc")]) == 0
    assert main(["--db", db_url, "--as", "boss", "refi", "import", str(tmp_path / "nope.qdpx")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert validate(parse_xml((tmp_path / "c.qdc").read_bytes(), "c"), "Codebook.xsd") == []


@pytest.mark.parametrize("who", ["lead", "ana"])
def test_exchange_page_renders_for_lead_and_coder(app_for, who):
    at = app_for("app_pages/interchange_page.py", who)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Exchange (REFI-QDA)"]
    assert ("Only a lead imports" in " ".join(i.value for i in at.info)) == (who == "ana")


def test_exchange_page_builds_exports_only_when_asked(app_for):
    at = app_for("app_pages/interchange_page.py", "lead")
    at.run()
    assert not at.exception and at.get("download_button") == []
    at.button(key="exchange_build").click().run()
    assert not at.exception
    assert len(at.get("download_button")) == 2  # the project and the codebook
    at.selectbox(key="exchange_tool").select("NVivo").run()
    assert at.get("download_button") == [] and "prepare them again" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("both", [True, False])
def test_a_set_member_is_exactly_one_document_or_one_code(store, both):
    """The database refuses a set member naming both a document and a code, or neither."""
    from coding.errors import CodingError

    with store.session() as s:
        p, lead = _new_project(s)
        doc = store_document(s, p, "a", "a.txt", b"Alpha", actor=lead)
        import_qdc(s, p, lead, _qdc_one_code(), "one.qdc")
        st = Set(project_id=p.id, name="S")
        s.add(st)
        code_id = code_tree(s, p).by_path["Solo"].id
    with pytest.raises(CodingError), store.session() as s:
        s.add(SetMember(set_id=st.id, document_id=doc.id if both else None, code_id=code_id if both else None))
        s.flush()
    with store.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(SetMember)) == 0
