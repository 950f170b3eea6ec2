"""Hostile and odd files: each made here, imported for real, and judged by what the
database holds afterwards. A bad file is refused by name, with what to do, and
never costs the others; a lossy reading is stored *and* reported; nothing hangs.
Runs on SQLite and, with CODING_TEST_DB, on PostgreSQL.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import stat
import tempfile
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from sqlalchemy import event, func, select

from coding.work.documents import (
    delete_document,
    import_files,
    import_files_committing,
    import_uploads,
    import_uploads_committing,
)
from coding.importing import limits
from coding.team.projects import create_project, get_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import Document, Event, SpeakerTurn

# Every file made here carries this word; it must never show up in a message.
SECRET = "Zanzibarquartz"
GOOD = f"Interviewer: How do the teams work?\nPrincipal: They meet weekly, {SECRET}.\n"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (f'xmlns:w="{W}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
      'xmlns:v="urn:schemas-microsoft-com:vml"')
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
CT = "application/vnd.openxmlformats-officedocument.wordprocessingml."


@pytest.fixture
def project(store):
    with store.session() as s:
        p = create_project(s, "study", lead_name="lead", local_mode=True)
        return p.name


def lead(store) -> Member:
    """The project's lead, the acting member of every import here."""
    with store.session() as s:
        return Member.of(get_member(s, get_project(s, "study"), "lead"))


def documents(store) -> dict[str, Document]:
    with store.session() as s:
        return {d.name: d for d in s.scalars(select(Document))}


def import_events(store) -> dict[str, dict]:
    with store.session() as s:
        return {json.loads(e.payload)["name"]: json.loads(e.payload)
                for e in s.scalars(select(Event).where(Event.action == "document.import"))}


def failure(report, name: str) -> str:
    """The one failure message naming ``name``; checks it is one clean line."""
    found = [m for m in report.failed if name in m]
    assert len(found) == 1, (name, report.failed)
    message = found[0]
    assert "\n" not in message and SECRET not in message and "Traceback" not in message
    return message


# --- builders ---------------------------------------------------------------------------

def docx_bytes(*paragraphs: str) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def rezip(data: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          rename: dict[str, str] | None = None, level: int = 6) -> bytes:
    """A copy of a zip with members replaced, added or renamed (XML text edited as bytes)."""
    replace, add, rename = replace or {}, add or {}, rename or {}
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for info in src.infolist():
            content = replace.get(info.filename, src.read(info))
            z.writestr(rename.get(info.filename, info.filename), content)
        for name, content in add.items():
            z.writestr(name, content)
    return out.getvalue()


def with_part(data: bytes, partname: str, xml: str, rel: str, content_type: str, rid: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    rels = src.read("word/_rels/document.xml.rels").replace(
        b"</Relationships>",
        f'<Relationship Id="{rid}" Type="{REL}{rel}" Target="{partname.split("/", 1)[1]}"/></Relationships>'.encode())
    types = src.read("[Content_Types].xml").replace(
        b"</Types>", f'<Override PartName="/{partname}" ContentType="{CT}{content_type}"/></Types>'.encode())
    return rezip(data, replace={"word/_rels/document.xml.rels": rels, "[Content_Types].xml": types},
                 add={partname: xml.encode()})


def bomb_with_renamed_main_part(uncompressed: int) -> bytes:
    """A .docx whose main part is ``word/content.bin`` (not .xml) and expands to
    ``uncompressed`` bytes of valid WordprocessingML."""
    base = docx_bytes("Interviewer: hi")
    src = zipfile.ZipFile(io.BytesIO(base))
    rels = src.read("_rels/.rels").replace(b"word/document.xml", b"word/content.bin")
    types = src.read("[Content_Types].xml").replace(b"/word/document.xml", b"/word/content.bin")
    head = f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>'.encode()
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in src.infolist():
            if info.filename == "word/document.xml":
                continue
            z.writestr(info.filename, {"_rels/.rels": rels, "[Content_Types].xml": types}.get(
                info.filename, src.read(info)))
        with z.open("word/content.bin", "w", force_zip64=True) as fh:
            fh.write(head)
            block = b"A" * (1 << 20)
            left = uncompressed - len(head) - len(tail)
            while left > 0:
                fh.write(block[:left])
                left -= len(block)
            fh.write(tail)
    return out.getvalue()


def features_docx() -> bytes:
    """A .docx with a footnote, a text box (choice + fallback), right-to-left runs,
    block, row and run content controls, a customXml block, a header and a comment."""
    d = docx.Document()
    body = d.element.body
    p = d.add_paragraph("Interviewer: Where do the teams meet")
    p._p.append(parse_xml(f'<w:r {NS}><w:footnoteReference w:id="1"/></w:r>'))
    p.add_run("?")
    box = (f"<w:txbxContent><w:p><w:r><w:t>TEXTBOX {SECRET} schedule</w:t></w:r></w:p></w:txbxContent>")
    p2 = d.add_paragraph("Principal: In the library.")
    p2._p.append(parse_xml(
        f'<w:r {NS}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic>'
        f'<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp>'
        f'<wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))
    p3 = d.add_paragraph("Teacher: ")
    p3._p.append(parse_xml(f'<w:dir {NS} w:val="rtl"><w:r><w:t>مرحبا بالمعلمين</w:t></w:r></w:dir>'))
    p3._p.append(parse_xml(f'<w:bdo {NS} w:val="rtl"><w:r><w:t> שלום</w:t></w:r></w:bdo>'))
    p4 = d.add_paragraph("Teacher: we ")
    p4._p.append(parse_xml(f'<w:sdt {NS}><w:sdtContent><w:r><w:t>RUNSDT plan</w:t></w:r></w:sdtContent></w:sdt>'))
    sect = body[-1]
    sect.addprevious(parse_xml(f'<w:sdt {NS}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Teacher: BLOCKSDT together'
                               '</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    sect.addprevious(parse_xml(f'<w:customXml {NS} w:element="answer"><w:p><w:r><w:t>Principal: CUSTOMXML '
                               'results improved</w:t></w:r></w:p></w:customXml>'))
    table = d.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "CELL first"
    table._tbl.tr_lst[0].addnext(parse_xml(
        f'<w:sdt {NS}><w:sdtContent><w:tr><w:tc><w:p><w:r><w:t>ROWSDT cell</w:t></w:r></w:p></w:tc></w:tr>'
        '</w:sdtContent></w:sdt>'))
    d.add_paragraph("Interviewer: Thanks.")
    d.sections[0].header.paragraphs[0].text = "HEADER Interview 7, confidential"
    buf = io.BytesIO()
    d.save(buf)
    data = with_part(buf.getvalue(), "word/footnotes.xml",
                     f'<w:footnotes {NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/>'
                     '</w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r><w:r>'
                     '<w:t xml:space="preserve"> FOOTNOTE the school library, room 4</w:t></w:r></w:p></w:footnote>'
                     '</w:footnotes>', "footnotes", "footnotes+xml", "rIdFn")
    return with_part(data, "word/comments.xml",
                     f'<w:comments {NS}><w:comment w:id="0" w:author="A"><w:p><w:r><w:t>COMMENT check this'
                     '</w:t></w:r></w:p></w:comment></w:comments>', "comments", "comments+xml", "rIdCm")


def special_files(folder: Path) -> dict[str, str]:
    """Links, a FIFO, a socket and a device with transcript names; name -> expected words."""
    made = {}
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    made["passwd.txt"] = "is a symbolic link"
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    made["dangling.txt"] = "is a symbolic link"
    os.mkfifo(folder / "pipe.txt")
    made["pipe.txt"] = "is a named pipe (FIFO)"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.vtt"))
    sock.close()
    made["sock.vtt"] = "is a socket"
    try:
        os.mknod(folder / "null.srt", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        made["null.srt"] = "is a character device"
    except PermissionError:
        pass
    return made


# --- one batch, every kind of bad file ----------------------------------------------------

def test_a_batch_full_of_hostile_files_stores_exactly_the_good_ones(store, project, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(limits, "MAX_DOCX_XML_BYTES", 4 * 2**20)  # keeps the bomb small and the test fast
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good1.txt").write_text(GOOD, encoding="utf-8")
    (folder / "good2.docx").write_bytes(docx_bytes(*GOOD.splitlines()))
    (folder / "good3.vtt").write_text(f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Ana>{SECRET} hola\n")
    expected = special_files(folder)
    (folder / "nul.txt").write_bytes(GOOD.encode("utf-16") + "\x00more".encode("utf-16-le"))
    expected["nul.txt"] = "control character"
    (folder / "control.md").write_bytes(GOOD.encode() + b"P1: page\x0cbreak\n")
    expected["control.md"] = "U+000C form feed"
    (folder / "bomb.docx").write_bytes(bomb_with_renamed_main_part(6 * 2**20))
    expected["bomb.docx"] = "part word/content.bin alone is 6 MiB"
    (folder / "longline.txt").write_text(SECRET + "x" * 1_000_001)
    expected["longline.txt"] = "line 1 is 1,000,015 characters long"
    (folder / "ole.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + SECRET.encode() * 10)
    expected["ole.docx"] = "password-protected document or an old Word .doc"
    (folder / "speaker.vtt").write_text(f"WEBVTT\n\n00:01.000 --> 00:02.000\n<v {'N' * 130}>{SECRET}\n")
    expected["speaker.vtt"] = "speaker name of the turn on line 1 is 130 characters long"
    (folder / "subdir.txt").mkdir()  # a folder with a transcript name: walked, not read
    (folder / "subdir.txt" / "inner.txt").write_text(GOOD)

    report = import_files_committing(store, "study", [folder], actor=lead(store))

    assert sorted(report.imported) == ["good1", "good2", "good3", "inner"]
    for name, words in expected.items():
        assert words in failure(report, name)
    assert len(report.failed) == len(expected)
    docs = documents(store)
    assert sorted(docs) == ["good1", "good2", "good3", "inner"]
    assert docs["good1"].text == GOOD
    assert "root:" not in "".join(d.text for d in docs.values())
    with store.session() as s:  # refused files left nothing behind
        stored_turns = s.scalar(select(func.count()).select_from(SpeakerTurn))
        assert stored_turns == sum(len(s.merge(d).turns) for d in docs.values()) > 0
        assert s.scalar(select(func.count()).where(Event.action == "document.import")) == 4
    out, err = capfd.readouterr()
    assert SECRET not in out + err and "Traceback" not in out + err


def test_the_same_batch_through_the_savepoint_variant(store, project, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD)
    expected = special_files(folder)
    me = lead(store)
    with store.session() as s:
        report = import_files(s, get_project(s, "study"), [folder], actor=me)
    assert report.imported == ["good"]
    for name, words in expected.items():
        assert words in failure(report, name)
    assert sorted(documents(store)) == ["good"]


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming 'nobody' needs root (as the tests run here)")
def test_an_unreadable_file_is_refused_and_the_others_land(store, project, db_url, tmp_path):
    """chmod 000 stops only a non-root reader: the import runs in a forked child
    that has become ``nobody`` (modules are loaded before, the database opened after)."""
    shared = Path(tempfile.mkdtemp(prefix="hostile_"))
    try:
        os.chmod(shared, 0o777)
        url = db_url
        if db_url.startswith("sqlite:///"):
            store.dispose()  # closes the WAL so the copy is whole
            shutil.copy(db_url.removeprefix("sqlite:///"), shared / "t.db")
            os.chmod(shared / "t.db", 0o666)
            url = f"sqlite:///{shared / 't.db'}"
        (shared / "a.txt").write_text(GOOD)
        (shared / "b.txt").write_text(GOOD)
        (shared / "locked.txt").write_text(GOOD)
        os.chmod(shared / "locked.txt", 0o000)
        for f in ("a.txt", "b.txt"):
            os.chmod(shared / f, 0o644)
        parent_store = Store(url, run_migrations=False)
        # warm up every code path in this process, so the child needs no import from disk
        me = lead(parent_store)
        import_uploads_committing(parent_store, "study", [("warm.txt", GOOD.encode())], actor=me)
        parent_store.dispose()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become nobody, import, report through the pipe
            code = 1
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                child_store = Store(url, run_migrations=False)
                rep = import_files_committing(child_store, "study", [shared], actor=me)
                os.write(write_end, json.dumps({"imported": rep.imported, "failed": rep.failed}).encode())
                code = 0
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                os.write(write_end, json.dumps({"crash": repr(exc)}).encode())
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as fh:
            result = json.loads(fh.read() or b"{}")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, result
        assert sorted(result["imported"]) == ["a", "b"]
        assert len(result["failed"]) == 1
        assert "locked.txt: cannot be read (Permission denied)" in result["failed"][0]
        check = Store(url, run_migrations=False)
        assert sorted(documents(check)) == ["a", "b", "warm"]
        check.dispose()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


# --- one transaction per file -------------------------------------------------------------

def test_an_interrupted_import_keeps_the_files_already_finished(store, project):
    def uploads():
        yield "a.txt", GOOD.encode()
        yield "b.txt", GOOD.encode()
        raise KeyboardInterrupt  # the user pressed Ctrl-C between two files

    with pytest.raises(KeyboardInterrupt):
        import_uploads_committing(store, "study", uploads(), actor=lead(store))
    assert sorted(documents(store)) == ["a", "b"]


def test_an_interruption_inside_a_file_keeps_the_earlier_files_and_nothing_of_that_one(store, project):
    inserts = []

    def interrupt_third_document(conn, cursor, statement, params, context, many):
        if statement.lstrip().upper().startswith("INSERT INTO DOCUMENTS"):
            inserts.append(1)
            if len(inserts) == 3:
                raise KeyboardInterrupt

    event.listen(store.engine, "before_cursor_execute", interrupt_third_document)
    try:
        with pytest.raises(KeyboardInterrupt):
            import_uploads_committing(store, "study", [(f"{c}.txt", GOOD.encode()) for c in "abcd"],
                                                   actor=lead(store))
    finally:
        event.remove(store.engine, "before_cursor_execute", interrupt_third_document)
    assert sorted(documents(store)) == ["a", "b"]
    with store.session() as s:
        assert s.scalar(select(func.count()).where(Event.action == "document.import")) == 2
        assert s.scalar(select(func.count()).select_from(SpeakerTurn)) == 4


def test_the_savepoint_variant_stays_all_or_nothing_for_its_caller(store, project):
    me = lead(store)
    with pytest.raises(KeyboardInterrupt), store.session() as s:
        import_uploads(s, get_project(s, "study"), [("a.txt", GOOD.encode())], actor=me)
        raise KeyboardInterrupt
    assert documents(store) == {}


# --- what PostgreSQL refused with DataError, refused per file everywhere -------------------

def test_nul_long_names_and_long_speakers_are_refused_per_file(store, project):
    uploads = [
        ("ok.txt", GOOD.encode()),
        ("nul16.txt", ("P1: a" + "b" * 200 + "\x00" + SECRET).encode("utf-16")),
        ("n" * 301 + ".txt", GOOD.encode()),
        ("bad\x00name.txt", GOOD.encode()),
        ("new\nline.txt", GOOD.encode()),
        ("long.txt", f"{'Speaker ' * 3}{'x' * 60}: hi\n".encode()),  # not a label (too long): stored
        ("pattern.txt", ("S" * 130 + ": hi\n").encode()),
        ("ok2.srt", f"1\n00:00:01,000 --> 00:00:02,000\nAna: {SECRET}\n".encode()),
    ]
    report = import_uploads_committing(store, "study", uploads, speaker_pattern=r"^(?P<speaker>\S+): ",
                                           actor=lead(store))
    assert sorted(report.imported) == ["long", "ok", "ok2"]
    assert "control character" in failure(report, "nul16.txt")
    assert "over the limit of 300 for a document name" in failure(report, "n" * 50)
    assert "control characters in its file name" in failure(report, "bad\\x00name.txt")
    assert "control characters in its file name" in failure(report, "new\\x0aline.txt")
    assert "the speaker name of the turn on line 1 is 130 characters long, over the limit of 120" in \
        failure(report, "pattern.txt")
    assert sorted(documents(store)) == ["long", "ok", "ok2"]


# --- no silent loss: encodings ---------------------------------------------------------------

def test_a_stray_byte_in_utf8_is_replaced_and_reported_not_read_as_cp1252(store, project):
    text = f"Entrevistadora: ¿Cómo le fue, señora? {SECRET}\nDocente: Bien, año difícil.\n"
    raw = text.encode("utf-8").replace(b"fue", b"fue\xff")
    report = import_uploads_committing(store, "study", [("es.txt", raw)], actor=lead(store))
    assert report.imported == ["es"]
    doc = documents(store)["es"]
    assert doc.text == text.replace("fue", "fue\ufffd")
    assert doc.source_encoding == "utf-8"
    ev = import_events(store)["es"]
    assert ev["replaced"] == 1 and "1 of " in ev["warnings"][0] and "were not valid UTF-8" in ev["warnings"][0]
    assert report.warnings == ev["warnings"]


@pytest.mark.parametrize(("codec", "label"), [("cp932", "Japanese Shift-JIS"), ("gb18030", "Chinese GB18030")])
def test_east_asian_legacy_encodings_are_read_and_reported(store, project, codec, label):
    texts = {
        "cp932": "インタビュアー：学校の先生たちはどのように協力していますか。\n校長：毎週、みんなで授業を計画しています。\n",
        "gb18030": "采访者：老师们是怎么合作的？\n校长：我们每个星期都在一起准备课，这个项目对学生很有帮助。\n",
    }
    report = import_uploads_committing(store, "study", [("cjk.txt", texts[codec].encode(codec))],
                                           actor=lead(store))
    assert report.imported == ["cjk"]
    doc = documents(store)["cjk"]
    assert doc.text == texts[codec] and doc.source_encoding == codec
    assert label in import_events(store)["cjk"]["warnings"][0]


def test_an_unrecognisable_code_page_is_refused_not_stored_as_garbage(store, project):
    russian = "Интервьюер: Расскажите, пожалуйста, о работе учителей в вашей школе.\n" * 3
    report = import_uploads_committing(store, "study", [("ru.txt", russian.encode("cp1251"))],
                                           actor=lead(store))
    assert "read as no encoding the import can recognise" in failure(report, "ru.txt")
    assert documents(store) == {}


def test_a_cp1252_guess_is_stored_and_reported_with_its_share(store, project):
    report = import_uploads_committing(store, "study", [("b.txt", "Interviewer: Año\r\nP3: Sí\r\n".encode("cp1252"))],
                                           actor=lead(store))
    assert documents(store)["b"].text == "Interviewer: Año\nP3: Sí\n"
    assert "read as Windows-1252 (a guess): 2 of 26 bytes (7.7%)" in report.warnings[0]


# --- no silent loss: docx ------------------------------------------------------------------------

def test_docx_footnotes_text_boxes_rtl_and_content_controls_are_stored(store, project):
    report = import_uploads_committing(store, "study", [("f.docx", features_docx())], actor=lead(store))
    assert report.imported == ["f"]
    text = documents(store)["f"].text
    for words in ("Where do the teams meet[1]?", "مرحبا بالمعلمين שלום", "RUNSDT plan", "BLOCKSDT together",
                  "CUSTOMXML results improved", "ROWSDT cell", "CELL first",
                  "\n\nFootnotes\n[1] FOOTNOTE the school library, room 4"):
        assert words in text
    assert text.count(f"TEXTBOX {SECRET} schedule") == 1  # the fallback copy is not doubled
    assert text.index("In the library.") < text.index("TEXTBOX") < text.index("مرحبا")
    assert "HEADER" not in text and "COMMENT" not in text
    warning = import_events(store)["f"]["warnings"][0]
    assert "not imported:" in warning and "page header/footer text" in warning and "1 reviewer comment" in warning


def test_docx_bounds_on_ratio_members_and_text(store, project, monkeypatch):
    plain = docx_bytes("Interviewer: " + "words and more words " * 3000)
    monkeypatch.setattr(limits, "RATIO_CHECK_FROM", 1000)
    monkeypatch.setattr(limits, "MAX_ZIP_RATIO", 5)
    many = rezip(docx_bytes("P1: hi"), add={f"junk/{i}.xml": b"<x/>" for i in range(40)})
    members = len(zipfile.ZipFile(io.BytesIO(many)).infolist())
    monkeypatch.setattr(limits, "MAX_ZIP_MEMBERS", 30)
    report = import_uploads_committing(store, "study", [("ratio.docx", plain), ("many.docx", many)],
                                           actor=lead(store))
    assert "is compressed" in failure(report, "ratio.docx") and "over the limit of 5 to 1" in failure(report, "ratio")
    assert f"its zip holds {members} files, over the limit of 30" in failure(report, "many.docx")
    monkeypatch.setattr(limits, "MAX_ZIP_RATIO", 100)
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 10_000)
    report = import_uploads_committing(store, "study", [("text.docx", plain)], actor=lead(store))
    assert "holds more than 10,000 characters of text, over the limit" in failure(report, "text.docx")
    assert documents(store) == {}


def test_a_real_size_bomb_with_a_renamed_part_is_refused_before_reading(store, project):
    """The default bounds, a part 3 times over them, named .bin so a guard that
    counts only .xml parts would let it through."""
    bomb = bomb_with_renamed_main_part(3 * limits.MAX_DOCX_XML_BYTES)
    assert len(bomb) < limits.MAX_FILE_BYTES
    report = import_uploads_committing(store, "study", [("bomb.docx", bomb), ("ok.txt", GOOD.encode())],
                                           actor=lead(store))
    assert "part word/content.bin alone is 300 MiB uncompressed" in failure(report, "bomb.docx")
    assert report.imported == ["ok"]


# --- subtitles ------------------------------------------------------------------------------------

def test_vtt_full_of_angle_brackets_is_linear(store, project):
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + "<" * 320_000 + "\n"
    report = import_uploads_committing(store, "study", [("lt.vtt", vtt.encode())], actor=lead(store))
    assert report.imported == ["lt"]
    assert documents(store)["lt"].text == "<" * 320_000


def test_cues_with_bad_or_impossible_timings_are_kept_and_reported(store, project):
    vtt = ("WEBVTT\n\n"
           "00:00:01.000 --> 00:00:02.000\n<v Ana>first cue\n\n"
           "00:00:02.000 -> 00:00:03.000\n<v Ana>ARROW cue kept\n\n"
           "00:75:00.000 --> 00:76:00.000\n<v Luis>IMPOSSIBLE minutes\n\n"
           "00:00:09.000 --> 00:00:08.000\n<v Ana>BACKWARDS cue\n\n"
           "ORPHAN text with no timing\n")
    report = import_uploads_committing(store, "study", [("t.vtt", vtt.encode())], actor=lead(store))
    assert report.imported == ["t"]
    doc = documents(store)["t"]
    for words in ("first cue", "ARROW cue kept", "IMPOSSIBLE minutes", "BACKWARDS cue", "ORPHAN text"):
        assert words in doc.text
    with store.session() as s:
        turns = [(t.speaker, t.timestamp) for t in s.scalars(select(SpeakerTurn).order_by(SpeakerTurn.position))]
    assert ("Luis", None) in turns  # the impossible time is not stored as a time
    assert all(ts is None or ts < "01" for _, ts in turns)
    warnings = " ".join(import_events(store)["t"]["warnings"])
    assert "1 cue(s) with an invalid or impossible timing line" not in warnings  # two of them
    assert "2 cue(s) with an invalid or impossible timing line" in warnings
    assert "1 cue(s) ending before they start" in warnings
    assert "1 block(s) of text with no timing line" in warnings


# --- time -----------------------------------------------------------------------------------------

def test_a_file_over_its_time_budget_is_refused_and_the_batch_goes_on(store, project, monkeypatch):
    monkeypatch.setattr(limits, "MAX_PARSE_SECONDS", -1.0)  # every budget is already spent
    report = import_uploads_committing(store, "study", [("slow.txt", GOOD.encode()), ("slow2.docx", docx_bytes("x"))],
                                           actor=lead(store))
    assert "took more than -1 s to read" in failure(report, "slow.txt")
    assert "took more than -1 s to read" in failure(report, "slow2.docx")
    assert documents(store) == {}


# --- audit: a deleted document's codings are recorded ----------------------------------------------

def test_delete_document_records_every_coding_it_removes(demo_store):
    from coding.store.models import Coding

    with demo_store.session() as s:
        p = get_project(s, "demo")
        doc = s.scalar(select(Document).where(Document.project_id == p.id).order_by(Document.name))
        before = {c.id: c for c in s.scalars(select(Coding).where(Coding.document_id == doc.id))}
        assert before, "the demo's first document has codings"
        rows = {c.id: {k: getattr(c, k) for k in ("code_id", "coder_id", "start", "end", "memo", "layer")}
                for c in before.values()}
        counts = delete_document(s, p, doc.name, actor=Member.of(get_member(s, p, "lead")))
        name, text = doc.name, doc.text
    assert counts["codings"] == len(rows)
    with demo_store.session() as s:
        ev = s.scalar(select(Event).where(Event.action == "document.delete"))
        payload = json.loads(ev.payload)
        assert s.scalar(select(func.count()).select_from(Coding).where(Coding.id.in_(rows))) == 0
    assert payload["name"] == name and payload["text"] == text
    recorded = {c["id"]: c for c in payload["codings"]}
    assert recorded.keys() == rows.keys()
    for cid, row in rows.items():
        assert {k: recorded[cid][k] for k in row} == row
        assert recorded[cid]["created_at"]
    assert len(payload["turns"]) == counts["turns"] > 0
