"""Documents: importing transcripts and participant attributes, listing and deleting them.

An import reads and parses each file first, outside any transaction (parsing is
the slow part, and a write transaction held meanwhile would block other
writers), then stores it with its turns and its event in one transaction of its
own. :func:`import_files_committing` and :func:`import_uploads_committing` commit
each file as soon as it is stored, so an import interrupted half-way keeps the
files already done; :func:`import_files` and :func:`import_uploads` store each
file in a savepoint of the caller's transaction (all or nothing for the caller,
a broken file still skipped). Either way a bad file is reported by name with what
to do, and never half-stored; warnings (guessed encodings, replaced bytes, parts
of a .docx not imported, bad subtitle timings) are reported per file and kept in
the file's import event.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from coding.team.access import Action, require_or_setup
from coding.errors import CodingError, InputFileError, NotFoundError
from coding.team.events import log_event
from coding.importing import SUPPORTED_SUFFIXES, ParsedTranscript, check_suffix, parse_transcript
from coding.importing.files import expand_paths, read_regular_file
from coding.importing.limits import display_name, human_count
from coding.importing.speakers import compile_pattern
from coding.work.attributes import read_attributes_csv
from coding.store.models import (
    Adjudication,
    Assignment,
    Attribute,
    Coding,
    Document,
    Memo,
    Project,
    Sentence,
    SetMember,
    SpeakerTurn,
    new_id,
    new_ids,
)

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
# The widths of the columns a file name ends up in: refused per file, not a database error.
MAX_NAME_CHARS = Document.__table__.c.name.type.length
MAX_FILENAME_CHARS = Document.__table__.c.source_filename.type.length
_CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f]")

__all__ = [
    "ImportReport", "check_language", "delete_document", "document_summary", "expand_paths", "get_document",
    "import_attributes", "import_files", "import_files_committing", "import_uploads",
    "import_uploads_committing", "list_documents", "store_document",
]


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line messages naming the file
    encodings: dict[str, str] = field(default_factory=dict)  # document -> encoding used
    attributes: int = 0
    # one line each, naming the file: guessed encodings, replaced bytes, parts not
    # imported, bad subtitle timings, attribute rows skipped, links not followed
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def _fail(self, label: str, message: str) -> None:
        self.failed.append(message if Path(label).name in message or display_name(Path(label).name) in message
                           else f"{display_name(label)}: {message}")


def check_language(language: str) -> str:
    if not LANGUAGE_RE.match(language or ""):
        raise CodingError(
            f"language {language!r} is not an ISO 639 code; give one like en, es, pt, fr"
        )
    return language


# --- one file: read and parse (no database), then store -------------------------------

@dataclass(frozen=True)
class _Prepared:
    name: str
    filename: str
    parsed: ParsedTranscript


def _check_names(name: str, filename: str) -> None:
    """The document name (file name without extension) and the file name must fit
    their columns and hold no control characters."""
    shown = display_name(filename)
    fix = "Rename the file and import it again"
    if _CONTROL_IN_NAME.search(filename):
        raise InputFileError(shown, "has control characters in its file name", fix)
    if not name.strip():
        raise InputFileError(shown, "has no name before its extension", fix)
    if len(name) > MAX_NAME_CHARS:
        raise InputFileError(shown, f"has a name of {human_count(len(name))} characters, over the limit of "
                                    f"{MAX_NAME_CHARS} for a document name", fix)
    if len(filename) > MAX_FILENAME_CHARS:
        raise InputFileError(shown, f"has a file name of {human_count(len(filename))} characters, over the "
                                    f"limit of {MAX_FILENAME_CHARS}", fix)


def _prepare(label: str, read: Callable[[], bytes], *, speaker_pattern: str | None,
             name: str | None = None) -> _Prepared:
    """Check the names, read the bytes and parse them; raises :class:`CodingError`."""
    filename = Path(label).name
    name = Path(label).stem if name is None else name
    _check_names(name, filename)
    check_suffix(filename)  # before reading: an unsupported file is never opened
    parsed = parse_transcript(filename, read(), speaker_pattern=speaker_pattern)
    return _Prepared(name, filename, parsed)


def _prepare_reporting(report: ImportReport, label: str, read: Callable[[], bytes],
                       speaker_pattern: str | None) -> _Prepared | None:
    try:
        return _prepare(label, read, speaker_pattern=speaker_pattern)
    except CodingError as exc:
        report._fail(label, str(exc))
    except Exception as exc:  # a bug in one file's parsing must not cost the others
        report._fail(label, f"could not be read (internal error {type(exc).__name__}); nothing of it was "
                            "stored. Please report this, with the file if you can share it")
    return None


def _acting(s: Session, project: Project, actor: Any, action: Action = Action.IMPORT_DOCUMENTS) -> Any:
    """The acting member, reloaded and allowed ``action`` (coding.team.access); the system
    (None, "system") only while the project is being set up."""
    return require_or_setup(s, None if actor in (None, "system") else actor, action, project)


def _store_prepared(s: Session, project: Project, prep: _Prepared, *, language: str, actor: Any,
                    document_id: str | None = None) -> Document:
    """Add one parsed file with its turns and its event (in the caller's transaction)."""
    actor = _acting(s, project, actor)
    parsed = prep.parsed
    if s.scalar(select(Document.id).where(Document.project_id == project.id, Document.name == prep.name)):
        raise InputFileError(
            display_name(prep.filename), f"a document named {prep.name!r} is already in {project.name!r}",
            "Rename the file, or delete the existing document first",
        )
    if document_id is not None and s.get(Document, document_id) is not None:
        raise InputFileError(display_name(prep.filename), f"the document id {document_id} is already taken",
                             "Import it without a fixed id (a new one is given)")
    doc = Document(
        id=document_id or new_id(), project_id=project.id, name=prep.name, text=parsed.text,
        sha256=hashlib.sha256(parsed.text.encode("utf-8")).hexdigest(), length=len(parsed.text),
        language=language, source_filename=prep.filename, source_format=parsed.source_format,
        source_encoding=parsed.encoding,
    )
    s.add(doc)
    s.flush()
    if parsed.turns:  # one Core INSERT: thousands of ORM objects per import would dominate its time
        s.execute(SpeakerTurn.__table__.insert(), [
            {"id": tid, "document_id": doc.id, "position": i, "speaker": t.speaker, "start": t.start,
             "end": t.end, "speech_start": t.speech_start, "timestamp": t.timestamp}
            for i, (t, tid) in enumerate(zip(parsed.turns, new_ids(len(parsed.turns)), strict=True))])
    log_event(s, project.id, actor, "document.import", "document", doc.id, name=prep.name,
              file=prep.filename, encoding=parsed.encoding, sha256=doc.sha256, characters=len(parsed.text),
              replaced=parsed.replaced_bytes, warnings=list(parsed.warnings))
    return doc


def _database_refused(filename: str, exc: SQLAlchemyError) -> str:
    """One line, without the statement or its parameters (they hold transcript text)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:160]
    return (f"{display_name(filename)}: could not be stored (the database refused it: {first}); nothing of it "
            "was stored. Import it again; if it fails again, check the file")


def _store_in_savepoint(s: Session, project: Project, prep: _Prepared, report: ImportReport, label: str, *,
                        language: str, actor: Any, savepoint: bool = True) -> Document | None:
    """Store one file, or report why not; nothing of it stays. ``savepoint=False``: the
    transaction holds this file only, so a failure rolls it back whole (no savepoint needed)."""
    try:
        if not savepoint:
            return _store_prepared(s, project, prep, language=language, actor=actor)
        with s.begin_nested():
            return _store_prepared(s, project, prep, language=language, actor=actor)
    except CodingError as exc:
        if not savepoint:
            s.rollback()
        report._fail(label, str(exc))
    except SQLAlchemyError as exc:
        if not savepoint:
            s.rollback()
        report._fail(label, _database_refused(prep.filename, exc))
    return None


def _record(report: ImportReport, doc_name: str, prep: _Prepared) -> None:
    report.imported.append(doc_name)
    report.encodings[doc_name] = prep.parsed.encoding
    report.warnings.extend(prep.parsed.warnings)


def _import_one(s: Session, project: Project, report: ImportReport, label: str, read, *, language: str,
                speaker_pattern: str | None, actor: Any) -> None:
    """Parse one file, then store it in its own savepoint; a failure is reported, never half-stored."""
    prep = _prepare_reporting(report, label, read, speaker_pattern)
    if prep is not None and _store_in_savepoint(s, project, prep, report, label, language=language, actor=actor):
        _record(report, prep.name, prep)


def _import_one_committing(store, project_id: str, report: ImportReport, label: str, read, *, language: str,
                           speaker_pattern: str | None, actor: Any) -> None:
    """Parse one file, then store and commit it in a transaction of its own."""
    prep = _prepare_reporting(report, label, read, speaker_pattern)
    if prep is None:
        return
    errors_before = len(report.failed)
    try:
        with store.session(batch=True) as s:  # durable at the end of the batch (store.sync)
            project = s.get(Project, project_id)
            if project is None:
                raise NotFoundError("the project was deleted during the import; nothing more was imported")
            doc = _store_in_savepoint(s, project, prep, report, label, language=language, actor=actor,
                                      savepoint=False)
    except SQLAlchemyError as exc:  # the commit itself failed
        del report.failed[errors_before:]
        report._fail(label, _database_refused(prep.filename, exc))
        return
    except NotFoundError:
        raise
    except CodingError as exc:  # e.g. the store stayed busy: this file is not stored, the next may be
        del report.failed[errors_before:]
        report._fail(label, f"{display_name(prep.filename)}: not stored: {exc}")
        return
    if doc is not None:
        _record(report, prep.name, prep)


def store_document(
    s: Session, project: Project, name: str, filename: str, data: bytes, *,
    language: str = "en", speaker_pattern: str | None = None, actor: Any = "system",
    document_id: str | None = None,
) -> Document:
    """Parse one file and add it with its turns (inside the caller's transaction).

    ``document_id``: the new document's id (e.g. the GUID a REFI-QDA file gives it, so
    a round trip keeps it); refused when a document already has it. Default: a new id."""
    prep = _prepare(filename, lambda: data, speaker_pattern=speaker_pattern, name=name)
    return _store_prepared(s, project, prep, language=language, actor=actor, document_id=document_id)


# --- batches --------------------------------------------------------------------------

def _batch_setup(language: str, speaker_pattern: str | None) -> None:
    check_language(language)
    if speaker_pattern is not None:
        compile_pattern(speaker_pattern)  # a bad pattern is one error, not one per file


def _files_of(paths: list[str | Path], attributes_csv, report: ImportReport) -> list[Path]:
    files = expand_paths(paths, report.warnings)
    if not files and not attributes_csv:
        raise CodingError("no transcript files found in the given paths; supported: " + ", ".join(SUPPORTED_SUFFIXES))
    return files


def _attributes_in_savepoint(s: Session, project: Project, report: ImportReport, attributes_csv, actor) -> None:
    path = Path(attributes_csv)
    try:
        with s.begin_nested():
            report.attributes, warnings = import_attributes(s, project, path.name, read_regular_file(path),
                                                            actor=actor)
        report.warnings.extend(warnings)
    except CodingError as exc:
        report.failed.append(str(exc))
    except SQLAlchemyError as exc:
        report.failed.append(_database_refused(path.name, exc))


def import_files(
    s: Session, project: Project, paths: list[str | Path], *, language: str = "en",
    attributes_csv: str | Path | None = None, speaker_pattern: str | None = None,
    actor: Any = "system",
) -> ImportReport:
    """Import transcripts (files or folders) and optionally an attributes CSV, each
    file in a savepoint of the caller's transaction (see the module docstring)."""
    _batch_setup(language, speaker_pattern)
    actor = _acting(s, project, actor)
    report = ImportReport()
    for f in _files_of(paths, attributes_csv, report):
        _import_one(s, project, report, str(f), lambda f=f: read_regular_file(f), language=language,
                    speaker_pattern=speaker_pattern, actor=actor)
    if attributes_csv:
        _attributes_in_savepoint(s, project, report, attributes_csv, actor)
    return report


def import_uploads(
    s: Session, project: Project, uploads: list[tuple[str, bytes]], *, language: str = "en",
    speaker_pattern: str | None = None, actor: Any = "system",
) -> ImportReport:
    """Import files given as (file name, bytes), as the browser uploads them, each
    in a savepoint of the caller's transaction."""
    _batch_setup(language, speaker_pattern)
    actor = _acting(s, project, actor)
    report = ImportReport()
    for name, data in uploads:
        _import_one(s, project, report, name, lambda data=data: data, language=language,
                    speaker_pattern=speaker_pattern, actor=actor)
    return report


def _project_id(store, project: Project | str, actor: Any) -> str:
    """The id of ``project`` (a project or its name), once ``actor`` may import into it:
    a member who may not is refused once, before any file is read."""
    from coding.team.projects import get_project  # projects is a service too; imported where needed

    with store.session() as s:
        p = s.get(Project, project.id) if isinstance(project, Project) else get_project(s, project)
        if p is None:
            raise NotFoundError("the project was deleted; nothing was imported")
        _acting(s, p, actor)
        return p.id


def import_files_committing(
    store, project: Project | str, paths: list[str | Path], *, language: str = "en",
    attributes_csv: str | Path | None = None, speaker_pattern: str | None = None,
    actor: Any = "system",
) -> ImportReport:
    """Like :func:`import_files`, but on a :class:`coding.store.Store`: each file is
    committed in its own transaction as soon as it is stored, so an interruption
    (an error, Ctrl-C, a killed process) keeps every file finished before it.
    ``project`` is a project or its name. The attributes CSV comes last, in one
    transaction of its own."""
    _batch_setup(language, speaker_pattern)
    report = ImportReport()
    project_id = _project_id(store, project, actor)
    try:
        for f in _files_of(paths, attributes_csv, report):
            _import_one_committing(store, project_id, report, str(f), lambda f=f: read_regular_file(f),
                                   language=language, speaker_pattern=speaker_pattern, actor=actor)
    finally:
        store.sync()
    if attributes_csv:
        with store.session() as s:
            _attributes_in_savepoint(s, s.get(Project, project_id), report, attributes_csv, actor)
    return report


def import_uploads_committing(
    store, project: Project | str, uploads: list[tuple[str, bytes]], *, language: str = "en",
    speaker_pattern: str | None = None, actor: Any = "system",
) -> ImportReport:
    """Like :func:`import_uploads`, each file committed in its own transaction."""
    _batch_setup(language, speaker_pattern)
    report = ImportReport()
    project_id = _project_id(store, project, actor)
    try:
        for name, data in uploads:
            _import_one_committing(store, project_id, report, name, lambda data=data: data, language=language,
                                   speaker_pattern=speaker_pattern, actor=actor)
    finally:
        store.sync()
    return report


def import_attributes(
    s: Session, project: Project, path: str, data: bytes, *, actor: Any = "system",
) -> tuple[int, list[str]]:
    """Read a CSV whose first column names documents and whose other columns are
    attributes. All rows land or none; rows for unknown documents are warnings."""
    actor = _acting(s, project, actor)
    table = read_attributes_csv(str(path), data)  # checked whole before anything is stored
    docs = {d.name: d for d in s.scalars(select(Document).where(Document.project_id == project.id))}
    warnings: list[str] = list(table.warnings)
    count = 0
    header = ["document", *table.columns]
    for lineno, name, values in table.rows:
        doc = docs.get(name)
        if doc is None:
            warnings.append(f"{path}: line {lineno}: no document named {name!r} in {project.name!r}; row skipped")
            continue
        existing = {a.name: a for a in doc.attributes}
        for col, value in zip(header[1:], values, strict=True):
            if col in existing:
                existing[col].value = value
            else:
                doc.attributes.append(Attribute(name=col, value=value))
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


# Every table whose rows go with a document (ON DELETE CASCADE), as the delete
# event's payload names them.
_DOCUMENT_ROWS = (
    ("codings", Coding), ("memos", Memo), ("adjudications", Adjudication), ("assignments", Assignment),
    ("attributes", Attribute), ("turns", SpeakerTurn), ("sentences", Sentence), ("set_members", SetMember),
)


def delete_document(s: Session, project: Project, name: str, *, actor: Any) -> dict[str, int]:
    """Delete a document and everything that hangs on it, recording all of it.

    The ``document.delete`` event's payload holds the document's text and every
    row deleted with it (codings of every coder, memos, adjudications,
    assignments, attributes, turns, sentences) as full rows, so the audit shows
    what went and a restore is possible. The rows are deleted with ``RETURNING``,
    so the record is exactly what was deleted, and the document row is locked
    first (PostgreSQL), so a coding added meanwhile waits and then fails instead
    of vanishing unrecorded. Returns the number of rows deleted per kind.
    """
    actor = _acting(s, project, actor, Action.DELETE_DOCUMENT)
    s.flush()
    doc = s.scalar(select(Document).where(Document.project_id == project.id, Document.name == name)
                   .with_for_update())
    if doc is None:
        get_document(s, project, name)  # raises the not-found message
    payload: dict[str, Any] = {"name": doc.name, "sha256": doc.sha256, "file": doc.source_filename,
                               "text": doc.text}
    counts: dict[str, int] = {}
    for key, model in _DOCUMENT_ROWS:
        table = model.__table__
        rows = s.execute(delete(table).where(table.c.document_id == doc.id).returning(*table.c)).mappings().all()
        order = "position" if "position" in table.c else "id"
        payload[key] = sorted((dict(r) for r in rows), key=lambda r: (r[order], r["id"]))
        counts[key] = len(rows)
    s.execute(delete(Document.__table__).where(Document.__table__.c.id == doc.id))
    # The rows are gone; forget their objects so no later flush touches them.
    gone = {doc.id}
    for obj in list(s.identity_map.values()):
        if obj is doc or getattr(obj, "document_id", None) in gone:
            s.expunge(obj)
    log_event(s, project.id, actor, "document.delete", "document", doc.id, **payload)
    return counts
