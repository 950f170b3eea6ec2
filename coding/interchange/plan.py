"""Reading a REFI-QDA file into an import plan, before the database is touched (pure).

:func:`read_qdpx` and :func:`read_qdc` check the archive, parse the XML safely and
validate it, check every reference, GUID and selection, and convert every position
(:class:`coding.text.offsets.RefiPositions`, by the file's origin and the source's own
line endings). Problems are listed in the plan, each naming its element path;
:func:`_refuse_or_report` refuses the file with all of them unless the import is lenient.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from coding.errors import OffsetError
from coding.interchange.archive import MAX_XML_BYTES, QdpxArchive
from coding.interchange.codebook_csv import read_codebook_csv
from coding.interchange.errors import RefiError
from coding.interchange.model import RCoding, RefiFile, RSource
from coding.interchange.reader import check_depth, read_codebook, read_project
from coding.interchange.schema import CODEBOOK_XSD, PROJECT_XSD, accept_harmless, parse_xml, validate
from coding.text.offsets import (
    REFI_CONVENTIONS,
    RefiPositions,
    inside_word,
    normalise_text,
    refi_convention,
    splits_surrogate,
)

#: A share of selection boundaries inside words above this is worth a warning...
WARN_INSIDE_WORDS = 0.2
#: ...and above this the positions were almost surely read wrongly: refused unless lenient.
REFUSE_INSIDE_WORDS = 0.5
MAX_REASONS = 25
#: The line above a note on a code appended to the code's definition.
CODE_NOTE_LINE = "Note (imported):"


def _uuid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


@dataclass
class _Source:
    """A text source ready to store: its stored text and how its positions convert."""

    src: RSource
    name: str
    filename: str
    data: bytes  # what parse_transcript reads (.txt as UTF-8, or the .docx)
    positions: RefiPositions | None


@dataclass
class _Coding:
    document: str  # source guid
    code: str
    user: str | None
    start: int
    end: int
    guid: str
    created: datetime | None
    memo: str


def _decode_source(data: bytes, where: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


class _Plan:
    """Everything checked and converted before the database is touched."""

    def __init__(self, refi: RefiFile, filename: str, convention: str):
        self.refi = refi
        self.filename = filename
        self.convention = convention
        self.problems: list[str] = list(refi.problems)
        self.warnings: list[str] = []
        self.skipped: Counter = Counter(refi.unsupported)
        self.sources: list[_Source] = []
        self.codings: list[_Coding] = []
        self.notes: dict[str, str] = {}
        self.code_notes: dict[str, list[str]] = {}  # code guid -> texts of its notes
        self.selections = 0
        self.inside_word = 0
        self.snapped = 0

    def problem(self, msg: str) -> None:
        self.problems.append(msg)


def read_qdpx(data: bytes, filename: str, *, positions: str | None = None) -> _Plan:
    """Read and check a ``.qdpx`` without storing anything; problems are listed in the plan."""
    archive = QdpxArchive(data, filename)
    qde = archive.project_member()
    root = parse_xml(archive.read(qde, limit=MAX_XML_BYTES), f"{filename}: {qde}")
    check_depth(root, filename)  # before the schema validator, which recurses per level
    accepted = accept_harmless(root)
    schema_errors = validate(root, PROJECT_XSD)
    refi = read_project(root)
    convention = positions or refi_convention(refi.origin)
    if convention not in REFI_CONVENTIONS:
        raise RefiError(f"positions {convention!r} is not a known convention: use one of "
                        f"{', '.join(REFI_CONVENTIONS)}")
    plan = _Plan(refi, filename, convention)
    _schema_findings(plan, accepted, schema_errors)
    _check_guids(plan)
    _load_sources(plan, archive)
    _load_notes(plan, archive)
    _collect_code_notes(plan)
    _collect_codings(plan)
    return plan


def _check_guids(plan: _Plan) -> None:
    r = plan.refi
    where: dict[str, str] = {}
    objs = [*r.users, *r.walk_codes(), *r.variables, *r.cases, *r.sources, *r.notes, *r.sets,
            *(sel for s in r.sources for sel in s.selections),
            *(c for s in r.sources for sel in s.selections for c in sel.codings),
            *(c for s in r.sources for c in s.codings)]
    for o in objs:
        if _uuid(o.guid) is None:
            plan.problem(f"{o.path}: guid {o.guid!r} is not a GUID")
            continue
        if o.guid in where:
            plan.problem(f"{o.path}: GUID {o.guid} is used twice (also by {where[o.guid]}); each object needs its own")
        else:
            where[o.guid] = o.path


def _load_sources(plan: _Plan, archive: QdpxArchive) -> None:
    taken: set[str] = set()
    for src in plan.refi.sources:
        given = src.plain_path or src.rich_path or ""
        stem = given.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        # unnamed sources are named after their file, unless that is just their GUID
        name = (src.name or "").strip() or (stem if stem and stem.lower() != src.guid else "") or src.guid
        base, n = name[:280], 2
        while name.casefold() in taken:
            name = f"{base} ({n})"
            n += 1
        taken.add(name.casefold())
        raw: str | None = None
        data: bytes
        if src.content is not None and not src.plain_path:
            raw = src.content
            filename, data = f"{src.guid}.txt", raw.encode("utf-8")
        elif src.plain_path:
            member = archive.find_source(src.plain_path)
            if member is None:
                plan.problem(f"{src.path}: its text {src.plain_path!r} is not in the archive; export the project "
                             "again with its sources")
                continue
            try:
                raw = _decode_source(archive.read(member), member)
            except UnicodeDecodeError:
                plan.problem(f"{src.path}: its text {member!r} is not UTF-8 (REFI-QDA sources are); save it as UTF-8")
                continue
            filename, data = member.rsplit("/", 1)[-1], raw.encode("utf-8")
        elif src.rich_path:
            member = archive.find_source(src.rich_path)
            if member is None or not member.lower().endswith(".docx"):
                plan.problem(f"{src.path}: its rich text {src.rich_path!r} is not a .docx in the archive")
                continue
            filename, data = member.rsplit("/", 1)[-1], archive.read(member)
            if src.selections:
                plan.warnings.append(f"{src.path}: only rich text (.docx) is given; its selections are placed on "
                                     "the text read from the .docx, which may differ from the tool's plain text")
        else:
            plan.problem(f"{src.path}: has neither plainTextPath, PlainTextContent nor richTextPath")
            continue
        if raw is not None and not normalise_text(raw).strip() or not data.strip():
            if src.selections or src.codings:
                plan.problem(f"{src.path}: its text is empty but it has selections")
            else:
                plan.skipped["empty text sources"] += 1
            continue
        if not filename.lower().endswith((".txt", ".docx")):
            filename += ".txt"
        positions = None
        if raw is not None:
            positions = RefiPositions(raw, plan.convention)
        plan.sources.append(_Source(src, name, filename, data, positions))


def _load_notes(plan: _Plan, archive: QdpxArchive) -> None:
    for note in plan.refi.notes:
        text = note.content
        if text is None and note.plain_path:
            member = archive.find_source(note.plain_path)
            if member is None:
                plan.problem(f"{note.path}: its text {note.plain_path!r} is not in the archive")
                continue
            try:
                text = _decode_source(archive.read(member), member)
            except UnicodeDecodeError:
                plan.problem(f"{note.path}: its text {member!r} is not UTF-8")
                continue
        plan.notes[note.guid] = normalise_text(text or "").strip()


def _note_text(plan: _Plan, refs: list[str], path: str) -> str:
    texts = []
    for g in refs:
        if g not in plan.notes:
            plan.problem(f"{path}: NoteRef {g} names no note of the file")
        elif plan.notes[g]:
            texts.append(plan.notes[g])
    return "\n\n".join(texts)


def _collect_code_notes(plan: _Plan) -> None:
    """The texts of notes attached to codes: the workbench has no memo on a code (a memo
    belongs to a document or to the journal), so they go into the code's definition."""
    for c in plan.refi.walk_codes():
        texts = []
        for g in c.notes:
            if g not in plan.notes:
                plan.problem(f"{c.path}: NoteRef {g} names no note of the file")
            elif plan.notes[g]:
                texts.append(plan.notes[g])
        if texts:
            plan.code_notes[c.guid] = texts
    if plan.code_notes:
        paths = [c.name for c in plan.refi.walk_codes() if c.guid in plan.code_notes]
        n = sum(len(v) for v in plan.code_notes.values())
        plan.warnings.append(
            f"{n} note(s) on {len(paths)} code(s) ({', '.join(paths[:5])}{', ...' if len(paths) > 5 else ''}) were "
            f"appended to the code's definition under a line {CODE_NOTE_LINE!r}: the workbench keeps no memos on "
            "codes")


def _join(*texts: str) -> str:
    """Memo texts joined, each once: a tool (this one included) may write the same memo as
    the selection's Description and as a note on its coding."""
    return "\n\n".join(dict.fromkeys(t for t in texts if t))


def _collect_codings(plan: _Plan) -> None:
    code_guids = {c.guid for c in plan.refi.walk_codes()}
    user_guids = {u.guid for u in plan.refi.users}

    def add(src: _Source, c: RCoding, user: str | None, start: int, end: int, memo: str) -> None:
        if c.code not in code_guids:
            plan.problem(f"{c.path}: CodeRef {c.code} names no code of the codebook")
            return
        u = c.user or user
        if u is not None and u not in user_guids:
            plan.problem(f"{c.path}: creatingUser {u} names no user of the file")
            u = None
        plan.codings.append(_Coding(src.src.guid, c.code, u, start, end, c.guid, c.created,
                                    _join(memo, _note_text(plan, c.notes, c.path))))

    for src in plan.sources:
        text = src.positions.text if src.positions else None
        for sel in src.src.selections:
            if src.positions is None:  # a .docx-only source: positions taken as code points of its text
                start, end, exact = sel.start, sel.end, True
            else:
                try:
                    start, end, exact = src.positions.to_stored(sel.start, sel.end)
                except OffsetError as exc:
                    plan.problem(f"{sel.path}: {exc}")
                    continue
            plan.selections += 1
            if not exact:
                plan.snapped += 1
            if text is not None:
                if splits_surrogate(text, start, end):
                    plan.problem(f"{sel.path}: [{start}, {end}) splits a surrogate pair")
                    continue
                if inside_word(text, start) or inside_word(text, end):
                    plan.inside_word += 1
            memo = _join(normalise_text(sel.description).strip(), _note_text(plan, sel.notes, sel.path))
            for c in sel.codings:
                add(src, c, sel.user, start, end, memo)
        for c in src.src.codings:
            length = src.positions and len(src.positions.text)
            if length:
                add(src, c, None, 0, length, "")
    share = plan.inside_word / plan.selections if plan.selections else 0.0
    if plan.selections >= 5 and share > WARN_INSIDE_WORDS:
        better = _better_convention(plan)
        hint = (f"; read as {better[0]} only {better[1]:.0%} would: import again with positions={better[0]} "
                "(CLI: --positions)" if better else "")
        msg = (f"{share:.0%} of the selections start or end inside a word, so the positions were probably "
               f"read wrongly (counted as {plan.convention}){hint}")
        if share > REFUSE_INSIDE_WORDS:
            plan.problem(msg)
        else:
            plan.warnings.append(msg)


def _better_convention(plan: _Plan) -> tuple[str, float] | None:
    """The convention under which the fewest selection boundaries fall inside words."""
    best = None
    for conv in REFI_CONVENTIONS:
        if conv == plan.convention:
            continue
        n = inside = 0
        for src in plan.sources:
            if src.positions is None:
                continue
            pos = RefiPositions(src.src.content if src.src.content is not None and not src.src.plain_path
                                else _raw_of(src), conv)
            for sel in src.src.selections:
                try:
                    s, e, _ = pos.to_stored(sel.start, sel.end)
                except OffsetError:
                    inside += 1
                    n += 1
                    continue
                n += 1
                inside += inside_word(pos.text, s) or inside_word(pos.text, e)
        if n and (best is None or inside / n < best[1]):
            best = (conv, inside / n)
    cur = plan.inside_word / plan.selections
    return best if best and best[1] < cur / 2 else None


def _raw_of(src: _Source) -> str:
    return src.data.decode("utf-8")


def read_qdc(data: bytes, filename: str) -> _Plan:
    """Read and check a ``.qdc`` codebook, or a codebook CSV exported by Taguette or
    QualCoder (:mod:`.codebook_csv`), without storing anything."""
    if filename.lower().endswith(".csv"):
        refi, notes = read_codebook_csv(data, filename)
        plan = _Plan(refi, filename, "standard")
        plan.warnings.extend(notes)
    else:
        root = parse_xml(data, filename)
        check_depth(root, filename)  # before the schema validator, which recurses per level
        accepted = accept_harmless(root)
        schema_errors = validate(root, CODEBOOK_XSD)
        plan = _Plan(read_codebook(root), filename, "standard")
        _schema_findings(plan, accepted, schema_errors)
    _check_guids(plan)
    return plan


def _schema_findings(plan: _Plan, accepted: list[str], errors: list[str]) -> None:
    """Known harmless deviations become warnings that name them; every other schema
    error is a problem (the file is refused unless lenient)."""
    plan.warnings[:0] = [f"schema: {a} (a known harmless deviation of real tools)" for a in accepted]
    plan.problems[:0] = [f"schema: {e}" for e in errors]


def _refuse_or_report(plan: _Plan, lenient: bool) -> None:
    if plan.problems and not lenient:
        shown = plan.problems[:MAX_REASONS]
        more = f" (and {len(plan.problems) - len(shown)} more)" if len(plan.problems) > len(shown) else ""
        raise RefiError(
            f"{plan.filename}: refused, nothing was imported: {len(plan.problems)} problem(s){more}:\n  "
            + "\n  ".join(shown) + "\nFix the file, or import what is valid with --lenient", plan.problems)
