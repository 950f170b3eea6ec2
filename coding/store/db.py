"""Opening the project store: SQLite by default, PostgreSQL by URL.

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

import fcntl
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from coding.errors import CodingError, ConflictError, StorageBusyError, StorageDataError, StoreError

__all__ = ["Store", "StoreError", "current_revision", "data_dir", "head_revision", "make_engine", "migrate",
           "require_current_schema", "resolve_url", "schema_revision", "shared_store", "translate_error"]

#: The folder above the package: the repository in a source checkout, site-packages when installed.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Running from a source checkout (``app.py`` beside the package), not from an installed wheel.
IN_CHECKOUT = (REPO_ROOT / "app.py").is_file()
MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30
# Key of the PostgreSQL advisory lock that serialises concurrent migrations.
_MIGRATION_LOCK = 0x636F64696E67  # "coding"

T = TypeVar("T")


def _private_dir(path: Path) -> None:
    """Make ``path`` (and missing parents) with owner-only access when it is new."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)


def data_dir() -> Path:
    """Where the default database lives: ``$CODING_DATA_DIR``, else ``data/`` in a source
    checkout, else the per-user data folder (``$XDG_DATA_HOME`` or ``~/.local/share``)."""
    if os.environ.get("CODING_DATA_DIR"):
        return Path(os.environ["CODING_DATA_DIR"]).expanduser()
    if IN_CHECKOUT:
        return REPO_ROOT / "data"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "coding-workbench"


#: The default SQLite file as resolved at import (resolve_url() looks again each time).
DEFAULT_DB_PATH = data_dir() / "coding.db"


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get("CODING_DB_URL")
    if url:
        return url
    folder = data_dir()
    _private_dir(folder)
    if not os.environ.get("CODING_DATA_DIR"):
        # The default folder is ours: tighten it even when an older version made it 0755
        # (a folder the user named is left as they set it up).
        os.chmod(folder, 0o700)
    return f"sqlite:///{folder / 'coding.db'}"


def _create_private_file(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use the umask, often 0644).
    SQLite gives its -wal and -shm files the permissions of the database file."""
    _private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin): pysqlite's own
    # transaction handling would turn each SAVEPOINT into a separate commit.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    # The timeout first, so that switching to WAL also waits for other openers.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _sqlite_begin(conn) -> None:
    # IMMEDIATE: take the write lock up front (queue in the busy handler) instead of
    # upgrading a read snapshot later, which fails at once under contention.
    read_only = conn.get_execution_options().get("coding_read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _turn_path(engine: Engine) -> str | None:
    """The file whose lock gives one writer at a time its turn (beside the SQLite file)."""
    db = engine.url.database
    if db in (None, "", ":memory:") or db.startswith("file:"):
        return None
    return f"{db}-writers"


def _wait_turn(fd: int, timeout: float) -> bool:
    """Block (in the kernel) until the lock on ``fd`` is ours, at most ``timeout`` s."""
    helper = os.dup(fd)  # the same open file: a lock taken through it is ours too
    got, gave_up, decide = threading.Event(), threading.Event(), threading.Lock()

    def wait() -> None:
        try:
            fcntl.flock(helper, fcntl.LOCK_EX)
            with decide:
                if gave_up.is_set():
                    fcntl.flock(helper, fcntl.LOCK_UN)
                else:
                    got.set()
        finally:
            os.close(helper)

    threading.Thread(target=wait, daemon=True, name="coding-write-turn").start()
    if got.wait(timeout):
        return True
    with decide:
        if got.is_set():
            return True
        gave_up.set()
        return False


@contextmanager
def _writers_turn(path: str | None) -> Iterator[None]:
    """One write transaction at a time per SQLite file, waiting in the kernel.

    SQLite's busy handler polls, backing off to 100 ms between tries, so under steady
    contention a writer that has waited long loses to every newcomer (20 coders: waits
    of 27 s, a lead's write refused after 30 s). A waiter blocked on ``flock`` is woken
    when the lock is released, with the same chance as every other waiter and without
    spending CPU. After the busy timeout the transaction goes on to SQLite's own lock,
    whose error then says the database stayed busy. The lock goes with the file
    descriptor: a process that dies releases it."""
    if path is None:
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a folder we may not write in: SQLite's lock alone, as before
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _wait_turn(fd, BUSY_TIMEOUT_S)
        yield
    finally:
        os.close(fd)


def make_engine(url: str) -> Engine:
    """An engine with foreign keys enforced on SQLite, WAL, and IMMEDIATE write transactions."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StoreError(
            f"database URL {url!r} is not usable ({exc}). Give sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST/DB"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        if engine.url.database not in (None, "", ":memory:") and not engine.url.database.startswith("file:"):
            _create_private_file(Path(engine.url.database))
    return engine


def _oneline(exc: BaseException, limit: int = 160) -> str:
    """The first line of a driver message: the cause, without SQL, parameters or DETAIL
    (which can quote transcript text)."""
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = " ".join(msg[0].split()).rstrip(".") if msg else type(exc).__name__
    return first if len(first) <= limit else first[: limit - 1] + "…"


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """The schema revision this version of the workbench works with."""
    return _scripts().get_current_head()


def schema_revision(conn) -> str | None:
    """The revision a database is at (None: no schema yet)."""
    return MigrationContext.configure(conn).get_current_revision()


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
    advisory lock makes concurrent migrations run one after another."""
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
        with engine.connect() as conn:
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


# --- classifying and translating database errors -----------------------------------

_PG_RETRY = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def _sqlstate(exc: DBAPIError) -> str:
    return getattr(exc.orig, "sqlstate", None) or ""


def _is_busy(exc: BaseException) -> bool:
    """A transient clash with other writers: SQLITE_BUSY/LOCKED, PG serialisation or deadlock."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if _sqlstate(exc) in _PG_RETRY:
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY (incl. BUSY_SNAPSHOT), SQLITE_LOCKED
        return True
    msg = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in msg or "database table is locked" in msg)


def _integrity_kind(exc: BaseException) -> str | None:
    """'unique', 'foreign key', 'not null', 'check' or None."""
    if not isinstance(exc, IntegrityError):
        return None
    state = _sqlstate(exc)
    msg = str(exc.orig).lower()
    if state == "23505" or "unique constraint" in msg:
        return "unique"
    if state == "23503" or "foreign key constraint" in msg:
        return "foreign key"
    if state == "23502" or "not null constraint" in msg:
        return "not null"
    return "check"


def _is_lost_connection(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or _sqlstate(exc).startswith("08") or _sqlstate(exc) in {"57P01", "57P02", "57P03"}
    )


def translate_error(exc: BaseException) -> BaseException:
    """The :class:`CodingError` a user should see for a database error; other exceptions
    come back unchanged."""
    if isinstance(exc, StaleDataError):
        return ConflictError(
            "what you changed was changed or removed by someone else meanwhile; nothing was saved. "
            "Reload the page and try again"
        )
    if isinstance(exc, CodingError) or not isinstance(exc, DBAPIError | PoolTimeoutError):
        return exc
    why = _oneline(exc)
    if _is_busy(exc):
        return StorageBusyError(
            f"the database stayed busy with other people's changes for too long ({why}); nothing of this "
            "change was saved. Try again in a moment; if it keeps happening, look for a long-running "
            "import or a stuck process holding the database"
        )
    if _is_lost_connection(exc):
        return StoreError(
            f"the connection to the database was lost ({why}); nothing of this change was saved. "
            "Check that the database server is running, then try again"
        )
    kind = _integrity_kind(exc)
    if kind == "unique":
        return ConflictError(
            f"this is already stored ({why}), perhaps saved from another tab or by a second click; "
            "reload the page to see the current state"
        )
    if kind == "foreign key":
        return ConflictError(
            f"this refers to something that was deleted, merged or is still in use ({why}); nothing was "
            "changed. Reload the page and try again"
        )
    if kind is not None or isinstance(exc, DataError):
        return StorageDataError(
            f"the database refused a value ({why}): a text longer than its field allows, a NUL character, "
            "or a value outside the allowed ones; nothing was changed. Shorten or clean the value and try again"
        )
    return StoreError(
        f"the database failed ({why}); nothing of this change was saved. Try again; if it keeps failing, "
        "check the database file or server"
    )


# --- the store --------------------------------------------------------------------

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
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error.

        ``write=False`` is for pure reads: on SQLite they run beside writers instead of
        queueing behind them (a write inside one can fail with StorageBusyError). A
        database error leaves as a :class:`CodingError` (see :func:`translate_error`).
        It is not retried: the block cannot be re-run; use :meth:`run` for that."""
        try:
            with self._writing(write), (self._writes if write else self._reads)() as s:
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

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache(maxsize=8)
def shared_store(url: str | None = None) -> Store:
    """One Store per URL per process (the app and CLI share engines this way)."""
    return Store(url)
