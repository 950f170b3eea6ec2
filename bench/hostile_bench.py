"""Benchmark: importing a corpus of hostile and tricky files, against the demo corpus.

The bench writes its own corpus (more than 40 files) into a temporary folder:
zip bombs (a renamed main part of 1 GiB, a 190 MiB document, a 60 MiB part
compressed 1000 to 1, 6,000 members, 21 million characters of text), XML with a
document type (billion laughs), broken and foreign zips, NUL and control
characters, a line of 1.5 million characters, 3 million speaker labels, links
(one to /etc/passwd), a FIFO, a socket, a device, a file only root could read
(imported by a child that has become ``nobody``), names with NUL or 400
characters, text in Shift-JIS, GB18030, Big5, EUC-KR, cp1252, Latin-1, cp1251,
UTF-8 with a stray byte, a .docx with footnotes, a text box, right-to-left runs,
content controls and customXml, subtitles full of ``<``, voice tags and ASS
tags, cues with impossible timings, and large legitimate files near every bound.

Each file has an expectation: refused (with words the message must hold) or
stored (with words the stored text must hold, and whether a warning must say
what was guessed, replaced or left out). Then, in a spawned worker process, each
file is imported on its own with :func:`coding.work.documents.import_files_committing`
(or ``import_uploads_committing`` for names no file system allows) into a fresh
database, and judged:

* traceback: any exception other than the per-file report, or "Traceback" on stderr;
* hang: a file taking more than 10 s (the worker is killed after 60 s);
* silent loss: a file neither stored nor reported, a stored file missing expected
  text without a warning saying so, or a lossy reading without a warning;
* wrong outcome: stored where a refusal was expected, or the reverse, or a
  message without the expected words, or one that quotes the file's text.

Baseline, in the same run and the same way: the demo corpus (``corpora/cic-demo``,
8 transcripts), each file imported on its own into a fresh database. Ratios are
a file's seconds over the mean seconds of a demo file.

Run: ``.venv/bin/python bench/hostile_bench.py [--db postgresql://...]`` from the
repository root (root is needed for the device and the unreadable file; without
it they are skipped). Prints a table; it is not a timed test.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import socket
import stat
import sys
import tempfile
import time
import traceback
import uuid
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HANG_SECONDS = 10.0
KILL_SECONDS = 60.0
MEMORY_GOAL_MB = 1024
SECRET = "Zanzibarquartz"  # in every file; a message quoting it leaks transcript text
REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "corpora" / "cic-demo"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (f'xmlns:w="{W}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:v="urn:schemas-microsoft-com:vml"')
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
GOOD = f"Interviewer: How do the teams work?\nPrincipal: They meet weekly, {SECRET}.\n"


# --- the corpus ------------------------------------------------------------------------------

def refused(words: str) -> dict:
    return {"expect": "refused", "words": words}


def stored(*contains: str, warn: str | None = None) -> dict:
    return {"expect": "stored", "contains": list(contains), "warn": warn}


def either() -> dict:
    """Tricky but not wrong: stored or refused are both fine, as long as it is clean and quick."""
    return {"expect": "either"}


def _docx(*paragraphs: str) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _zip(members: dict[str, bytes], level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    return {i.filename: z.read(i) for i in z.infolist()}


def _with_document(document_xml_head: bytes, body_bytes, tail: bytes, *, part: str = "word/document.xml",
                   level: int = 1) -> bytes:
    """A .docx whose main part is ``part``, written streaming: head, each chunk of body_bytes, tail."""
    base = _members(_docx("x"))
    rels = base["_rels/.rels"].replace(b"word/document.xml", part.encode())
    types = base["[Content_Types].xml"].replace(b"/word/document.xml", ("/" + part).encode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, content in base.items():
            if name != "word/document.xml":
                z.writestr(name, {"_rels/.rels": rels, "[Content_Types].xml": types}.get(name, content))
        with z.open(part, "w", force_zip64=True) as fh:
            fh.write(document_xml_head)
            for chunk in body_bytes:
                fh.write(chunk)
            fh.write(tail)
    return out.getvalue()


def _repeat(block: bytes, total: int):
    while total > 0:
        yield block[:total]
        total -= len(block)


def _doc_head() -> bytes:
    return f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>'.encode()


_DOC_TAIL = b"</w:t></w:r></w:p></w:body></w:document>"


def _random_text(rng: random.Random, n: int) -> bytes:
    """``n`` letters and spaces that compress poorly (about 1.6 to 1), seeded."""
    alphabet = b"abcdefghijklmnopqrstuvwxyz      "
    return rng.randbytes(n).translate(bytes(alphabet[b % len(alphabet)] for b in range(256)))


def features_docx() -> bytes:
    import docx
    from docx.oxml import parse_xml

    d = docx.Document()
    body = d.element.body
    p = d.add_paragraph("Interviewer: Where do the teams meet")
    p._p.append(parse_xml(f'<w:r {NS}><w:footnoteReference w:id="1"/></w:r>'))
    box = "<w:txbxContent><w:p><w:r><w:t>TEXTBOX schedule</w:t></w:r></w:p></w:txbxContent>"
    p2 = d.add_paragraph(f"Principal: In the library, {SECRET}.")
    p2._p.append(parse_xml(
        f'<w:r {NS}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic>'
        f'<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp>'
        f'<wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))
    p3 = d.add_paragraph("Teacher: ")
    p3._p.append(parse_xml(f'<w:dir {NS} w:val="rtl"><w:r><w:t>مرحبا بالمعلمين</w:t></w:r></w:dir>'))
    body[-1].addprevious(parse_xml(f'<w:sdt {NS}><w:sdtContent><w:p><w:r><w:t>Teacher: BLOCKSDT together'
                                   '</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    body[-1].addprevious(parse_xml(f'<w:customXml {NS} w:element="a"><w:p><w:r><w:t>Principal: CUSTOMXML'
                                   '</w:t></w:r></w:p></w:customXml>'))
    d.sections[0].header.paragraphs[0].text = "HEADER confidential"
    buf = io.BytesIO()
    d.save(buf)
    m = _members(buf.getvalue())
    m["word/_rels/document.xml.rels"] = m["word/_rels/document.xml.rels"].replace(
        b"</Relationships>", f'<Relationship Id="rIdFn" Type="{REL}footnotes" Target="footnotes.xml"/>'
                             '</Relationships>'.encode())
    m["word/footnotes.xml"] = (f'<w:footnotes {NS}><w:footnote w:id="1"><w:p><w:r><w:t>FOOTNOTE room 4</w:t>'
                               '</w:r></w:p></w:footnote></w:footnotes>').encode()
    return _zip(m)


def _transcript(rng: random.Random, turns: int) -> str:
    words = "the teachers planned lessons together and the students learned more each week at school".split()
    lines = []
    for i in range(turns):
        label = "Interviewer" if i % 2 == 0 else "Participant"
        lines.append(f"{label}: " + " ".join(rng.choice(words) for _ in range(rng.randint(5, 60))) + "\n")
    lines.append(f"Interviewer: {SECRET}.\n")
    return "\n".join(lines)


def build_corpus(folder: Path) -> list[dict]:
    """Write the files; returns one entry per file: name, how to import it, expectation."""
    rng = random.Random(20240917)
    entries: list[dict] = []

    def add(name: str, data: bytes | None, expectation: dict, *, note: str, upload: bool = False) -> None:
        if data is not None and not upload:
            (folder / name).write_bytes(data)
        entries.append({"name": name, "upload": upload, "data": data if upload else None, "note": note,
                        "size": len(data) if data is not None else 0, **expectation})

    # zip bombs and broken .docx
    add("bomb_renamed_1gib.docx", _with_document(_doc_head(), _repeat(b"A" * (1 << 20), 1 << 30), _DOC_TAIL,
                                                  part="word/content.bin"),
        refused("part word/content.bin alone is 1 GiB uncompressed"), note="main part renamed .bin, 1 GiB")
    add("bomb_190mib.docx", _with_document(_doc_head(), _repeat(b"B" * (1 << 20), 190 << 20), _DOC_TAIL),
        refused("alone is 190 MiB uncompressed"), note="190 MiB document.xml")
    add("bomb_ratio.docx", _with_document(_doc_head(), _repeat(b"C" * (1 << 20), 60 << 20), _DOC_TAIL, level=9),
        refused("over the limit of 100 to 1"), note="60 MiB part, ratio ~1000:1")
    base = _members(_docx("P1: hi"))
    add("bomb_members.docx", _zip({**base, **{f"junk/{i}.xml": b"<x/>" for i in range(6000)}}),
        refused("over the limit of 5,000"), note="6,000 zip members")
    text_stream = (f'<w:document xmlns:w="{W}"><w:body>'.encode(),)
    chunks = (b"<w:p><w:r><w:t>" + _random_text(rng, 100_000) + b"</w:t></w:r></w:p>" for _ in range(220))
    add("text_22m_chars.docx", _with_document(text_stream[0], chunks, b"</w:body></w:document>", level=1),
        refused("characters of text, over the limit"), note="22 M characters of text, ratio ~1.6")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              + f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body>'
                '</w:document>'.encode())
    add("billion_laughs.docx", _zip({**base, "word/document.xml": laughs}),
        refused("document type declaration"), note="DOCTYPE with entities")
    add("ole_encrypted.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + SECRET.encode() * 100,
        refused("password-protected document or an old Word .doc"), note="OLE (encrypted / .doc)")
    add("not_zip.docx", GOOD.encode(), refused("not a zip archive"), note="text named .docx")
    whole = _docx(GOOD)
    add("truncated.docx", whole[: len(whole) // 2] + whole[-22:], refused("is not a valid .docx"),
        note="zip cut in half")
    add("xlsx_renamed.docx", _zip({"[Content_Types].xml": b"<Types/>", "_rels/.rels":
                                   b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                   b'relationships"><Relationship Id="r" Type="http://schemas.openxmlformats.org/'
                                   b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                                   b'</Relationships>', "xl/workbook.xml": b"<workbook/>"}),
        refused("is not a Word document"), note="spreadsheet renamed")
    add("malformed.docx", _zip({**base, "word/document.xml": f'<w:document xmlns:w="{W}"><w:body><w:p>'
                                                             f'{SECRET}</w:body>'.encode()}),
        refused("not well-formed XML"), note="broken XML")
    deep = (f'<w:document xmlns:w="{W}"><w:body>'.encode() + b"<w:sdt><w:sdtContent>" * 20000
            + f"<w:p><w:r><w:t>P1: deep {SECRET}</w:t></w:r></w:p>".encode()
            + b"</w:sdtContent></w:sdt>" * 20000 + b"</w:body></w:document>")
    add("deep_nesting.docx", _zip({**base, "word/document.xml": deep}), stored("deep " + SECRET),
        note="20,000 nested content controls")
    add("features.docx", features_docx(),
        stored("[1]", "TEXTBOX schedule", "مرحبا بالمعلمين", "BLOCKSDT together", "CUSTOMXML", "FOOTNOTE room 4",
               warn="page header/footer"), note="footnote, text box, RTL, sdt, customXml, header")
    from xml.sax.saxutils import escape

    paragraphs = (f"<w:p><w:r><w:t>{escape(line)}</w:t></w:r></w:p>".encode()
                  for line in _transcript(rng, 20_000).split("\n"))
    add("big_ok_word.docx", _with_document(f'<w:document xmlns:w="{W}"><w:body>'.encode(), paragraphs,
                                      b"</w:body></w:document>", level=6),
        stored(SECRET), note="legit, 20,000 turns")

    # text files: bounds, controls, binary
    add("nul_utf16.txt", (GOOD + "\x00" + GOOD).encode("utf-16"), refused("U+0000 NUL"), note="NUL in UTF-16")
    add("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000), refused("binary file"),
        note="PNG bytes")
    add("formfeed.txt", (GOOD + "P1: page\x0cbreak\n").encode(), refused("U+000C form feed"), note="form feed")
    add("escape_codes.md", (GOOD + "\x1b[31mred\x1b[0m\n").encode(), refused("U+001B escape"),
        note="terminal escape codes")
    add("empty.txt", b"", refused("is empty"), note="0 bytes")
    add("blank.md", b" \n\t\n" * 1000, refused("is empty"), note="whitespace only")
    add("longline.txt", (SECRET + "x" * 1_500_000).encode(), refused("over the limit of 1,000,000 for one line"),
        note="one line of 1.5 M characters")
    add("huge.txt", b"P1: " + b"words " * ((21 << 20) // 6 + 1), refused("over the import limit of 20 MiB"),
        note="21 MiB")
    add("labels_3m.txt", b"P1: a\n" * 3_000_000, refused("lines that look like speaker labels"),
        note="3 M speaker labels")
    add("colons.txt", b":\n" * 9_000_000 + GOOD.encode(), either(), note="9 M lines of ':'")
    add("blank_lines.txt", b"\n" * 19_000_000 + GOOD.encode(), stored(SECRET), note="19 M blank lines")
    add("spaces.txt", b" " * 900_000 + GOOD.encode(), stored(SECRET), note="900 K spaces then a label")
    add("near_line_limit.txt", (GOOD + "P1: " + "y" * 999_000 + "\n").encode(), stored(SECRET),
        note="a line of 999 K characters")
    add("big_ok.txt", _transcript(rng, 60_000).encode(), stored(SECRET), note="legit, 60,000 turns")
    add("russian_cp1251.txt", ("Интервьюер: Расскажите о работе учителей в вашей школе.\n" * 5).encode("cp1251"),
        refused("read as no encoding the import can recognise"), note="Cyrillic code page")
    add("notes.pdf", b"%PDF-1.4 " + SECRET.encode(), refused("unsupported file type '.pdf'"), note="a PDF")

    # encodings that must be stored, with a warning when guessed or replaced
    es = f"Entrevistadora: ¿Cómo le fue, señora? {SECRET}\nDocente: Bien, año difícil.\n"
    add("stray_ff.txt", es.encode().replace(b"fue", b"fue\xff"), stored("fue\ufffd, señora", warn="not valid UTF-8"),
        note="UTF-8 with one 0xFF")
    add("shift_jis.txt", ("インタビュアー：学校の先生たちはどのように協力していますか。\n校長：毎週、授業を計画しています。"
                          f"{SECRET}\n").encode("cp932"), stored("毎週、授業を計画", warn="Shift-JIS"),
        note="Japanese Shift-JIS")
    add("gb18030.txt", f"采访者：老师们是怎么合作的？\n校长：我们每个星期都在一起准备课。{SECRET}\n".encode("gb18030"),
        stored("每个星期都在一起", warn="GB18030"), note="Chinese GB18030")
    add("big5.txt", f"採訪者：老師們是怎麼合作的？\n校長：我們每個星期都在一起準備課。{SECRET}\n".encode("big5"),
        stored("每個星期都在一起", warn="Big5"), note="Chinese Big5")
    add("euc_kr.txt", f"면접관: 선생님들은 어떻게 협력합니까?\n교장: 우리는 매주 함께 수업을 준비합니다. {SECRET}\n"
        .encode("cp949"), stored("매주 함께", warn="Korean"), note="Korean EUC-KR")
    add("cp1252.txt", f"Entrevistadora: “Año”, señora. {SECRET}\nDocente: Sí.\n".encode("cp1252"),
        stored("“Año”, señora", warn="Windows-1252"), note="Windows-1252 quotes")
    add("latin1.txt", f"P1: caf\xe9 \x81 na\xefve {SECRET}\n".encode("latin-1"),
        stored("café \x81 naïve", warn="Latin-1"), note="Latin-1 with an undefined byte")
    add("utf16_bom.txt", GOOD.encode("utf-16"), stored(SECRET), note="UTF-16 with BOM")
    add("utf8_bom_crlf.txt", GOOD.replace("\n", "\r\n").encode("utf-8-sig"), stored(SECRET),
        note="BOM and CRLF")
    add("rtl_emoji.md", f"P1: مرحبا שלום 👩🏽‍🏫 \u202ereversed\u202c {SECRET}\nP1: ok\n".encode(),
        stored("👩🏽‍🏫", "\u202ereversed"), note="RTL, emoji ZWJ, bidi override")

    # subtitles
    add("angle_320k.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + b"<" * 320_000 + SECRET.encode() + b"\n",
        stored(SECRET), note="320 KB of '<'")
    add("voice_tags.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + b"<v " * 200_000 + SECRET.encode(),
        either(), note="200 K unclosed voice tags")
    add("ass_tags.srt", b"1\n00:00:01,000 --> 00:00:02,000\n" + b"{\\" * 200_000 + SECRET.encode() + b"\n",
        stored(SECRET), note="200 K unclosed ASS tags")
    add("bad_timings.vtt", (f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Ana>first {SECRET}\n\n"
                            "00:00:02.000 -> 00:00:03.000\n<v Ana>ARROW kept\n\n"
                            "00:75:00.000 --> 00:76:00.000\n<v Luis>IMPOSSIBLE kept\n\nORPHAN kept\n").encode(),
        stored("ARROW kept", "IMPOSSIBLE kept", "ORPHAN kept", warn="invalid or impossible timing"),
        note="wrong arrow, minute 75, orphan text")
    add("backwards.srt", f"1\n00:00:05,000 --> 00:00:01,000\nAna: {SECRET}\n".encode(),
        stored(SECRET, warn="ending before they start"), note="cue ends before it starts")
    add("hours_99999.vtt", f"WEBVTT\n\n99999:00:00.000 --> 99999:00:01.000\nAna: {SECRET}\n\n"
                           "00:01.000 --> 00:02.000\nAna: ok\n".encode(),
        stored(SECRET, warn="invalid or impossible timing"), note="5-digit hours")
    add("long_voice.vtt", f"WEBVTT\n\n00:01.000 --> 00:02.000\n<v {'N' * 200}>{SECRET}\n".encode(),
        refused("over the limit of 120"), note="200-character speaker")
    add("no_cues.vtt", f"WEBVTT\n\n{SECRET}\n".encode(), refused("has no subtitle cues"), note="no timing line")

    # names no file system takes: as uploads
    add("n" * 400 + ".txt", GOOD.encode(), refused("over the limit of 300 for a document name"),
        note="400-character name (upload)", upload=True)
    add("nul\x00name.txt", GOOD.encode(), refused("control characters in its file name"),
        note="NUL in the name (upload)", upload=True)

    # things that are not files
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    add("passwd.txt", None, refused("is a symbolic link"), note="link to /etc/passwd")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    add("dangling.txt", None, refused("is a symbolic link"), note="dangling link")
    os.mkfifo(folder / "fifo.txt")
    add("fifo.txt", None, refused("named pipe (FIFO)"), note="FIFO (would block a reader)")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "socket.vtt"))
    sock.close()
    add("socket.vtt", None, refused("is a socket"), note="Unix socket")
    try:
        os.mknod(folder / "device.srt", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        add("device.srt", None, refused("character device"), note="character device (/dev/null)")
    except PermissionError:
        pass
    if os.geteuid() == 0:
        (folder / "locked.txt").write_text(GOOD)
        os.chmod(folder / "locked.txt", 0)
        add("locked.txt", None, refused("cannot be read (Permission denied)"),
            note="mode 000, read as nobody")
        entries[-1]["as_nobody"] = True
    return entries


# --- the worker ------------------------------------------------------------------------------

def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lead(store):
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member

    with store.session() as s:
        return Member.of(get_member(s, get_project(s, "bench"), "lead"))


def _import_one(store, entry: dict, folder: str, actor):
    from coding.work.documents import import_files_committing, import_uploads_committing

    if entry["upload"]:
        return import_uploads_committing(store, "bench", [(entry["name"], entry["data"])], actor=actor)
    return import_files_committing(store, "bench", [os.path.join(folder, entry["name"])], actor=actor)


def _as_nobody(url: str, entry: dict, folder: str, actor) -> dict:
    """Import in a forked child that has become ``nobody``; the report comes back by a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            from coding.store import Store

            rep = _import_one(Store(url, run_migrations=False), entry, folder, actor)
            os.write(write_end, json.dumps({"imported": rep.imported, "failed": rep.failed,
                                            "warnings": rep.warnings}).encode())
            code = 0
        except BaseException:  # noqa: BLE001
            os.write(write_end, json.dumps({"traceback": traceback.format_exc()}).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        out = json.loads(fh.read() or b"{}")
    os.waitpid(pid, 0)
    return out


def worker(url: str, folder: str, entries: list[dict], conn, stderr_path: str) -> None:
    """Runs in a spawned process: imports each entry on its own, sends one result per entry."""
    fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    from sqlalchemy import select

    from coding.store import Store
    from coding.store.models import Document

    store = Store(url, run_migrations=False)
    lead = _lead(store)
    _import_one(store, {"upload": True, "name": f"warm-up {uuid.uuid4().hex[:6]}.txt", "data": GOOD.encode()},
                folder, lead)  # module loading and first connections are not any file's time
    for entry in entries:
        t0 = time.perf_counter()
        result = {"name": entry["name"], "traceback": None}
        try:
            if entry.get("as_nobody"):
                store.dispose()  # the child opens the database itself (its -wal files must be its own)
                rep = _as_nobody(url, entry, folder, lead)
                result["traceback"] = rep.get("traceback")
                result.update({k: rep.get(k, []) for k in ("imported", "failed", "warnings")})
            else:
                rep = _import_one(store, entry, folder, lead)
                result.update(imported=rep.imported, failed=rep.failed, warnings=rep.warnings)
        except BaseException:  # noqa: BLE001 - a traceback is what the bench counts
            result["traceback"] = traceback.format_exc()
        result["seconds"] = time.perf_counter() - t0
        result["rss_mb"] = _maxrss_mb()
        text = None
        if result.get("imported"):
            with store.session() as s:
                text = s.scalar(select(Document.text).where(Document.name == result["imported"][0]))
        result["text_has"] = {w: (text is not None and w in text) for w in entry.get("contains", [])}
        result["text_len"] = len(text) if text is not None else None
        conn.send(result)
    conn.send(None)
    conn.close()


def run_worker(url: str, folder: str, entries: list[dict], stderr_path: str) -> list[dict]:
    """All entries through workers; a worker stuck past KILL_SECONDS is killed and the
    entry recorded as a hang, and a new worker takes the rest."""
    ctx = mp.get_context("spawn")
    results: list[dict] = []
    todo = list(entries)
    while todo:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(url, folder, todo, child, stderr_path))
        proc.start()
        child.close()
        done = 0
        while True:
            if not parent.poll(KILL_SECONDS):
                results.append({"name": todo[done]["name"], "seconds": KILL_SECONDS, "killed": True,
                                "traceback": None, "rss_mb": float("nan"), "imported": [], "failed": [],
                                "warnings": [], "text_has": {}})
                proc.kill()
                done += 1
                break
            try:
                msg = parent.recv()
            except EOFError:  # the worker died (out of memory?)
                results.append({"name": todo[done]["name"], "seconds": float("nan"), "traceback": "worker died",
                                "rss_mb": float("nan"), "imported": [], "failed": [], "warnings": [],
                                "text_has": {}})
                done += 1
                break
            if msg is None:
                done = len(todo)
                break
            results.append(msg)
            done += 1
        proc.join(5)
        todo = todo[done:]
    return results


# --- judging ---------------------------------------------------------------------------------

def judge(entry: dict, result: dict) -> list[str]:
    """Problems with one file's outcome (empty: fine)."""
    problems = []
    if result.get("traceback"):
        problems.append("traceback")
    if result.get("killed") or result["seconds"] > HANG_SECONDS:
        problems.append("hang")
    imported, failed, warnings = result.get("imported", []), result.get("failed", []), result.get("warnings", [])
    messages = failed + warnings
    if any(SECRET in m for m in messages) or any("\n" in m for m in messages):
        problems.append("message leaks text / not one line")
    if not imported and not failed and not result.get("traceback") and not result.get("killed"):
        problems.append("silent loss (no outcome)")
    expect = entry["expect"]
    if expect == "refused":
        if imported:
            problems.append("stored, expected refused")
        elif failed and entry["words"] not in failed[0]:
            problems.append(f"message lacks {entry['words']!r}")
    elif expect == "stored":
        if not imported:
            problems.append("refused, expected stored")
        else:
            missing = [w for w, ok in result["text_has"].items() if not ok]
            if missing and not warnings:
                problems.append(f"silent loss ({len(missing)} expected passage(s) missing)")
            elif missing:
                problems.append(f"missing {len(missing)} expected passage(s) (warned)")
            if entry.get("warn") and not any(entry["warn"] in w for w in warnings):
                problems.append(f"silent loss (no warning with {entry['warn']!r})")
    return problems


def outcome(result: dict) -> str:
    if result.get("killed"):
        return "KILLED"
    if result.get("traceback"):
        return "TRACEBACK"
    if result.get("imported"):
        return "stored+warn" if result.get("warnings") else "stored"
    return "refused" if result.get("failed") else "nothing"


# --- databases -------------------------------------------------------------------------------

def fresh_database(kind: str, workdir: Path, label: str):
    """(url, cleanup) of a fresh migrated database with project 'bench'."""
    from sqlalchemy import create_engine, text

    from coding.team.projects import create_project
    from coding.store import Store

    if kind.startswith("postgresql"):
        name = f"hostile_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(kind.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = kind.rsplit("/", 1)[0] + "/" + name

        def cleanup():
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        path = workdir / f"{label}.db"
        url = f"sqlite:///{path}"

        def cleanup():
            pass
    from coding.store.schema import migrate
    from coding.store.engine import make_engine

    engine = make_engine(url)
    migrate(engine)  # PostgreSQL is migrated only on request (python -m coding migrate)
    engine.dispose()
    store = Store(url)
    with store.session() as s:
        create_project(s, "bench", lead_name="lead", local_mode=True)
    store.dispose()
    if not kind.startswith("postgresql"):
        for f in workdir.glob(f"{label}.db*"):
            os.chmod(f, 0o666)
    return url, cleanup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="sqlite", help="'sqlite' (default) or a PostgreSQL server URL")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hostile_bench_"))
    os.chmod(workdir, 0o777)  # the 'nobody' child opens the database and reads the corpus here
    try:
        corpus = workdir / "corpus"
        corpus.mkdir()
        os.chmod(corpus, 0o755)
        t0 = time.perf_counter()
        entries = build_corpus(corpus)
        gen_seconds = time.perf_counter() - t0
        for f in corpus.iterdir():
            if f.is_file() and not f.is_symlink() and f.name != "locked.txt":
                os.chmod(f, 0o644)
        corpus_bytes = sum(e["size"] for e in entries)

        demo_entries = [{"name": f.name, "upload": False, "expect": "stored", "contains": [], "warn": None,
                         "note": "demo", "size": f.stat().st_size} for f in sorted(DEMO.glob("*.txt"))]
        stderr_path = str(workdir / "worker_stderr.txt")
        url, cleanup = fresh_database(args.db, workdir, "baseline")
        try:
            baseline = run_worker(url, str(DEMO), demo_entries, stderr_path)
        finally:
            cleanup()
        url, cleanup = fresh_database(args.db, workdir, "hostile")
        try:
            results = run_worker(url, str(corpus), entries, stderr_path)
        finally:
            cleanup()
        stderr = Path(stderr_path).read_text(errors="replace")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    base_ok = [r for r in baseline if r.get("imported")]
    if len(base_ok) != len(demo_entries):
        raise SystemExit(f"baseline import failed: {[r.get('failed') or r.get('traceback') for r in baseline]}")
    base_mean = sum(r["seconds"] for r in base_ok) / len(base_ok)
    base_rss = max(r["rss_mb"] for r in baseline)

    db = "PostgreSQL" if args.db.startswith("postgresql") else "SQLite"
    print(f"hostile corpus: {len(entries)} files, {corpus_bytes / 2**20:.1f} MiB on disk (written in "
          f"{gen_seconds:.1f} s); database: {db}; each file imported on its own by import_files_committing "
          "(uploads: import_uploads_committing) in a spawned worker")
    print(f"baseline: the demo corpus, {len(base_ok)} transcripts, imported the same way in the same run: "
          f"mean {base_mean * 1000:.1f} ms per file, peak RSS {base_rss:.0f} MB")
    print("seconds = wall time of that file's import; ratio = seconds / baseline mean per file; "
          "peak RSS = the worker's ru_maxrss after that file (monotonic)")
    header = f"{'file':<26} | {'bytes':>11} | {'expected':>8} | {'outcome':>11} | {'seconds':>7} | " \
             f"{'ratio':>8} | {'peak RSS MB':>11} | problems"
    print(header)
    print("-" * len(header))
    tallies = {"traceback": 0, "hang": 0, "silent": 0, "wrong": 0}
    by_name = {r["name"]: r for r in results}
    unexpected = []
    for entry in entries:
        result = by_name[entry["name"]]
        problems = judge(entry, result)
        tallies["traceback"] += "traceback" in problems
        tallies["hang"] += "hang" in problems
        tallies["silent"] += any(p.startswith("silent loss") for p in problems)
        tallies["wrong"] += any(not p.startswith(("silent loss", "traceback", "hang")) for p in problems)
        shown = entry["name"] if len(entry["name"]) <= 26 else entry["name"][:12] + "…" + entry["name"][-13:]
        shown = shown.replace("\x00", "\\0")
        print(f"{shown:<26} | {entry['size']:>11,} | {entry['expect']:>8} | {outcome(result):>11} | "
              f"{result['seconds']:7.3f} | {result['seconds'] / base_mean:7.1f}x | {result['rss_mb']:11.0f} | "
              f"{'; '.join(problems) or 'ok'}")
        if problems:
            unexpected.append((entry["name"], (result.get("failed") or result.get("warnings") or [""])[0],
                               result.get("traceback")))
    for r in baseline:
        print(f"{'(baseline) ' + r['name'][:15]:<26} | {'':>11} | {'stored':>8} | {outcome(r):>11} | "
              f"{r['seconds']:7.3f} | {r['seconds'] / base_mean:7.1f}x | {r['rss_mb']:11.0f} | ok")
    peak = max((r["rss_mb"] for r in results if r["rss_mb"] == r["rss_mb"]), default=float("nan"))
    slowest = max(results, key=lambda r: r["seconds"])
    stderr_bad = ("Traceback" in stderr) or (SECRET in stderr)
    print()
    print(f"tracebacks: {tallies['traceback'] + stderr_bad} (goal 0)   hangs over {HANG_SECONDS:g} s: "
          f"{tallies['hang']} (goal 0)   silent losses: {tallies['silent']} (goal 0)   wrong outcomes: "
          f"{tallies['wrong']}   peak memory: {peak:.0f} MB (goal < {MEMORY_GOAL_MB}; baseline {base_rss:.0f} MB)")
    print(f"slowest file: {slowest['name'][:40]} {slowest['seconds']:.2f} s = {slowest['seconds'] / base_mean:.0f}x "
          f"the mean demo file; stderr of the workers: {len(stderr)} characters"
          f"{' (holds a traceback or transcript text!)' if stderr_bad else ''}")
    for name, message, tb in unexpected:
        print(f"  {name[:40]!r}: {message[:300]}" + (f"\n{tb}" if tb else ""))
    met = not (tallies["traceback"] or stderr_bad or tallies["hang"] or tallies["silent"]) and peak < MEMORY_GOAL_MB
    print(f"goals: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
