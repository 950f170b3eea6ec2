"""Storing a checked import plan into a project: members, codebook, documents, codings,
memos, sets and attributes, in the caller's savepoint (see :mod:`coding.interchange.importer`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import CodebookFile, code_tree, import_codebook, walk_nodes
from coding.codebook.walk import walk_tree
from coding.errors import CodingError
from coding.interchange.codes import derived_guid, to_nodes
from coding.interchange.errors import RefiError
from coding.interchange.model import RNote
from coding.interchange.plan import CODE_NOTE_LINE, _Plan, _uuid
from coding.interchange.report import RefiImportReport
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
from coding.team.events import log_event
from coding.text.offsets import normalise_text
from coding.work.documents import store_document


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
            if doc is not None and not src.notes and src.description.strip():
                # a source's memo in its Description (QualCoder); a file that also gives the source
                # notes (as ours do, one per author) has them in the notes
                g = derived_guid("source-memo", src.guid)
                plan.notes[g] = normalise_text(src.description).strip()
                author = self.users.get(src.user, (self.member.id if self.member else None, ""))[0]
                on_doc[(doc.id, author)].append(RNote(g, "", src.user, None, None, src.created, src.path))
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
