"""Big imports that never hold the database for long: work on a copy, stage, swap.

A REFI-QDA project or codebook, or a YAML codebook, is imported in three steps:

1. **Work on a copy** (:mod:`coding.store.scratch`): the import's own code runs on an
   in-memory copy of the project; the shared database is only read. A dry run ends here.
2. **Stage**: the new rows are written in transactions of about :data:`CHUNK_SECONDS`
   each, into a hidden project (``projects.staging_for``) with a ``staged_imports`` row
   that shows the import's progress (:func:`imports_in_progress`). Every query of a
   project is scoped by its id, so nobody sees those rows, and nobody can code against
   them: for :mod:`coding.team.access` a staged code is not in the coder's project.
3. **Swap**: one short transaction checks that what the import relied on still holds
   (the member may still do it, the codebook version, no name taken meanwhile), moves the
   staged rows into the project, and writes what could not be staged: changes to
   existing rows, rows that hang on existing ones (a document added to an existing set)
   and the events, so the log shows the import when it lands.

Any failure before the swap commits (a conflict, an error, Ctrl-C) removes what was
staged, in short transactions too: for the user the import is all or nothing. A process
killed meanwhile leaves a hidden project nobody sees; the next import removes it once it
has not written for :data:`STALE_AFTER`.

Transcript batches need none of this: :func:`coding.work.documents.import_files_committing`
already stores each file in a short transaction of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import UniqueConstraint, delete, func, select, update
from sqlalchemy.orm import Session

from coding.team.access import Action, require, require_or_setup
from coding.errors import ConflictError, NotFoundError
from coding.store.models import Base, Coder, Project, StagedImport, new_id
from coding.store.scratch import Changes, copy_project, run_on_copy, taken_ids

T = TypeVar("T")

#: Aim of each staging transaction: a coder waiting behind it waits about this long.
CHUNK_SECONDS = 0.2
MIN_ROWS, MAX_ROWS = 20, 20_000
#: A staged import that has not written for this long was interrupted (its process died).
STALE_AFTER = timedelta(minutes=10)
#: The row a new row hangs on: staged only when that row is staged too (else it would be
#: visible at once, e.g. a coding on an existing document), else written by the swap.
OWNER = {"codings": "document_id", "memos": "document_id", "speaker_turns": "document_id",
         "sentences": "document_id", "attributes": "document_id", "set_members": "set_id",
         "member_accounts": "coder_id", "assignments": "round_id", "adjudications": "document_id"}
#: Written by the swap only: events (logged when the import lands), projects, imports.
SWAP_ONLY = {"events", "projects", "staged_imports"}
_IN = 500

Progress = Callable[[int, int], None]


@dataclass
class _Plan:
    """The import's rows, split into those staged (hidden) and those the swap writes."""

    staged: list[tuple[str, dict]] = field(default_factory=list)  # (table, row), in foreign-key order
    later: list[tuple[str, dict]] = field(default_factory=list)
    updates: dict[str, list[tuple[dict, dict]]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)  # table -> new names that must stay free
    touches_codebook: bool = False


def _plan(changes: Changes, project_id: str, staging_id: str) -> _Plan:
    plan = _Plan(updates=changes.updates)
    staged_ids: set[str] = set()
    later_ids: set[str] = set()
    for name, rows in changes.inserts.items():
        table = Base.metadata.tables[name]
        fks = [fk.parent.name for fk in table.foreign_keys]
        for row in rows:
            owner = OWNER.get(name)
            hidden = name not in SWAP_ONLY and (
                row.get("project_id") == project_id if "project_id" in table.c else owner is not None)
            if hidden and owner is not None and row[owner] is not None:
                hidden = row[owner] in staged_ids
            if hidden and any(row[c] is not None and row[c] in later_ids for c in fks):
                hidden = False  # it refers to a row only the swap writes
            if hidden:
                if "project_id" in table.c:
                    row = {**row, "project_id": staging_id}
                plan.staged.append((name, row))
            else:
                plan.later.append((name, row))
            if row.get("id") is not None:
                (staged_ids if hidden else later_ids).add(row["id"])
            if name in ("coders", "documents") and row.get("project_id") in (project_id, staging_id):
                plan.names.setdefault(name, []).append(row["name"])
    plan.touches_codebook = bool(changes.inserts.get("codes") or changes.updates.get("codes"))
    return plan


# --- staging --------------------------------------------------------------------------

def _by_table(batch: list[tuple[str, dict]]) -> list[tuple[str, list[dict]]]:
    """Consecutive rows of one table together (one executemany each), order kept."""
    out: list[tuple[str, list[dict]]] = []
    for name, row in batch:
        if out and out[-1][0] == name:
            out[-1][1].append(row)
        else:
            out.append((name, [row]))
    return out


def _heartbeat(s: Session, staging_id: str, done: int) -> None:
    hit = s.execute(update(StagedImport).where(StagedImport.id == staging_id)
                    .values(seen_at=datetime.now(UTC), rows_done=done)).rowcount
    if not hit:
        raise ConflictError("the import was cancelled while it was being stored (its project was deleted, or it "
                            "stalled and another import cleared it); nothing was imported. Import it again")


def _timed(store, fn: Callable[[Session], Any]) -> float:
    t = time.perf_counter()
    store.run(fn)
    return time.perf_counter() - t


def _next_size(n: int, seconds: float) -> int:
    """Rows for the next transaction so that it lasts about CHUNK_SECONDS."""
    return max(MIN_ROWS, min(MAX_ROWS, int(n * CHUNK_SECONDS / max(seconds, 1e-3))))


def _stage(store, staging_id: str, plan: _Plan, progress: Progress | None) -> None:
    total, done, n = len(plan.staged), 0, 200
    while done < total:
        batch = plan.staged[done:done + n]

        def write(s: Session, batch=batch, upto=done + len(batch)) -> None:
            _heartbeat(s, staging_id, upto)
            for name, rows in _by_table(batch):
                s.execute(Base.metadata.tables[name].insert(), rows)

        n = _next_size(len(batch), _timed(store, write))
        done += len(batch)
        if progress:
            progress(done, total)


def _ids(s: Session, table, where, n: int) -> list:
    pk = next(iter(table.primary_key.columns))
    return list(s.scalars(select(pk).where(where).limit(n)))


def _drop(store, staging_id: str) -> None:
    """Remove a hidden project and everything staged in it, in short transactions: its
    documents first (their codings, turns, memos go with them), codes unhooked from their
    parents before they go (so no delete cascades down a whole tree), the project last."""
    tables = Base.metadata.tables
    order = ["documents", *(t.name for t in reversed(Base.metadata.sorted_tables)
                            if "project_id" in t.c and t.name not in ("documents", "staged_imports"))]
    for name in order:
        table = tables[name]
        pk = next(iter(table.primary_key.columns))
        steps = [("delete", table.c.project_id == staging_id)]
        if name == "codes":
            steps.insert(0, ("unhook", (table.c.project_id == staging_id) & table.c.parent_id.is_not(None)))
        for what, where in steps:
            n = 200
            while True:
                def chunk(s: Session, what=what, where=where, n=n) -> int:
                    ids = _ids(s, table, where, n)
                    for i in range(0, len(ids), _IN):
                        part = pk.in_(ids[i:i + _IN])
                        s.execute(update(table).where(part).values(parent_id=None) if what == "unhook"
                                  else delete(table).where(part))
                    return len(ids)
                t = time.perf_counter()
                got = store.run(chunk)
                if got < n:
                    break
                n = _next_size(n, time.perf_counter() - t)
    store.run(lambda s: s.execute(delete(Project).where(Project.id == staging_id, Project.staging_for.is_not(None))))


def _drop_stale(store) -> None:
    """Remove the staged rows of imports whose process died (see STALE_AFTER)."""
    since = datetime.now(UTC) - STALE_AFTER
    stale = store.run(lambda s: list(s.scalars(select(StagedImport.id).where(StagedImport.seen_at < since))),
                      write=False)
    for staging_id in stale:
        _drop(store, staging_id)


# --- the swap -------------------------------------------------------------------------

def _has_project_index(table) -> bool:
    """Whether an index starts with ``project_id`` (then one UPDATE moves the rows; else by ids)."""
    keys = [*table.indexes, *(c for c in table.constraints if isinstance(c, UniqueConstraint))]
    return any(next(iter(k.columns)).name == "project_id" for k in keys)


def _swap(s: Session, project_id: str, staging_id: str, member: Any, action: Action, version: int,
          plan: _Plan) -> None:
    from coding.codebook.tree import lock_codebook

    project = s.get(Project, project_id)
    if project is None:
        raise NotFoundError("the project was deleted during the import; nothing was imported")
    project = lock_codebook(s, project)  # serialised with codebook edits (PostgreSQL)
    require_or_setup(s, member, action, project)
    if plan.touches_codebook and project.codebook_version != version:
        raise ConflictError(
            f"the codebook of {project.name!r} was changed while the import was being stored (version {version} "
            f"became {project.codebook_version}); nothing was imported. Import the file again: it is merged into "
            "the codebook as it is now")
    tables = Base.metadata.tables
    for name, names in plan.names.items():
        table = tables[name]
        for i in range(0, len(names), _IN):
            clash = s.scalar(select(table.c.name).where(table.c.project_id == project_id,
                                                        table.c.name.in_(names[i:i + _IN])).limit(1))
            if clash is not None:
                raise ConflictError(f"{'a member' if name == 'coders' else 'a document'} named {clash!r} was added "
                                    f"to {project.name!r} while the import was being stored; nothing was imported. "
                                    "Import the file again")
    moved: dict[str, list] = {}
    for name, row in plan.staged:
        if "project_id" in tables[name].c:
            moved.setdefault(name, []).append(row["id"])
    for name, ids in moved.items():
        table = tables[name]
        if _has_project_index(table):
            n = s.execute(update(table).where(table.c.project_id == staging_id).values(project_id=project_id)).rowcount
        else:
            n = sum(s.execute(update(table).where(table.c.id.in_(ids[i:i + _IN]), table.c.project_id == staging_id)
                              .values(project_id=project_id)).rowcount for i in range(0, len(ids), _IN))
        if n != len(ids):
            raise ConflictError(f"{len(ids) - n} of the {name} staged for the import were removed meanwhile (a code they "
                                "were under was deleted?); nothing was imported. Import the file again")
    for name, rows in _by_table(plan.later):
        s.execute(tables[name].insert(), rows)
    for name, changed in plan.updates.items():
        table = tables[name]
        for pk, values in changed:
            hit = s.execute(update(table).where(*(table.c[k] == v for k, v in pk.items())).values(values)).rowcount
            if not hit:
                raise ConflictError(f"a row of {name} the import changes was removed meanwhile; nothing was "
                                    "imported. Import the file again")
    s.execute(delete(Project).where(Project.id == staging_id))


# --- running an import ----------------------------------------------------------------

def _project_id(s: Session, project: Project | str) -> str:
    from coding.team.projects import get_project  # projects is a service too

    if isinstance(project, Project):
        return project.id
    found = s.get(Project, project)
    return found.id if found is not None and found.staging_for is None else get_project(s, project).id


def _run_staged(store, project: Project | str, member: Any, action: Action, label: str,
               work: Callable[[Session, Project], T], *, dry_run: bool = False,
               progress: Progress | None = None) -> T:
    """Run ``work(session, project)`` (an import written for one session, e.g.
    :func:`coding.interchange.import_qdpx`) so that the shared database is never held for
    long: on a copy, then staged and swapped in (see the module docstring). ``member``
    must be allowed ``action``; ``label`` says what is imported. Returns ``work``'s result."""

    def start(s: Session) -> tuple[str, dict, str | None]:
        pid = _project_id(s, project)
        m = require_or_setup(s, member, action, s.get(Project, pid))
        return pid, copy_project(s, pid), m.id if m else None

    project_id, rows, actor_id = store.run(start, write=False)
    version = rows["projects"][0]["codebook_version"]
    result, changes = run_on_copy(rows, project_id, work)
    if dry_run or not changes.rows:
        return result
    taken = store.run(lambda s: taken_ids(s, changes, project_id), write=False)
    if taken:  # the file's GUIDs are used elsewhere: again, so the import gives fresh ids
        result, changes = run_on_copy(rows, project_id, work, taken=taken)
    _drop_stale(store)
    staging_id = new_id()
    plan = _plan(changes, project_id, staging_id)

    def open_staging(s: Session) -> None:
        s.add(Project(id=staging_id, name=f"importing {staging_id}", local_mode=False, staging_for=project_id))
        s.flush()
        s.add(StagedImport(id=staging_id, project_id=project_id, actor_id=actor_id, label=label[:300],
                           rows_total=len(plan.staged)))

    store.run(open_staging)
    try:
        _stage(store, staging_id, plan, progress)
        store.run(lambda s: _swap(s, project_id, staging_id, member, action, version, plan))
    except BaseException:
        _drop(store, staging_id)
        raise
    return result


# --- what the pages and the CLI call --------------------------------------------------

def import_qdpx_staged(store, project: Project | str, member: Any, data: bytes, filename: str, *,
                       lenient: bool = False, positions: str | None = None, dry_run: bool = False,
                       progress: Progress | None = None):
    """:func:`coding.interchange.import_qdpx`, all or nothing, without holding the database."""
    from coding.interchange import import_qdpx

    return _run_staged(store, project, member, Action.MANAGE_MEMBERS, filename,
                      lambda s, p: import_qdpx(s, p, member, data, filename, lenient=lenient, positions=positions,
                                               dry_run=dry_run), dry_run=dry_run, progress=progress)


def import_qdc_staged(store, project: Project | str, member: Any, data: bytes, filename: str, *,
                      lenient: bool = False, dry_run: bool = False, progress: Progress | None = None):
    """:func:`coding.interchange.import_qdc`, all or nothing, without holding the database."""
    from coding.interchange import import_qdc

    report = _run_staged(store, project, member, Action.EDIT_CODEBOOK, filename,
                        lambda s, p: import_qdc(s, p, member, data, filename, lenient=lenient),
                        dry_run=dry_run, progress=progress)
    report.dry_run = dry_run
    return report


def import_codebook_staged(store, project: Project | str, book, *, member: Any, label: str = "codebook",
                           progress: Progress | None = None) -> dict[str, int]:
    """:func:`coding.codebook.tree.import_codebook` (a YAML codebook), without holding the database."""
    from coding.codebook.tree import import_codebook

    return _run_staged(store, project, member, Action.EDIT_CODEBOOK, label,
                      lambda s, p: import_codebook(s, p, book, member=member), progress=progress)


@dataclass(frozen=True)
class ImportInProgress:
    """An import being stored into a project: what, by whom, how far."""

    label: str
    by: str
    started_at: datetime
    seen_at: datetime
    rows_done: int
    rows_total: int

    @property
    def stalled(self) -> bool:
        seen = self.seen_at if self.seen_at.tzinfo else self.seen_at.replace(tzinfo=UTC)
        return datetime.now(UTC) - seen > STALE_AFTER


def imports_in_progress(s: Session, project: Project, member: Any) -> list[ImportInProgress]:
    """The imports being stored into ``project`` now (none of their rows is visible yet)."""
    require(s, member, Action.READ_PROJECT, project)
    q = (select(StagedImport, Coder.name).join(Coder, Coder.id == StagedImport.actor_id, isouter=True)
         .where(StagedImport.project_id == project.id).order_by(StagedImport.started_at))
    return [ImportInProgress(i.label, who or "?", i.started_at, i.seen_at, i.rows_done, i.rows_total)
            for i, who in s.execute(q)]


def staged_row_count(s: Session) -> int:
    """How many hidden projects exist (for checks: 0 once every import finished or was undone)."""
    return s.scalar(select(func.count()).select_from(Project).where(Project.staging_for.is_not(None))) or 0
