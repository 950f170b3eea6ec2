"""Participant attributes from a CSV file: read and checked once, previewed, then stored.

The file's first column names documents, the other columns are attributes
(``document,cohort,site``). :func:`read_attributes_csv` checks the whole file
(encoding, CSV syntax, header, one row per document, the same number of cells
in every row) and refuses it naming the file, the line and the field; nothing is
stored by it. :func:`attributes_preview` says which rows match a document of the
project and which do not, before anything is stored; storing is
:func:`coding.work.documents.import_attributes` (all rows or none).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import InputFileError
from coding.importing import decode_text
from coding.importing.limits import human_count
from coding.store.models import Attribute, Document, Project
from coding.team.access import Action, require

MAX_ATTRIBUTE_NAME_CHARS = Attribute.__table__.c.name.type.length


@dataclass
class AttributeTable:
    """A checked attributes file: the attribute names and one (line, document, values) per row."""

    path: str
    columns: list[str]
    rows: list[tuple[int, str, list[str]]]
    warnings: list[str] = field(default_factory=list)  # from decoding (a guessed encoding...)


def read_attributes_csv(path: str, data: bytes) -> AttributeTable:
    """Read and check an attributes CSV; refused (:class:`InputFileError`) naming the file,
    the line and the column, with what to do."""
    decoded = decode_text(data, path)
    try:
        rows = list(csv.reader(io.StringIO(decoded.text)))
    except csv.Error as exc:
        raise InputFileError(str(path), f"is not valid CSV ({exc})", "Save it as comma-separated values") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputFileError(str(path), "has no data rows",
                             "Give a header (document, then attribute names) and one row per document")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2 or any(not h for h in header):
        raise InputFileError(str(path), "line 1: header needs a document column and named attribute columns, "
                                        "none empty", "Write e.g. document,role,school")
    dup = [h for h, n in Counter(h.casefold() for h in header).items() if n > 1]
    if dup:
        raise InputFileError(str(path), f"line 1: column {dup[0]!r} appears twice", "Give each column its own name")
    long = next((i for i, h in enumerate(header[1:], start=2) if len(h) > MAX_ATTRIBUTE_NAME_CHARS), None)
    if long:
        raise InputFileError(str(path), f"line 1: column {long} has a name of {human_count(len(header[long - 1]))} "
                                        f"characters, over the limit of {MAX_ATTRIBUTE_NAME_CHARS}",
                             "Give it a shorter name")
    seen: dict[str, int] = {}
    out: list[tuple[int, str, list[str]]] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputFileError(str(path), f"line {lineno}: has {len(row)} cells, the header has {len(header)}",
                                 "Give every row the same number of columns")
        name = row[0].strip()
        if name in seen:
            raise InputFileError(str(path), f"line {lineno}: document {name!r} already given on line {seen[name]}",
                                 "Keep one row per document")
        seen[name] = lineno
        out.append((lineno, name, [v.strip() for v in row[1:]]))
    return AttributeTable(str(path), header[1:], out, list(decoded.warnings))


@dataclass(frozen=True)
class AttributesPreview:
    """What storing an attributes file would do: nothing is stored to make it."""

    columns: list[str]
    matched: list[str]                 # documents that get values
    unmatched: list[tuple[int, str]]   # (line, name) of rows naming no document: skipped
    without_row: list[str]             # documents the file says nothing about (keep their values)
    values: int                        # attribute values that would be stored
    warnings: list[str]


def attributes_preview(s: Session, project: Project, member, path: str, data: bytes) -> AttributesPreview:
    """Check an attributes file and match its rows against ``project``'s documents, as
    ``member`` (who must be allowed to import) would store it. Refused like the import."""
    require(s, member, Action.IMPORT_DOCUMENTS, project)
    table = read_attributes_csv(path, data)
    names = set(s.scalars(select(Document.name).where(Document.project_id == project.id)))
    matched = [name for _, name, _ in table.rows if name in names]
    return AttributesPreview(
        columns=table.columns, matched=matched,
        unmatched=[(line, name) for line, name, _ in table.rows if name not in names],
        without_row=sorted(names - set(matched)), values=len(matched) * len(table.columns),
        warnings=table.warnings)
