"""Opening the project store: SQLite by default, PostgreSQL by URL.

This module holds the :class:`Store` (sessions, retries); its parts live beside it:
:mod:`~coding.store.engine` (URL, data folder, connection set-up), :mod:`~coding.store.schema`
(revisions, migrations, backups), :mod:`~coding.store.writers` (the writers' turn) and
:mod:`~coding.store.db_errors` (what a database error tells the user).

The database URL comes from, in order: the ``url`` argument (CLI ``--db``), the
``CODING_DB_URL`` environment variable, else a SQLite file ``coding.db`` in the
data folder: ``$CODING_DATA_DIR``; else, in a source checkout, ``data/`` beside
``app.py`` (git-ignored); else, for an installed package, the per-user
``$XDG_DATA_HOME/coding-workbench`` (``~/.local/share/coding-workbench``). The
folder is made on first use and, like the database file, readable by its owner only.

Schema (Alembic migrations in ``migrations/``, shipped with the package):

- **SQLite**: opening a file whose schema is behind first copies it to
  ``coding.db.bak-<from revision>-<UTC time>`` (SQLite's backup API, owner-only),
  then migrates it, all while holding the write lock; a new file just works.
- **PostgreSQL**: a shared server is never migrated by opening it. ``Store(url)``
  refuses a database whose schema is not the current one (empty included) with a
  :class:`StoreError` that says to run ``python -m coding migrate``; that command
  (or :func:`migrate`) is the only way the schema changes.

Concurrency (DESIGN.md: writers queue, they never fail for being concurrent):

- **SQLite** runs in WAL mode with a 30 s busy timeout, and a write transaction
  starts with ``BEGIN IMMEDIATE``: it takes the write lock before its first
  read. Writers of a ``Store`` wait for their turn before that, blocked on a lock
  file beside the database (``coding.db-writers``, ``flock``): released, it wakes
  the waiters with equal chances, where SQLite's busy handler, backing off to
  100 ms between tries, let newcomers overtake a writer that had waited long
  (under 20 coders: waits of 27 s, and refusals after the 30 s timeout). A deferred
  ``BEGIN`` reads first and upgrades later; when another writer committed in
  between, SQLite fails at once (``SQLITE_BUSY_SNAPSHOT``) whatever the
  timeout, which is how 20 writers lost 96 % of their codings.
  ``Store.session()`` is a write transaction unless ``write=False`` is given:
  the callers that exist mix reads and lazy writes, so queueing them all is the
  safe default. A pure read passes ``write=False`` and runs beside the writers
  on its WAL snapshot (bench/concurrency_bench.py measures both ways).
- **PostgreSQL** runs at READ COMMITTED; the operations that need more take
  row locks (codebook edits lock the project row and the codes they change,
  see ``coding.codebook.edits``) and the schema makes duplicates impossible.
- ``Store.run(fn)`` runs ``fn(session)`` in one transaction and re-runs it on a
  serialisation failure, deadlock, lock timeout or a unique/foreign-key race
  (the engine's functions check before they write, so a re-run skips what a
  concurrent writer already stored, or refuses with a clear message).
- Any database error that remains leaves ``session()`` and ``run()`` as a
  :class:`~coding.errors.CodingError` that says what to do, never raw.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from coding.errors import StoreError
from coding.store.db_errors import (
    _integrity_kind,
    _is_busy,
    _is_lost_connection,
    translate_error,
)
from coding.store.engine import BUSY_TIMEOUT_S, make_engine, resolve_url
from coding.store.schema import migrate, require_current_schema
from coding.store.writers import _turn_path, _writers_turn

__all__ = ["Store", "StoreError", "shared_store"]

T = TypeVar("T")


class Store:
    """An open database at the current schema, and its session factories."""

    def __init__(self, url: str | None = None, *, run_migrations: bool = True):
        """``run_migrations``: a SQLite file is backed up and migrated when behind; a
        PostgreSQL database is only checked (refused unless current). False skips both
        (tests on a database they migrated themselves)."""
        self.url = resolve_url(url)
        self.engine = make_engine(self.url)
        #: The backup a migration on open made (SQLite), else None.
        self.backup: Path | None = None
        if run_migrations:
            if self.engine.dialect.name == "sqlite":
                self.backup = migrate(self.engine, backup=True)
            else:
                try:
                    require_current_schema(self.engine)
                except BaseException:
                    self.engine.dispose()
                    raise
        self._writes = sessionmaker(self.engine, expire_on_commit=False)
        self._reads = sessionmaker(self.engine.execution_options(coding_read_only=True), expire_on_commit=False)
        self._batch = sessionmaker(self.engine.execution_options(coding_batch=True), expire_on_commit=False)
        self._thread = threading.local()
        self._turn = _turn_path(self.engine) if self.engine.dialect.name == "sqlite" else None

    @contextmanager
    def _writing(self, write: bool) -> Iterator[None]:
        """Refuse a write transaction nested in another one of the same thread on SQLite:
        the inner one would wait for the outer one's lock until the busy timeout."""
        if not write or self.engine.dialect.name != "sqlite":
            yield
            return
        if getattr(self._thread, "writing", False):
            raise StoreError(
                "a write transaction was opened inside another one in the same thread; SQLite would make "
                f"the inner one wait for the outer one until the busy timeout ({BUSY_TIMEOUT_S} s). Do both "
                "in one session (pass it on), or make the outer one a read session (write=False)"
            )
        self._thread.writing = True
        try:
            with _writers_turn(self._turn):
                yield
        finally:
            self._thread.writing = False

    @contextmanager
    def session(self, *, write: bool = True, batch: bool = False) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error.

        ``write=False`` is for pure reads: on SQLite they run beside writers instead of
        queueing behind them (a write inside one can fail with StorageBusyError). A
        database error leaves as a :class:`CodingError` (see :func:`translate_error`).
        It is not retried: the block cannot be re-run; use :meth:`run` for that.

        ``batch=True``: one of many writes in a row (an import, file by file). On SQLite
        its commit does not wait for the disk: it survives the process being killed, and
        :meth:`sync` after the last one makes them all durable (SQLite waited about 6 ms
        per commit for the disk, more than storing a transcript takes)."""
        maker = self._batch if batch and write else self._writes if write else self._reads
        try:
            with self._writing(write), maker() as s:
                try:
                    yield s
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        except (DBAPIError, PoolTimeoutError, StaleDataError) as exc:
            raise translate_error(exc) from exc

    def run(self, fn: Callable[[Session], T], *, retries: int = 5, write: bool = True,
            retry_integrity: int = 2) -> T:
        """``fn(session)`` in one transaction, committed; its result is returned.

        Re-run (with a fresh session, after a short random pause) up to ``retries`` times
        on a clash with concurrent writers (SQLite busy, PostgreSQL serialisation failure,
        deadlock, pool exhausted, lost connection), and up to ``retry_integrity`` times on
        a unique or foreign-key violation: ``fn`` must check the state it reads, so a
        re-run sees what the concurrent writer stored (and skips it, or refuses clearly);
        likewise when the ORM finds a row it updates deleted meanwhile (``StaleDataError``).
        ``fn`` must not have effects outside the session. What still fails leaves as a
        :class:`CodingError`."""
        maker = self._writes if write else self._reads
        busy = integrity = 0
        while True:
            try:
                with self._writing(write), maker() as s:
                    result = fn(s)
                    s.commit()
                    return result
            except (DBAPIError, PoolTimeoutError, StaleDataError) as exc:
                if _is_busy(exc) or _is_lost_connection(exc):
                    busy += 1
                    if busy > retries:
                        raise translate_error(exc) from exc
                elif isinstance(exc, StaleDataError) or _integrity_kind(exc) in ("unique", "foreign key"):
                    integrity += 1
                    if integrity > retry_integrity:
                        raise translate_error(exc) from exc
                else:
                    raise translate_error(exc) from exc
                time.sleep(random.uniform(0, 0.02 * 2 ** min(busy + integrity, 6)))

    def sync(self) -> None:
        """Make the batch commits before it durable (SQLite: write the log to the disk and
        into the database file; PostgreSQL commits are always durable)."""
        if self.engine.dialect.name != "sqlite":
            return
        try:
            with self.engine.connect() as conn:  # no BEGIN: the raw connection, outside a transaction
                conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except DBAPIError as exc:
            raise translate_error(exc) from exc
        # A checkpoint that readers kept from copying anything syncs nothing: sync the log itself.
        db = self.engine.url.database
        if db and db != ":memory:" and not db.startswith("file:"):
            try:
                fd = os.open(f"{db}-wal", os.O_RDONLY)
            except FileNotFoundError:
                return  # checkpointed and removed: already in the database file
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache(maxsize=8)
def shared_store(url: str | None = None) -> Store:
    """One Store per URL per process (the app and CLI share engines this way)."""
    return Store(url)
