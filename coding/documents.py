"""Documents: importing transcripts and participant attributes, and listing them.

An import of many files stores each good file in its own savepoint, so a broken
file is reported and skipped while the others land, and nothing is half-stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import CodingError, InputFileError, NotFoundError
from .events import log_event
from .importing import SUPPORTED_SUFFIXES, decode_bytes, parse_transcript
from .importing.decoding import MAX_FILE_BYTES
from .store.models import Attribute, Document, Project, SpeakerTurn, new_id

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line messages naming the file
    encodings: dict[str, str] = field(default_factory=dict)  # document -> encoding used
    attributes: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def check_language(language: str) -> str:
    if not LANGUAGE_RE.match(language or ""):
        raise CodingError(
            f"language {language!r} is not an ISO 639 code; give one like en, es, pt, fr"
        )
    return language


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given, and the supported transcript files inside given folders."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            out.append(p)
    return out


def store_document(
    s: Session, project: Project, name: str, filename: str, data: bytes, *,
    language: str = "en", speaker_pattern: str | None = None, actor: str = "system",
) -> Document:
    """Parse one file and add it with its turns (inside the caller's transaction)."""
    parsed = parse_transcript(filename, data, speaker_pattern=speaker_pattern)
    if s.scalar(select(Document.id).where(Document.project_id == project.id, Document.name == name)):
        raise InputFileError(
            filename, f"a document named {name!r} is already in {project.name!r}",
            "Rename the file, or delete the existing document first",
        )
    doc = Document(
        project_id=project.id, name=name, text=parsed.text,
        sha256=hashlib.sha256(parsed.text.encode("utf-8")).hexdigest(), length=len(parsed.text),
        language=language, source_filename=filename, source_format=parsed.source_format,
        source_encoding=parsed.encoding,
    )
    s.add(doc)
    s.flush()
    if parsed.turns:  # one Core INSERT: thousands of ORM objects per import would dominate its time
        s.execute(SpeakerTurn.__table__.insert(), [
            {"id": new_id(), "document_id": doc.id, "position": i, "speaker": t.speaker, "start": t.start,
             "end": t.end, "speech_start": t.speech_start, "timestamp": t.timestamp}
            for i, t in enumerate(parsed.turns)])
    log_event(s, project.id, actor, "document.import", "document", doc.id, name=name,
              file=filename, encoding=parsed.encoding, sha256=doc.sha256)
    return doc


def _import_one(s: Session, project: Project, report: ImportReport, label: str, read, **kw) -> None:
    """Store one file in its own savepoint; a failure is reported, never half-stored."""
    try:
        with s.begin_nested():
            doc = store_document(s, project, Path(label).stem, Path(label).name, read(), **kw)
        report.imported.append(doc.name)
        report.encodings[doc.name] = doc.source_encoding
    except CodingError as exc:
        msg = str(exc)
        report.failed.append(msg if Path(label).name in msg else f"{label}: {msg}")


def _read_checked(f: Path) -> bytes:
    if not f.is_file():
        raise InputFileError(str(f), "no such file", "Check the path")
    size = f.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputFileError(
            str(f), f"is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
            "Split the transcript into parts and import them separately",
        )
    return f.read_bytes()


def import_files(
    s: Session, project: Project, paths: list[str | Path], *, language: str = "en",
    attributes_csv: str | Path | None = None, speaker_pattern: str | None = None,
    actor: str = "system",
) -> ImportReport:
    """Import transcripts (files or folders) and optionally an attributes CSV."""
    check_language(language)
    report = ImportReport()
    files = expand_paths(paths)
    if not files and not attributes_csv:
        raise CodingError("no transcript files found in the given paths; supported: " + ", ".join(SUPPORTED_SUFFIXES))
    for f in files:
        _import_one(s, project, report, str(f), lambda f=f: _read_checked(f), language=language,
                    speaker_pattern=speaker_pattern, actor=actor)
    if attributes_csv:
        try:
            with s.begin_nested():
                report.attributes, report.warnings = import_attributes(
                    s, project, Path(attributes_csv).name, _read_checked(Path(attributes_csv)), actor=actor)
        except CodingError as exc:
            report.failed.append(str(exc))
    return report


def import_uploads(
    s: Session, project: Project, uploads: list[tuple[str, bytes]], *, language: str = "en",
    speaker_pattern: str | None = None, actor: str = "system",
) -> ImportReport:
    """Import files given as (file name, bytes), as the browser uploads them."""
    check_language(language)
    report = ImportReport()
    for name, data in uploads:
        _import_one(s, project, report, name, lambda data=data: data, language=language,
                    speaker_pattern=speaker_pattern, actor=actor)
    return report


def import_attributes(
    s: Session, project: Project, path: str, data: bytes, *, actor: str = "system",
) -> tuple[int, list[str]]:
    """Read a CSV whose first column names documents and whose other columns are
    attributes. All rows land or none; rows for unknown documents are warnings."""
    text, _enc = decode_bytes(data, path)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputFileError(str(path), f"is not valid CSV ({exc})", "Save it as comma-separated values") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputFileError(str(path), "has no data rows", "Give a header (document, then attribute names) and one row per document")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2 or any(not h for h in header):
        raise InputFileError(str(path), "line 1: header needs a document column and named attribute columns, none empty",
                             "Write e.g. document,role,school")
    dup = [h for h, n in Counter(h.casefold() for h in header).items() if n > 1]
    if dup:
        raise InputFileError(str(path), f"line 1: column {dup[0]!r} appears twice", "Give each column its own name")
    docs = {d.name: d for d in s.scalars(select(Document).where(Document.project_id == project.id))}
    seen: dict[str, int] = {}
    warnings: list[str] = []
    count = 0
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputFileError(str(path), f"line {lineno}: has {len(row)} cells, the header has {len(header)}",
                                 "Give every row the same number of columns")
        name = row[0].strip()
        if name in seen:
            raise InputFileError(str(path), f"line {lineno}: document {name!r} already given on line {seen[name]}",
                                 "Keep one row per document")
        seen[name] = lineno
        doc = docs.get(name)
        if doc is None:
            warnings.append(f"{path}: line {lineno}: no document named {name!r} in {project.name!r}; row skipped")
            continue
        existing = {a.name: a for a in doc.attributes}
        for col, value in zip(header[1:], row[1:], strict=True):
            if col in existing:
                existing[col].value = value.strip()
            else:
                doc.attributes.append(Attribute(name=col, value=value.strip()))
            count += 1
    s.flush()
    log_event(s, project.id, actor, "attributes.import", "project", project.id, file=str(path), values=count)
    return count, warnings


def get_document(s: Session, project: Project, name: str) -> Document:
    d = s.scalar(select(Document).where(Document.project_id == project.id, Document.name == name))
    if d is None:
        raise NotFoundError(f"no document named {name!r} in {project.name!r}; list them with `python -m coding documents {project.name}`")
    return d


def list_documents(s: Session, project: Project) -> list[Document]:
    return list(s.scalars(select(Document).where(Document.project_id == project.id).order_by(Document.name)))


def document_summary(doc: Document) -> dict:
    """What `documents --json` prints for one document (a stable shape)."""
    speakers = Counter(t.speaker for t in doc.turns)
    return {
        "id": doc.id,
        "name": doc.name,
        "language": doc.language,
        "characters": doc.length,
        "words": len(doc.text.split()),
        "source": {"file": doc.source_filename, "format": doc.source_format, "encoding": doc.source_encoding},
        "sha256": doc.sha256,
        "attributes": {a.name: a.value for a in doc.attributes},
        "speakers": [{"speaker": k, "turns": v} for k, v in speakers.most_common()],
    }


def delete_document(s: Session, project: Project, name: str, *, actor: str) -> None:
    doc = get_document(s, project, name)
    log_event(s, project.id, actor, "document.delete", "document", doc.id, name=name, sha256=doc.sha256)
    s.delete(doc)
    s.flush()

