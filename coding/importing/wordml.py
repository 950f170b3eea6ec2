"""The text of a .docx, read from its zip part by part, with bounds on every part read.

The package is walked the way Word does (``_rels/.rels`` -> main document part ->
its relationships), so a renamed part is found, and counted, like any other. Each
part read is streamed through expat (no tree is built, memory stays the size of
the text), after its declared size and compression ratio were checked against
:mod:`.limits`; zipfile itself stops at the declared size.

What becomes text: every paragraph (``w:p``) in document order, wherever it sits
(tables, content controls ``w:sdt``, ``w:customXml``, right-to-left ``w:dir``/
``w:bdo`` runs, hyperlinks, tracked insertions, fields), one line each. Text-box
paragraphs follow the paragraph they are anchored in. Footnote and endnote
references become ``[1]`` / ``[E1]`` and the notes follow the body under
``Footnotes`` / ``Endnotes``. Not text: tracked deletions and moved-from text
(the moved-to copy is kept), field codes, and the fallback copy of alternate
content. What is not imported and may matter is reported as a warning: page
headers and footers, reviewer comments, equations, symbol-font characters,
ruby (phonetic) annotations, charts and SmartArt.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from urllib.parse import unquote
from xml.parsers import expat

from coding.errors import InputFileError
from coding.importing import limits
from coding.importing.limits import Deadline, LimitExceeded, display_name, human_count, human_size

DOCX_FIX = "Open it in Word/LibreOffice and save as .docx again, or export as .txt"
_W = frozenset({"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                "http://purl.oclc.org/ooxml/wordprocessingml/main"})  # transitional, strict
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_MATH = frozenset({"http://schemas.openxmlformats.org/officeDocument/2006/math",
                   "http://purl.oclc.org/ooxml/officeDocument/math"})
_DRAWING = frozenset({"http://schemas.openxmlformats.org/drawingml/2006/main",
                      "http://purl.oclc.org/ooxml/drawingml/main"})
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOTE_SEPARATORS = frozenset({"separator", "continuationSeparator", "continuationNotice"})


def _refuse(filename: str, problem: str, fix: str = DOCX_FIX) -> InputFileError:
    return InputFileError(display_name(filename), problem, fix)


# --- the zip ----------------------------------------------------------------------------

class _Package:
    """The zip of a .docx, read only through :meth:`stream`, which enforces the bounds."""

    def __init__(self, data: bytes, filename: str, deadline: Deadline):
        self.filename, self.deadline = filename, deadline
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
            raise _refuse(filename, f"is not a valid .docx (a damaged zip archive: {_brief(exc)})") from None
        if len(infos) > limits.MAX_ZIP_MEMBERS:
            raise _refuse(filename, f"is not a valid .docx (its zip holds {human_count(len(infos))} files, over "
                                    f"the limit of {human_count(limits.MAX_ZIP_MEMBERS)})")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise _refuse(filename, "is not a valid .docx (its zip holds two files with the same name)")
        self.by_name = {i.filename: i for i in infos}
        self.by_folded = {i.filename.casefold(): i for i in infos}  # part names are case-insensitive
        self.read_bytes = 0

    def find(self, partname: str) -> zipfile.ZipInfo | None:
        return self.by_name.get(partname) or self.by_folded.get(partname.casefold())

    def stream(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's bytes in chunks, refused up front when over a bound."""
        name = display_name(info.filename, 60)
        if info.flag_bits & 0x1:
            raise _refuse(self.filename, "is password-protected", "Remove the password in Word and import again")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(self.filename, f"is not a valid .docx (part {name} uses a compression Word never writes)")
        budget = limits.MAX_DOCX_XML_BYTES - self.read_bytes
        if info.file_size > budget:
            raise _refuse(
                self.filename,
                f"is refused: its XML expands to more than {human_size(limits.MAX_DOCX_XML_BYTES)} "
                f"(part {name} alone is {human_size(info.file_size)} uncompressed), far more than a transcript "
                "holds (this is how zip bombs look)",
                "Save the document as .txt (or split it) and import that",
            )
        if info.file_size > limits.RATIO_CHECK_FROM and \
                info.file_size > limits.MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise _refuse(
                self.filename,
                f"is refused: part {name} is compressed {info.file_size // max(info.compress_size, 1):,} to 1, "
                f"over the limit of {limits.MAX_ZIP_RATIO} to 1 (this is how zip bombs look)",
                "Save the document as .txt and import that",
            )
        self.read_bytes += info.file_size
        got = 0
        try:
            with self.zip.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    got += len(chunk)
                    if got > info.file_size:  # zipfile stops at the declared size; belt and braces
                        raise _refuse(self.filename, f"is not a valid .docx (part {name} is longer than declared)")
                    self.deadline.check()
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise _refuse(self.filename, f"is not a valid .docx (part {name} is damaged: {_brief(exc)})") from None


def _brief(exc: BaseException) -> str:
    words = " ".join(str(exc).split())
    return words[:100] or type(exc).__name__


def _resolve(source_part: str, target: str) -> str:
    """A relationship target as a zip member name (targets are URIs relative to the source)."""
    target = unquote(target)
    if target.startswith("/"):
        path = target
    else:
        path = posixpath.join("/" + posixpath.dirname(source_part), target)
    return posixpath.normpath(path).lstrip("/")


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


# --- XML through expat ------------------------------------------------------------------

def _parser(handler) -> expat.XMLParserType:
    p = expat.ParserCreate(namespace_separator=" ")
    p.buffer_text = True
    p.buffer_size = 1 << 16
    p.StartElementHandler = handler.start
    p.EndElementHandler = handler.end
    if hasattr(handler, "data"):
        p.CharacterDataHandler = handler.data

    def no_dtd(*_args):
        raise LimitExceeded("holds an XML document type declaration, which Word never writes", DOCX_FIX)

    p.StartDoctypeDeclHandler = no_dtd
    p.EntityDeclHandler = no_dtd
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return p


def _feed(pkg: _Package, info: zipfile.ZipInfo, handler, check=None) -> None:
    parser = _parser(handler)
    try:
        for chunk in pkg.stream(info):
            parser.Parse(chunk, False)
            if check:
                check()
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _refuse(pkg.filename, f"is not a valid .docx (part {display_name(info.filename, 60)} is not "
                                    f"well-formed XML: {expat.ErrorString(exc.code)}, line {exc.lineno})") from None


class _Rels:
    def __init__(self):
        self.rels: list[tuple[str, str, str]] = []  # (type, target, mode)

    def start(self, tag, attrs):
        if tag == _REL + " Relationship":
            self.rels.append((attrs.get("Type", ""), attrs.get("Target", ""), attrs.get("TargetMode", "")))

    def end(self, tag):
        pass


def _relationships(pkg: _Package, part: str) -> list[tuple[str, str]]:
    """``(type suffix, part name)`` of the internal relationships of ``part`` ("" = the package)."""
    info = pkg.find(_rels_name(part) if part else "_rels/.rels")
    if info is None:
        return []
    handler = _Rels()
    _feed(pkg, info, handler)
    return [(rtype.rsplit("/", 1)[-1], _resolve(part, target))
            for rtype, target, mode in handler.rels if mode != "External" and target]


class _Text:
    """Collects paragraphs of one WordprocessingML part (document, notes, headers, comments)."""

    def __init__(self, root: frozenset[str], notes: dict[str, list[str]] | None = None):
        self.root = root                     # accepted names of the root element
        self.lines: list[str] = []           # finished top-level paragraphs
        self.stack: list[tuple[list[str], list[str]]] = []  # open paragraphs: (parts, nested lines)
        self.skip = 0                        # >0 inside a subtree that is not text
        self.in_t = False
        self.alt: list[bool] = []            # per mc:AlternateContent: a branch was taken
        self.chars = 0
        self.depth = 0
        self.counts: Counter[str] = Counter()
        self.refs: list[tuple[str, str]] = []  # ("footnote"|"endnote", id) in body order
        self.notes = notes                   # notes part: id -> paragraphs
        self.note: tuple[str, int] | None = None
        self._kinds: dict[str, str] = {}

    def _kind(self, tag: str) -> str:
        kind = self._kinds.get(tag)
        if kind is None:
            ns, _, local = tag.rpartition(" ")
            if ns in _W:
                kind = local
            elif ns == _MC:
                kind = "mc:" + local
            elif ns in _MATH and local == "oMath":
                kind = "math"
            elif ns in _DRAWING and local == "graphicData":
                kind = "graphic"
            else:
                kind = ""
            self._kinds[tag] = kind
        return kind

    def _append(self, text: str) -> None:
        if self.stack:
            self.stack[-1][0].append(text)
        else:
            self.lines.append(text)
        self.chars += len(text)

    def start(self, tag, attrs):
        self.depth += 1
        if self.depth == 1:
            if self._kind(tag) not in self.root:
                raise LimitExceeded(f"is not a Word document (its main part is "
                                    f"<{display_name(tag.rpartition(' ')[2], 40)}>, not a document)", DOCX_FIX)
            return
        if self.skip:
            self.skip += 1
            return
        kind = self._kind(tag)
        if kind == "p":
            self.stack.append(([], []))
        elif kind == "t":
            self.in_t = True
        elif kind in ("tab", "ptab"):
            self._append("\t")
        elif kind == "br":
            # a line break; page and column breaks are not text (as python-docx reads them)
            if attrs.get(tag.rpartition(" ")[0] + " type", "textWrapping") == "textWrapping":
                self._append("\n")
        elif kind == "cr":
            self._append("\n")
        elif kind == "noBreakHyphen":
            self._append("-")
        elif kind in ("footnoteReference", "endnoteReference"):
            note_kind = kind[:-9]
            note_id = attrs.get(tag.rpartition(" ")[0] + " id", "")
            self.refs.append((note_kind, note_id))
            number = sum(k == note_kind for k, _ in self.refs)
            self._append(f"[{'' if note_kind == 'footnote' else 'E'}{number}]")
        elif kind in ("footnote", "endnote") and self.notes is not None:
            ns = tag.rpartition(" ")[0]
            if attrs.get(ns + " type", "normal") in _NOTE_SEPARATORS:
                self.skip = 1
            else:
                self.note = (attrs.get(ns + " id", ""), len(self.lines))
        elif kind in ("moveFrom", "mc:Fallback", "mc:Choice"):
            if kind == "moveFrom":
                self.skip = 1
            elif self.alt and self.alt[-1]:
                self.skip = 1  # one branch of alternate content only (they hold the same text)
            elif self.alt:
                self.alt[-1] = True
        elif kind == "mc:AlternateContent":
            self.alt.append(False)
        elif kind == "rt":
            self.counts["ruby"] += 1
            self.skip = 1
        elif kind == "sym":
            self.counts["symbol"] += 1
        elif kind == "math":
            self.counts["equation"] += 1
            self.skip = 1
        elif kind == "graphic" and ("chart" in attrs.get("uri", "") or "diagram" in attrs.get("uri", "")):
            self.counts["chart"] += 1
        elif kind == "comment":
            self.counts["comment"] += 1

    def end(self, tag):
        self.depth -= 1
        if self.skip:
            self.skip -= 1
            return
        kind = self._kind(tag)
        if kind == "t":
            self.in_t = False
        elif kind == "p" and self.stack:
            parts, nested = self.stack.pop()
            lines = ["".join(parts), *nested]
            if self.stack:
                self.stack[-1][1].extend(lines)
            else:
                self.lines.extend(lines)
            self.chars += 1
        elif kind == "mc:AlternateContent" and self.alt:
            self.alt.pop()
        elif kind in ("footnote", "endnote") and self.notes is not None and self.note:
            note_id, first = self.note
            self.notes[note_id] = self.lines[first:]
            del self.lines[first:]
            self.note = None

    def data(self, text):
        if self.in_t and not self.skip:
            self._append(text)

    def check_size(self) -> None:
        if self.chars > limits.MAX_TEXT_CHARS:
            raise LimitExceeded(f"holds more than {human_count(limits.MAX_TEXT_CHARS)} characters of text, "
                                "over the limit")


def _plural(n: int, word: str) -> str:
    return f"{human_count(n)} {word}{'' if n == 1 else 's'}"


def docx_text(data: bytes, filename: str, deadline: Deadline | None = None) -> tuple[str, tuple[str, ...]]:
    """``(text, warnings)`` of a .docx file's bytes (text not yet normalised).

    Raises :class:`InputFileError` for a file that is not a readable Word
    document or crosses a bound of :mod:`.limits`.
    """
    deadline = deadline or Deadline()
    if data.startswith(_OLE_MAGIC):
        raise _refuse(filename, "is not a valid .docx (it is a password-protected document or an old Word .doc)",
                      "Remove the password, or save it as .docx, in Word and import again")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _refuse(filename, "is not a valid .docx (not a zip archive)")
    try:
        return _docx_text(data, filename, deadline)
    except LimitExceeded as exc:
        raise _refuse(filename, exc.problem, exc.fix) from None


def _docx_text(data: bytes, filename: str, deadline: Deadline) -> tuple[str, tuple[str, ...]]:
    pkg = _Package(data, filename, deadline)
    main = next((target for rtype, target in _relationships(pkg, "") if rtype == "officeDocument"), None)
    info = pkg.find(main) if main else None
    if info is None:
        raise _refuse(filename, "is not a valid .docx (it has no main document part: it is not a Word file)")
    related = _relationships(pkg, info.filename)

    body = _Text(frozenset({"document"}))
    _feed(pkg, info, body, body.check_size)
    notes: dict[str, dict[str, list[str]]] = {}
    for note_kind in ("footnote", "endnote"):
        notes[note_kind] = {}
        for rtype, target in related:
            part = pkg.find(target) if rtype == note_kind + "s" else None
            if part is not None:
                handler = _Text(frozenset({note_kind + "s"}), notes[note_kind])
                _feed(pkg, part, handler, handler.check_size)

    lines = body.lines
    counts = body.counts
    for note_kind, heading, prefix in (("footnote", "Footnotes", ""), ("endnote", "Endnotes", "E")):
        found = notes[note_kind]
        order = [note_id for k, note_id in body.refs if k == note_kind]
        unreferenced = [note_id for note_id in found if note_id not in set(order)]
        if not found:
            continue
        section = []
        for number, note_id in enumerate([*order, *unreferenced], start=1):
            paragraphs = found.get(note_id)
            if paragraphs is not None:
                section.append(f"[{prefix}{number}] " + "\n".join(paragraphs).strip())
        if section:
            lines = [*lines, "", heading, *section]
    text = "\n".join(lines)
    if len(text) > limits.MAX_TEXT_CHARS:
        raise LimitExceeded(f"holds more than {human_count(limits.MAX_TEXT_CHARS)} characters of text, "
                            "over the limit")

    not_imported = Counter(counts)
    for rtype, target in related:
        if rtype in ("header", "footer", "comments") and (part := pkg.find(target)) is not None:
            handler = _Text(frozenset({"hdr", "ftr", "comments"}))
            _feed(pkg, part, handler, handler.check_size)
            if rtype == "comments":
                not_imported["comment"] += handler.counts["comment"]
            elif "".join(handler.lines).strip():
                not_imported["header"] += len("".join(handler.lines).strip())
    name = display_name(filename)
    what = {
        "header": lambda n: f"{human_count(n)} characters of page header/footer text",
        "comment": lambda n: _plural(n, "reviewer comment"),
        "equation": lambda n: _plural(n, "equation"),
        "symbol": lambda n: _plural(n, "symbol-font character"),
        "ruby": lambda n: _plural(n, "ruby (phonetic guide) annotation"),
        "chart": lambda n: _plural(n, "chart or SmartArt diagram") + " (their text)",
    }
    dropped = [what[k](n) for k, n in not_imported.items() if n and k in what]
    warnings = ()
    if dropped:
        warnings = (f"{name}: not imported: {', '.join(dropped)}. Copy what you need into the body "
                    "of the document and import it again",)
    return text, warnings
