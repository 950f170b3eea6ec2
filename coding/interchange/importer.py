"""Importing REFI-QDA projects (``.qdpx``) and codebooks (``.qdc``) into a project.

Reading is pure and happens first (:func:`read_qdpx`): the archive checked, the XML
parsed safely and validated, every reference, GUID and selection checked, every
position converted (:class:`coding.text.offsets.RefiPositions`, by the file's origin and
the source's own line endings). Without ``lenient`` any problem refuses the file with
every reason listed, each naming its element path; with it, what is valid is
imported and the rest reported. Storing then happens in one savepoint of the
caller's transaction: a failed import leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require_or_setup
from coding.codebook.tree import CodebookFile, code_tree, import_codebook, walk_nodes
from coding.work.documents import store_document
from coding.errors import CodingError, OffsetError
from coding.team.events import log_event
from coding.text.offsets import (
    REFI_CONVENTIONS,
    RefiPositions,
    inside_word,
    normalise_text,
    refi_convention,
    splits_surrogate,
)
from coding.store.models import (
    Attribute,
    Coder,
    Coding,
    Document,
    MemberAccount,
    Memo,
    Project,
    Set,
    SetMember,
    new_id,
)
from coding.codebook.walk import walk_tree
from coding.interchange.archive import MAX_XML_BYTES, QdpxArchive
from coding.interchange.codes import derived_guid, to_nodes
from coding.interchange.errors import RefiError
from coding.interchange.model import RCoding, RefiFile, RSource
from coding.interchange.reader import check_depth, read_codebook, read_project
from coding.interchange.schema import CODEBOOK_XSD, PROJECT_XSD, parse_xml, validate

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


@dataclass
class RefiImportReport:
    """What an import stored, skipped and found; :meth:`lines` says it in words."""

    file: str
    origin: str
    convention: str
    project: str = ""
    dry_run: bool = False
    members_created: list[str] = field(default_factory=list)
    members_matched: list[str] = field(default_factory=list)
    codes_created: int = 0
    codes_updated: int = 0
    documents: list[str] = field(default_factory=list)
    codings_by_coder: dict[str, int] = field(default_factory=dict)
    consensus_codings: int = 0
    document_memos: int = 0
    coding_memos: int = 0
    journal_entries: int = 0
    code_notes: int = 0  # appended to their code's definition (there are no memos on codes)
    sets_created: int = 0
    sets_updated: int = 0
    set_members: int = 0
    attributes: int = 0
    selections: int = 0
    inside_word: int = 0
    snapped: int = 0
    skipped: Counter = field(default_factory=Counter)  # kind -> count, never silently dropped
    problems: list[str] = field(default_factory=list)  # found and skipped (lenient)
    warnings: list[str] = field(default_factory=list)

    @property
    def inside_word_share(self) -> float:
        return self.inside_word / self.selections if self.selections else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items()}
        d["skipped"] = dict(self.skipped)
        d["inside_word_share"] = round(self.inside_word_share, 4)
        return d

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        out = [f"{self.file} ({self.origin or 'origin not given'}; positions read as {self.convention}): "
               f"{verb} into {self.project!r}",
               f"members: {len(self.members_created)} new ({', '.join(self.members_created) or '-'}), "
               f"{len(self.members_matched)} already there ({', '.join(self.members_matched) or '-'})",
               f"codes: {self.codes_created} new, {self.codes_updated} updated",
               f"documents: {len(self.documents)}",
               "codings: " + (", ".join(f"{k} {v}" for k, v in sorted(self.codings_by_coder.items())) or "none")
               + (f" (consensus layer: {self.consensus_codings})" if self.consensus_codings else ""),
               f"memos: {self.document_memos} on documents, {self.coding_memos} on codings, "
               f"{self.journal_entries} journal entries; attributes: {self.attributes} values",
               f"sets: {self.sets_created} new, {self.sets_updated} updated ({self.set_members} members)"]
        if self.code_notes:
            out.append(f"notes on codes: {self.code_notes}, appended to their code's definition under a line "
                       f"{CODE_NOTE_LINE!r} (the workbench keeps no memos on codes)")
        if self.selections:
            out.append(f"selections: {self.selections}, {self.inside_word} ({self.inside_word_share:.0%}) start or "
                       f"end inside a word, {self.snapped} widened to whole characters")
        if self.skipped:
            out.append("not imported: " + ", ".join(f"{n} {k}" for k, n in sorted(self.skipped.items())))
        return out


# --- reading (pure) ------------------------------------------------------------------

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
    schema_errors = validate(root, PROJECT_XSD)
    refi = read_project(root)
    convention = positions or refi_convention(refi.origin)
    if convention not in REFI_CONVENTIONS:
        raise RefiError(f"positions {convention!r} is not a known convention: use one of "
                        f"{', '.join(REFI_CONVENTIONS)}")
    plan = _Plan(refi, filename, convention)
    if schema_errors is None:
        plan.warnings.append("the REFI-QDA schemas were not found (set CODING_REFI_SCHEMAS): the file was checked "
                             "by the reader only, not against the XSD")
    else:
        plan.problems[:0] = [f"schema: {e}" for e in schema_errors]
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
                                    "\n\n".join(t for t in (memo, _note_text(plan, c.notes, c.path)) if t)))

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
            memo = _note_text(plan, sel.notes, sel.path)
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
    """Read and check a ``.qdc`` codebook without storing anything."""
    root = parse_xml(data, filename)
    check_depth(root, filename)  # before the schema validator, which recurses per level
    schema_errors = validate(root, CODEBOOK_XSD)
    plan = _Plan(read_codebook(root), filename, "standard")
    if schema_errors is None:
        plan.warnings.append("the REFI-QDA schemas were not found: the file was checked by the reader only")
    else:
        plan.problems[:0] = [f"schema: {e}" for e in schema_errors]
    _check_guids(plan)
    return plan


def _refuse_or_report(plan: _Plan, lenient: bool) -> None:
    if plan.problems and not lenient:
        shown = plan.problems[:MAX_REASONS]
        more = f" (and {len(plan.problems) - len(shown)} more)" if len(plan.problems) > len(shown) else ""
        raise RefiError(
            f"{plan.filename}: refused, nothing was imported: {len(plan.problems)} problem(s){more}:\n  "
            + "\n  ".join(shown) + "\nFix the file, or import what is valid with --lenient", plan.problems)


# --- storing -----------------------------------------------------------------------------

def _free(s: Session, model: type, wanted: str | None) -> str:
    """``wanted`` as the new row's id when it is a GUID no row uses yet (ids are global:
    the same file imported into two projects gets fresh ids the second time)."""
    g = _uuid(wanted)
    return g if g and s.get(model, g) is None else new_id()


class _Store:
    def __init__(self, s: Session, project: Project, member: Any, plan: _Plan, report: RefiImportReport):
        self.s, self.project, self.member, self.plan, self.report = s, project, member, plan, report
        self.users: dict[str, tuple[str, str]] = {}  # user guid -> (coder id, layer)
        self.names: dict[str, str] = {}  # coder id -> name
        self.codes: dict[str, str] = {}  # code guid -> code id
        self.docs: dict[str, Document] = {}  # source guid -> document

    def members(self) -> None:
        s, p, r = self.s, self.project, self.plan.refi
        existing = {c.id: c for c in s.scalars(select(Coder).where(Coder.project_id == p.id))}
        by_name = {c.name.casefold(): c for c in existing.values()}
        guids = {u.guid for u in r.users}
        consensus_of = {derived_guid("consensus", g): g for g in guids}
        for u in sorted(r.users, key=lambda u: u.guid in consensus_of):
            if u.guid in consensus_of:
                self.users[u.guid] = (self.users[consensus_of[u.guid]][0], "consensus")
                continue
            name = (u.name or f"user {u.guid[:8]}").strip()[:120]
            name = "".join(ch for ch in name if ord(ch) >= 32 and ord(ch) != 127) or f"user {u.guid[:8]}"
            coder = existing.get(u.guid) or by_name.get(name.casefold())
            if coder is not None:
                self.report.members_matched.append(coder.name)
            else:
                coder = Coder(id=_free(s, Coder, u.guid), project_id=p.id, name=name, role="coder")
                s.add(coder)
                s.flush()
                s.add(MemberAccount(coder_id=coder.id, must_change_password=False))
                by_name[name.casefold()] = coder
                log_event(s, p.id, self.member, "member.add", "coder", coder.id, name=name, role="coder")
                self.report.members_created.append(name)
            self.users[u.guid] = (coder.id, "coder")
            self.names[coder.id] = coder.name
        if self.member is not None:
            self.names[self.member.id] = self.member.name

    def fallback_user(self) -> tuple[str, str]:
        r = self.plan.refi
        if r.creating_user in self.users:
            return self.users[r.creating_user]
        if self.member is None:
            raise RefiError(f"{self.plan.filename}: some codings name no user and no member is importing: "
                            "import as a lead (CLI: --as NAME)")
        return self.member.id, "coder"

    def codebook(self, force_codable: set[str]) -> None:
        nodes = to_nodes(self.plan.refi.codes, self.plan.warnings, force_codable)
        for n in walk_nodes(nodes):
            texts = self.plan.code_notes.get(n.id or "")
            if texts:
                n.definition = "\n\n".join([n.definition] * bool(n.definition)
                                            + [f"{CODE_NOTE_LINE}\n{x}" for x in texts])
            n.id = _uuid(n.id)
        if not nodes:
            return
        counts = import_codebook(self.s, self.project, CodebookFile("", "", nodes), member=self.member)
        self.report.codes_created, self.report.codes_updated = counts["created"], counts["updated"]
        tree = code_tree(self.s, self.project)

        def pairs(rcodes, rnodes) -> list:
            return list(zip(rcodes, rnodes, strict=True))

        paths: dict[int, str] = {}  # id((REFI code, node)) -> the node's path
        for step in walk_tree(pairs(self.plan.refi.codes, nodes), lambda pair: pairs(pair[0].children,
                                                                                     pair[1].children)):
            rc, n = step.node
            prefix = paths[id(step.parent)] if step.parent is not None else ""
            path = paths[id(step.node)] = f"{prefix}/{n.name}" if prefix else n.name
            self.codes[rc.guid] = tree.by_path[path].id

    def documents(self) -> None:
        s, p = self.s, self.project
        taken = {n.casefold() for n in s.scalars(select(Document.name).where(Document.project_id == p.id))}
        for src in self.plan.sources:
            name, n = src.name, 2
            while name.casefold() in taken:
                name = f"{src.name} ({n})"
                n += 1
            taken.add(name.casefold())
            # the file's GUID is kept as the document's id, so a round trip keeps it
            sp = s.begin_nested()
            try:
                doc = store_document(s, p, name, src.filename, src.data, actor=self.member,
                                     document_id=_free(s, Document, src.src.guid))
            except CodingError as exc:
                sp.rollback()
                self.plan.problem(f"{src.src.path}: {exc}")
                continue
            if src.positions is not None and doc.text != src.positions.text:
                sp.rollback()
                self.plan.problem(f"{src.src.path}: its text changed when read ({src.filename}); positions "
                                  "cannot be trusted")
                continue
            if src.src.created:
                doc.imported_at = src.src.created
            sp.commit()
            self.docs[src.src.guid] = doc
            self.report.documents.append(name)

    def codings(self) -> None:
        s, p = self.s, self.project
        rows, seen, ids = [], set(), set()
        per_doc: Counter = Counter()
        for c in self.plan.codings:
            doc = self.docs.get(c.document)
            if doc is None or c.code not in self.codes:
                self.report.skipped["codings on sources not imported"] += 1
                continue
            coder_id, layer = self.users[c.user] if c.user in self.users else self.fallback_user()
            key = (doc.id, coder_id, layer, c.start, c.end, self.codes[c.code])
            if key in seen:
                self.report.skipped["duplicate codings (same coder, code and span)"] += 1
                continue
            seen.add(key)
            cid = _uuid(c.guid)
            if cid in ids:
                cid = None
            rows.append({"id": cid, "project_id": p.id, "document_id": doc.id, "code_id": self.codes[c.code],
                         "coder_id": coder_id, "start": c.start, "end": c.end, "memo": c.memo,
                         "provenance": "imported", "layer": layer,
                         "created_at": c.created or datetime.now(UTC)})
            ids.add(cid)
            name = self.names.get(coder_id, coder_id)
            if layer == "consensus":
                self.report.consensus_codings += 1
            else:
                self.report.codings_by_coder[name] = self.report.codings_by_coder.get(name, 0) + 1
            self.report.coding_memos += bool(c.memo)
            per_doc[doc.id] += 1
        wanted = [r["id"] for r in rows if r["id"]]
        taken = set()
        for i in range(0, len(wanted), 500):
            taken |= set(s.scalars(select(Coding.id).where(Coding.id.in_(wanted[i:i + 500]))))
        for r in rows:
            if not r["id"] or r["id"] in taken:
                r["id"] = new_id()
        if rows:
            s.execute(Coding.__table__.insert(), rows)

    def memos(self) -> None:
        s, p, r, plan = self.s, self.project, self.plan.refi, self.plan
        referenced = set(r.project_notes)
        on_doc: dict[tuple[str, str | None], list] = defaultdict(list)
        notes = {n.guid: n for n in r.notes}
        for src in r.sources:
            referenced |= set(src.notes)
            referenced |= {g for sel in src.selections for g in sel.notes}
            referenced |= {g for sel in src.selections for c in sel.codings for g in c.notes}
            doc = self.docs.get(src.guid)
            for g in src.notes:
                if g not in notes:
                    plan.problem(f"{src.path}: NoteRef {g} names no note of the file")
                elif doc is not None and plan.notes.get(g):
                    author = self.users.get(notes[g].user, (self.member.id if self.member else None, ""))[0]
                    on_doc[(doc.id, author)].append(notes[g])
        for c in r.walk_codes():
            referenced |= set(c.notes)  # stored in the code's definition (see codebook)
        self.report.code_notes = sum(len(v) for v in plan.code_notes.values())
        for (doc_id, author), ns in on_doc.items():
            doc = s.get(Document, doc_id)
            own = f"Memo on {doc.name}"
            title = next((n.name for n in ns if n.name and n.name != own), "")
            m = Memo(id=_free(s, Memo, ns[0].guid), project_id=p.id, document_id=doc_id, author_id=author,
                     title=title[:300], text="\n\n".join(plan.notes[n.guid] for n in ns))
            if ns[0].created:
                m.created_at = m.updated_at = ns[0].created
            s.add(m)
            s.flush()
            log_event(s, p.id, self.member, "memo.document", "memo", m.id, document=doc_id, before=None, after=m.text)
            self.report.document_memos += 1
        journal = [notes[g] for g in r.project_notes if g in notes]
        journal += [n for n in r.notes if n.guid not in referenced]
        for n in journal:
            text = plan.notes.get(n.guid)
            if not text:
                self.report.skipped["empty notes"] += 1
                continue
            author = self.users.get(n.user, (self.member.id if self.member else None, ""))[0]
            m = Memo(id=_free(s, Memo, n.guid), project_id=p.id, document_id=None, author_id=author,
                     title=(n.name or "Note")[:300], text=text)
            if n.created:
                m.created_at = m.updated_at = n.created
            s.add(m)
            s.flush()
            log_event(s, p.id, self.member, "memo.journal.add", "memo", m.id, title=m.title, text=text)
            self.report.journal_entries += 1

    def sets(self) -> None:
        """Sets of documents and codes; a set whose GUID is already a set of this project is
        updated (name, description) and gains the members it lacks, as codes merge by GUID."""
        s, p, r, plan = self.s, self.project, self.plan.refi, self.plan
        known_sources = {x.guid for x in r.sources} | r.media
        for rs in r.sets:
            docs, codes = [], []
            for g in rs.sources:
                if g in self.docs:
                    docs.append(self.docs[g].id)
                elif g in known_sources:
                    self.report.skipped["set members: sources not imported"] += 1
                else:
                    plan.problem(f"{rs.path}: MemberSource {g} names no source of the file")
            for g in rs.codes:
                if g in self.codes:
                    codes.append(self.codes[g])
                else:
                    plan.problem(f"{rs.path}: MemberCode {g} names no code of the codebook")
            if rs.notes:
                self.report.skipped["set members: notes"] += len(rs.notes)
            name = (rs.name or "(unnamed set)")[:300]
            found = s.get(Set, _uuid(rs.guid)) if _uuid(rs.guid) else None
            if found is not None and found.project_id == p.id:
                found.name, found.description = name, rs.description
                have = set(s.execute(select(SetMember.document_id, SetMember.code_id)
                                     .where(SetMember.set_id == found.id)).all())
                self.report.sets_updated += 1
                row = found
            else:
                row = Set(id=_free(s, Set, rs.guid), project_id=p.id, name=name, description=rs.description)
                s.add(row)
                s.flush()
                have = set()
                self.report.sets_created += 1
            new = [(d, None) for d in dict.fromkeys(docs)] + [(None, c) for c in dict.fromkeys(codes)]
            new = [m for m in new if m not in have]
            if new:
                s.execute(SetMember.__table__.insert(),
                          [{"id": new_id(), "set_id": row.id, "document_id": d, "code_id": c} for d, c in new])
            self.report.set_members += len(new)

    def attributes(self) -> None:
        s, p, r = self.s, self.project, self.plan.refi
        variables = {v.guid: v.name for v in r.variables}
        values: dict[str, dict[str, str]] = defaultdict(dict)

        def put(doc_guid: str, vals, path: str) -> None:
            doc = self.docs.get(doc_guid)
            for v in vals:
                name = variables.get(v.variable)
                if name is None:
                    self.plan.problem(f"{path}: VariableRef {v.variable} names no variable of the file")
                elif doc is not None:
                    values[doc.id][name[:120]] = v.value

        for case in r.cases:
            for g in case.sources:
                if g not in self.docs and g not in {x.guid for x in r.sources}:
                    self.plan.problem(f"{case.path}: SourceRef {g} names no source of the file")
                put(g, case.values, case.path)
        for src in r.sources:
            put(src.guid, src.values, src.path)
        n = 0
        for doc_id, attrs in values.items():
            existing = {a.name: a for a in s.scalars(select(Attribute).where(Attribute.document_id == doc_id))}
            for name, value in sorted(attrs.items()):
                if name in existing:
                    existing[name].value = value
                else:
                    s.add(Attribute(document_id=doc_id, name=name, value=value))
                n += 1
        if n:
            s.flush()
            log_event(s, p.id, self.member, "attributes.import", "project", p.id, file=self.plan.filename, values=n)
        self.report.attributes = n


def _report(plan: _Plan, project: Project, dry_run: bool) -> RefiImportReport:
    return RefiImportReport(plan.filename, plan.refi.origin, plan.convention, project.name, dry_run,
                            selections=plan.selections, inside_word=plan.inside_word, snapped=plan.snapped)


def _finish(s: Session, project: Project, member: Any, plan: _Plan, report: RefiImportReport,
            lenient: bool) -> None:
    report.skipped.update(plan.skipped)
    report.skipped = +report.skipped  # drop kinds counted zero
    report.warnings = list(plan.warnings)
    report.problems = list(plan.problems)
    _refuse_or_report(plan, lenient)
    log_event(s, project.id, member, "interchange.import", "project", project.id,
              file=plan.filename, kind=plan.refi.kind, origin=plan.refi.origin, positions=plan.convention,
              documents=report.documents, codes={"created": report.codes_created, "updated": report.codes_updated},
              codings=report.codings_by_coder, consensus=report.consensus_codings,
              coders=report.members_created,
              memos={"documents": report.document_memos, "codings": report.coding_memos,
                     "journal": report.journal_entries},
              code_notes=report.code_notes,
              sets={"created": report.sets_created, "updated": report.sets_updated, "members": report.set_members},
              attributes=report.attributes, skipped=dict(report.skipped), warnings=report.warnings,
              problems=report.problems[:MAX_REASONS])


def _acting(s: Session, project: Project, member: Any):
    # An import adds members and edits the codebook: a lead's work (or the setup of a new project).
    return require_or_setup(s, member, Action.MANAGE_MEMBERS, project)


def import_qdpx(s: Session, project: Project, member: Any, data: bytes, filename: str, *, lenient: bool = False,
                positions: str | None = None, dry_run: bool = False) -> RefiImportReport:
    """Import a REFI-QDA project into ``project`` as ``member`` (a lead), all or nothing.

    ``positions`` overrides how positions are counted (see
    :data:`coding.text.offsets.REFI_CONVENTIONS`; default: by the file's origin). ``dry_run``
    does all the work and checks, then rolls it back: the report is the summary to show
    before committing. Raises :class:`RefiError` listing the problems unless ``lenient``."""
    member = _acting(s, project, member)
    plan = read_qdpx(data, filename, positions=positions)
    _refuse_or_report(plan, lenient)
    report = _report(plan, project, dry_run)
    nested = s.begin_nested()
    try:
        st = _Store(s, project, member, plan, report)
        st.members()
        st.codebook({c.code for c in plan.codings})
        st.documents()
        st.codings()
        st.memos()
        st.sets()
        st.attributes()
        _finish(s, project, member, plan, report, lenient)
        s.flush()
    except BaseException:
        nested.rollback()
        raise
    if dry_run:
        nested.rollback()
    else:
        nested.commit()
    return report


def import_qdc(s: Session, project: Project, member: Any, data: bytes, filename: str, *,
               lenient: bool = False) -> RefiImportReport:
    """Merge a REFI-QDA codebook into ``project`` (by GUID, then by path), as a lead."""
    member = require_or_setup(s, member, Action.EDIT_CODEBOOK, project)
    plan = read_qdc(data, filename)
    _refuse_or_report(plan, lenient)
    report = _report(plan, project, False)
    with s.begin_nested():
        st = _Store(s, project, member, plan, report)
        st.codebook(set())
        st.sets()
        _finish(s, project, member, plan, report, lenient)
    return report
