"""Codebooks exported as CSV by Taguette and QualCoder, read into a :class:`RefiFile` of
kind ``codebook`` so they are merged like a ``.qdc`` (pure, no database).

The two layouts (from each tool's own code and manual):

* **Taguette** (Export codebook > CSV): a header row ``tag,parent,description,number of
  highlights`` (older versions: no ``parent``; Taguette's own importer also takes ``name``
  or ``path`` for the tag column). A tag nests under the tag named in ``parent``; every
  tag can be applied, the highlight count is not a codebook field and is ignored.
* **QualCoder** (its plain-text codebook, as .csv): no header; the first column is the
  code's path, ``>>`` after a category and ``>>>`` after a parent code
  (``category>>code>>>subcode``), the second column the code's memo. Categories cannot be
  applied (folders here), codes can.

Codes get GUIDs derived from their path, so importing the same file twice updates
rather than duplicates.
"""

from __future__ import annotations

import csv
import io
import re

from coding.codebook.walk import MAX_DEPTH, depth_message
from coding.interchange.codes import derived_guid
from coding.interchange.errors import RefiError
from coding.interchange.model import RCode, RefiFile

#: A codebook CSV larger than this is not a codebook.
MAX_CSV_BYTES = 20 * 1024 * 1024
TAG_COLUMNS = ("tag", "name", "path")
TAGUETTE_COLUMNS = {*TAG_COLUMNS, "parent", "description", "number of highlights"}
_QC_SEP = re.compile(r"(>{3,}|>>)")


def _rows(data: bytes, filename: str) -> list[list[str]]:
    if len(data) > MAX_CSV_BYTES:
        raise RefiError(f"{filename}: is {len(data) // 2**20} MiB, over the {MAX_CSV_BYTES // 2**20} MiB a codebook "
                        "CSV may have; this is not a codebook")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RefiError(f"{filename}: is not UTF-8 (byte {exc.start}); save the codebook CSV as UTF-8 and import "
                        "it again") from None
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RefiError(f"{filename}: is not a readable CSV ({exc}); export the codebook again") from None


def _is_taguette_header(row: list[str]) -> bool:
    cells = [c.strip().lower() for c in row if c.strip()]
    return bool(cells) and any(c in TAG_COLUMNS for c in cells) and all(c in TAGUETTE_COLUMNS for c in cells)


def read_codebook_csv(data: bytes, filename: str) -> tuple[RefiFile, list[str]]:
    """The codebook in a Taguette or QualCoder CSV and the warnings about how it was read;
    problems (each naming its row) are listed in the file's ``problems``."""
    rows = _rows(data, filename)
    first = next((r for r in rows if any(c.strip() for c in r)), None)
    if first is None:
        raise RefiError(f"{filename}: is empty; there is no codebook to import")
    if _is_taguette_header(first):
        out, warnings = _taguette(rows, filename)
    else:
        out, warnings = _qualcoder(rows, filename)
    if not out.codes and not out.problems:
        raise RefiError(f"{filename}: names no codes; there is no codebook to import")
    return out, warnings


def _taguette(rows: list[list[str]], filename: str) -> tuple[RefiFile, list[str]]:
    out = RefiFile(name="", origin="Taguette (codebook CSV)", kind="codebook")
    header = [c.strip().lower() for c in rows[0]]
    tag_cols = [c for c in TAG_COLUMNS if c in header]
    if len(tag_cols) > 1:
        raise RefiError(f"{filename}: row 1 has several tag columns ({', '.join(tag_cols)}); keep one and import "
                        "it again")
    col = {name: header.index(name) for name in (tag_cols[0], "parent", "description") if name in header}
    codes: dict[str, RCode] = {}
    parents: dict[str, tuple[str, str]] = {}  # tag -> (parent tag, row path)
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        where = f"{filename} row {n}"

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        tag = cell(tag_cols[0])
        if not tag:
            out.problems.append(f"{where}: the {tag_cols[0]} column is empty")
            continue
        if tag in codes:
            out.problems.append(f"{where}: tag {tag!r} is listed twice (first at {codes[tag].path})")
            continue
        codes[tag] = RCode(derived_guid("codebook-csv", "tag", tag), tag, True, None, cell("description"), where)
        if cell("parent"):
            parents[tag] = (cell("parent"), where)
    for tag, code in codes.items():
        parent = parents.get(tag)
        if parent is None:
            out.codes.append(code)
        elif parent[0] not in codes:
            out.problems.append(f"{parent[1]}: parent {parent[0]!r} of tag {tag!r} is not a tag of the file")
        else:
            chain, p = {tag}, parent[0]
            while p in parents and p not in chain and len(chain) <= MAX_DEPTH:
                chain.add(p)
                p = parents[p][0]
            if p in chain:
                out.problems.append(f"{parent[1]}: tag {tag!r} is its own ancestor (through {p!r}); fix the parent "
                                    "column")
            elif len(chain) >= MAX_DEPTH:
                raise RefiError(depth_message(filename, tag, fix="move its sub-tags up a level and export again"))
            else:
                codes[parent[0]].children.append(code)
    return out, []


def _segments(path: str) -> list[tuple[str, bool]]:
    """``category>>code>>>sub`` as [(name, codable)]: a name before ``>>`` is a category
    unless a code came before it (a category cannot hang under a code); the last is a code."""
    parts = [t.strip() for t in _QC_SEP.split(path.strip())]
    names, seps = parts[0::2], parts[1::2]
    out, under_code = [], False
    for i, name in enumerate(names):
        if not name:
            continue
        codable = i == len(names) - 1 or under_code or seps[i].startswith(">>>")
        under_code = under_code or codable
        out.append((name, codable))
    return out


def _qualcoder(rows: list[list[str]], filename: str) -> tuple[RefiFile, list[str]]:
    out = RefiFile(name="", origin="QualCoder (codebook CSV)", kind="codebook")
    made: dict[tuple, RCode] = {}  # path as (name, codable) pairs -> its code
    listed: dict[tuple, str] = {}  # paths a row names -> that row
    warnings = []
    for n, row in enumerate(rows, 1):
        if not row or not row[0].strip():
            continue
        where = f"{filename} row {n}"
        segs = tuple(_segments(row[0]))
        if not segs:
            out.problems.append(f"{where}: {row[0]!r} names no code")
            continue
        if len(segs) > MAX_DEPTH:
            raise RefiError(depth_message(filename, row[0].strip()[:200], fix="move its codes up a level and "
                                                                                "export again"))
        if segs in listed:
            out.problems.append(f"{where}: {row[0].strip()!r} is listed twice (first at {listed[segs]})")
            continue
        listed[segs] = where
        siblings = out.codes
        for depth in range(1, len(segs) + 1):
            key = segs[:depth]
            code = made.get(key)
            if code is None:  # a category or parent code named only in this path is made here
                name, codable = key[-1]
                code = made[key] = RCode(derived_guid("codebook-csv", *(f"{k}:{int(c)}" for k, c in key)), name,
                                         codable, None, "", where)
                siblings.append(code)
            siblings = code.children
        code.description = row[1].strip() if len(row) > 1 else ""
    if any(len(r) > 2 and any(c.strip() for c in r[2:]) for r in rows):
        warnings.append(f"{filename}: columns after the second were ignored (QualCoder's codebook has the path and "
                        "the memo only)")
    return out, warnings
