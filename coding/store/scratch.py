"""A private in-memory copy of one project: an import's own code runs on it, and what it
added and changed comes back as plain rows.

Why: importing a big file (100,000 codes) runs for a minute in the ORM. On the shared
database that minute is one write transaction, and SQLite's single write lock makes every
coder wait for it. On the copy it holds no lock anywhere; :mod:`coding.work.staged_import` then
writes the rows in short transactions.

The copy holds what the importers read (:data:`MIRRORED`): the project row, its members
and their accounts, its codes, documents, sets and set members. An import picks the ids of
new rows itself (a REFI-QDA file's GUIDs) when no row uses them yet; ids that only the
shared database knows (used in another project) are found afterwards by :func:`taken_ids`,
and the import is run again on a copy holding a stand-in row for each, so it picks fresh
ids exactly as it would on the shared database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from coding.errors import StoreError
from coding.store.engine import make_engine
from coding.store.models import Base, Code, Coder, Coding, Document, MemberAccount, Memo, Project, Set, SetMember, new_id

T = TypeVar("T")
_IN = 500  # ids per IN (...) list

#: What the importers read of a project, as (model, condition on the project id).
MIRRORED: tuple[tuple[type, Callable[[str], Any]], ...] = (
    (Project, lambda pid: Project.id == pid),
    (Coder, lambda pid: Coder.project_id == pid),
    (MemberAccount, lambda pid: MemberAccount.coder_id.in_(select(Coder.id).where(Coder.project_id == pid))),
    (Code, lambda pid: Code.project_id == pid),
    (Document, lambda pid: Document.project_id == pid),
    (Set, lambda pid: Set.project_id == pid),
    (SetMember, lambda pid: SetMember.set_id.in_(select(Set.id).where(Set.project_id == pid))),
)
#: Tables whose new rows may carry an id the import chose (a GUID of the file); other
#: tables' ids are fresh UUIDs.
CHOSEN_IDS = (Coder, Code, Document, Coding, Memo, Set)


@dataclass
class Changes:
    """What an import added and changed, as plain rows of the shared schema."""

    #: table name -> new rows, tables in foreign-key order and a tree's parents first
    inserts: dict[str, list[dict]] = field(default_factory=dict)
    #: table name -> [(primary key values, changed columns)]
    updates: dict[str, list[tuple[dict, dict]]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(map(len, self.inserts.values())) + sum(map(len, self.updates.values()))


def copy_project(s: Session, project_id: str) -> dict[str, list[dict]]:
    """The rows of the project that the importers read, from the shared database."""
    out: dict[str, list[dict]] = {}
    for model, where in MIRRORED:
        table = model.__table__
        out[table.name] = [dict(r) for r in s.execute(select(table).where(where(project_id))).mappings()]
    if not out["projects"]:
        raise StoreError("the project was deleted before the import started; nothing was imported")
    return out


def taken_ids(s: Session, changes: Changes, project_id: str) -> dict[str, set[str]]:
    """Ids the import gave to new rows that a row of the shared database already has."""
    out: dict[str, set[str]] = {}
    for model in CHOSEN_IDS:
        table = model.__table__
        ids = [r["id"] for r in changes.inserts.get(table.name, ())]
        for i in range(0, len(ids), _IN):
            hit = set(s.scalars(select(table.c.id).where(table.c.id.in_(ids[i:i + _IN]))))
            if hit:
                out.setdefault(table.name, set()).update(hit)
    return out


def run_on_copy(rows: dict[str, list[dict]], project_id: str, work: Callable[[Session, Project], T], *,
                taken: dict[str, set[str]] | None = None) -> tuple[T, Changes]:
    """``work(session, project)`` on an in-memory database holding ``rows`` (see
    :func:`copy_project`) and a stand-in row for each id in ``taken``; returns its result
    and what it added and changed. Nothing is committed anywhere."""
    engine = make_engine("sqlite://")  # the same foreign keys and transactions as the shared file
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            for table in Base.metadata.sorted_tables:
                if rows.get(table.name):
                    s.execute(table.insert(), parents_first(table, rows[table.name]))
            _stand_ins(s, taken or {})
            before = _read_all(s)
            result = work(s, s.get(Project, project_id))
            s.flush()
            changes = _diff(before, _read_all(s))
            s.rollback()
    finally:
        engine.dispose()
    return result, changes


def _stand_ins(s: Session, taken: dict[str, set[str]]) -> None:
    """Rows with the ``taken`` ids, in a project of their own, so the import sees them used."""
    if not any(taken.values()):
        return
    p, c, d, k = new_id(), new_id(), new_id(), new_id()
    make = {
        "coders": lambda i: {"id": i, "project_id": p, "name": f"stand-in {i}", "role": "coder"},
        "codes": lambda i: {"id": i, "project_id": p, "name": f"stand-in {i}"},
        "documents": lambda i: {"id": i, "project_id": p, "name": f"stand-in {i}", "text": "", "sha256": "",
                                "length": 0},
        "codings": lambda i: {"id": i, "project_id": p, "document_id": d, "code_id": k, "coder_id": c,
                              "start": 0, "end": 1},
        "memos": lambda i: {"id": i, "project_id": p},
        "sets": lambda i: {"id": i, "project_id": p, "name": f"stand-in {i}"},
    }
    s.execute(Project.__table__.insert(), [{"id": p, "name": f"stand-ins {p}"}])
    for name, i in (("coders", c), ("documents", d), ("codes", k)):
        s.execute(Base.metadata.tables[name].insert(), [make[name](i)])
    for name, ids in taken.items():
        if name not in make:
            raise StoreError(f"an import chose ids of {name} already in use; nothing was imported. Report this")
        rows = [make[name](i) for i in sorted(ids)]
        for n, r in enumerate(rows):  # stand-in codings each on a span of their own (no identical two)
            if "start" in r:
                r["start"], r["end"] = n, n + 1
        s.execute(Base.metadata.tables[name].insert(), rows)


def _key(table: Table, row: Any) -> tuple:
    return tuple(row[c.name] for c in table.primary_key.columns)


def _read_all(s: Session) -> dict[str, dict[tuple, dict]]:
    out = {}
    for table in Base.metadata.sorted_tables:
        out[table.name] = {_key(table, r): dict(r) for r in s.execute(select(table)).mappings()}
    return out


def _aware(row: dict) -> dict:
    """SQLite hands datetimes back without their zone; every one the workbench writes is UTC."""
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
            for k, v in row.items()}


def _diff(before: dict[str, dict[tuple, dict]], after: dict[str, dict[tuple, dict]]) -> Changes:
    changes = Changes()
    for table in Base.metadata.sorted_tables:
        old, new = before[table.name], after[table.name]
        if old.keys() - new.keys():
            raise StoreError(f"the import removed rows of {table.name}, which imports never do; nothing was "
                             "imported. Report this")
        # an id the database numbers itself (events.seq) is left for the shared database to give
        auto = table.autoincrement_column
        added = [_aware({k: v for k, v in row.items() if auto is None or k != auto.name})
                 for key, row in new.items() if key not in old]
        if added:
            changes.inserts[table.name] = parents_first(table, added)
        changed = []
        for key, row in new.items():
            if key in old and row != old[key]:
                pk = {c.name: row[c.name] for c in table.primary_key.columns}
                changed.append((pk, _aware({k: v for k, v in row.items() if old[key][k] != v})))
        if changed:
            changes.updates[table.name] = changed
    return changes


def parents_first(table: Table, rows: Iterable[dict]) -> list[dict]:
    """``rows`` ordered so that a row another one refers to through the table's own
    foreign key (a code's ``parent_id``) comes before it; iterative, so a tree of any depth."""
    rows = list(rows)
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not own or len(table.primary_key.columns) != 1:
        return rows
    pk = next(iter(table.primary_key.columns)).name
    ids = {r[pk] for r in rows}
    waiting: dict[Any, list[dict]] = {}
    ready = []
    for r in rows:
        refs = [r[c] for c in own if r[c] is not None and r[c] in ids and r[c] != r[pk]]
        if refs:
            waiting.setdefault(refs[0], []).append(r)  # a table with one own reference (codes)
        else:
            ready.append(r)
    out: list[dict] = []
    while ready:
        r = ready.pop()
        out.append(r)
        ready.extend(waiting.pop(r[pk], ()))
    for stuck in waiting.values():  # a cycle: left for the database to refuse
        out.extend(stuck)
    return out
