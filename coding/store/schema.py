"""The schema revision of a database: reading it, checking it, and migrating it with
Alembic (``migrations/``). A SQLite file is backed up before a migration; a PostgreSQL
database is migrated only by ``python -m coding migrate``.

Alembic is imported only when a migration runs (or a revision must be looked up in its
scripts): opening a database that is current reads ``alembic_version`` with one query
and compares it with the head named in the migration files, which saves every command
and the app's start about a third of their import time."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

from coding.errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
# Key of the PostgreSQL advisory lock that serialises concurrent migrations.
_MIGRATION_LOCK = 0x636F64696E67  # "coding"


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*=\s*(?:["']([^"']+)["']|None)\s*$""", re.M)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The schema revision this version of the workbench works with: the one revision of
    the migration files that no other revises (read from the files, without Alembic;
    tests/store/test_schema_light.py holds it equal to Alembic's head)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                revised.add(found["down_revision"])
    heads = revisions - revised
    if len(heads) != 1:
        return _scripts().get_current_head()  # Alembic explains a branched history best
    return heads.pop()


def schema_revision(conn) -> str | None:
    """The revision a database is at (None: no schema yet), read as Alembic stores it."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:
        raise StoreError(f"the database has several schema revisions at once ({', '.join(sorted(found))}); "
                         "it was migrated by a branched version of the workbench: restore a backup")
    return found[0] if found else None


def _reading(engine: Engine) -> Engine:
    """``engine`` for a read: on SQLite its transaction is a plain BEGIN (coding.store.engine),
    not one that queues for the write lock."""
    return engine.execution_options(coding_read_only=True)


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _cannot_open(engine: Engine, exc: OperationalError) -> StoreError:
    return StoreError(
        f"cannot open the database at {_where(engine)}: "
        f"{' '.join(str(exc.orig).split()).rstrip('.')}. Check the URL, that the server runs, and the file permissions"
    )


def _check_known(engine: Engine, current: str | None) -> None:
    """Refuse a database migrated by a newer version of the workbench."""
    if current is None:
        return
    from alembic.util import CommandError

    try:
        known = _scripts().get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise StoreError(
            f"the database at {_where(engine)} has schema revision {current!r}, which this version of the "
            f"workbench does not know (it expects {head_revision()!r}): a newer version made it. Upgrade the "
            "workbench (pip install -U, or git pull in a checkout) before opening it")


def _backup_sqlite(engine: Engine, current: str) -> Path | None:
    """Copy the SQLite file to ``<file>.bak-<current>-<UTC time>`` (owner-only) with SQLite's
    backup API. Called while the migration holds the write lock, so the copy is the state
    the migration starts from."""
    db = engine.url.database
    if db in (None, "", ":memory:") or db.startswith("file:"):
        return None
    src_path = Path(db)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = src_path.with_name(f"{src_path.name}.bak-{current}-{stamp}")
    try:
        fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        src = sqlite3.connect(src_path)  # a reader beside the lock holder (WAL): sees the committed state
        try:
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                dst.close()
        finally:
            src.close()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"the database {src_path} needs migrating from revision {current!r}, but its backup to {dest} failed "
            f"({exc}); nothing was changed. Free disk space or fix the folder's permissions, then open it again"
        ) from exc
    return dest


def migrate(engine: Engine, revision: str = "head", *, backup: bool = False) -> Path | None:
    """Bring the schema up to ``revision`` with Alembic; returns the backup made, if any.

    With ``backup`` a SQLite file whose schema exists but is behind is first copied (see
    :func:`_backup_sqlite`); an empty one needs no copy. On SQLite the migrations run
    with foreign keys off (a table rebuild in batch mode drops the old table, which
    would otherwise cascade into the rows that refer to it) and ``PRAGMA
    foreign_key_check`` must come back empty before the commit. On PostgreSQL an
    advisory lock makes concurrent migrations run one after another.

    A database already at the head is left alone after one read, without Alembic."""
    if revision == "head":
        try:
            with _reading(engine).connect() as conn:
                if schema_revision(conn) == head_revision():
                    return None
        except OperationalError as exc:
            raise _cannot_open(engine, exc) from exc
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    made = None
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection if sqlite else None
            if sqlite:
                raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is ignored
            try:
                with conn.begin():  # SQLite: BEGIN IMMEDIATE, so other openers wait for the result
                    if not sqlite:
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
                    current = schema_revision(conn)
                    _check_known(engine, current)
                    target = head_revision() if revision == "head" else revision
                    if backup and sqlite and current is not None and current != target:
                        made = _backup_sqlite(engine, current)
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
                    if sqlite:
                        bad = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if bad:
                            raise StoreError(
                                f"migrating the database would leave {len(bad)} rows pointing at missing rows "
                                f"(first: table {bad[0][0]}); nothing was changed. Restore a backup or report this"
                            )
            finally:
                if sqlite:
                    raw.execute("PRAGMA foreign_keys=ON")
    except OperationalError as exc:
        raise _cannot_open(engine, exc) from exc
    return made


def current_revision(engine: Engine) -> str | None:
    """The revision the database at ``engine`` is at (None: no schema yet)."""
    try:
        with _reading(engine).connect() as conn:
            return schema_revision(conn)
    except OperationalError as exc:
        raise _cannot_open(engine, exc) from exc


def require_current_schema(engine: Engine) -> None:
    """PostgreSQL: refuse a database whose schema is not this version's (empty included);
    only ``python -m coding migrate`` changes a shared server's schema."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    _check_known(engine, current)
    if current is None:
        raise StoreError(
            f"the database at {_where(engine)} has no workbench tables yet: create them once with "
            "`python -m coding migrate --db URL` (the server's administrator), then start the app again")
    raise StoreError(
        f"the database at {_where(engine)} has schema revision {current!r}, older than this version's "
        f"{head!r}: back it up (pg_dump), run `python -m coding migrate --db URL`, then start the app again")
