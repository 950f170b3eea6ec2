"""Where the database is and how a connection to it is set up.

The URL comes from the ``url`` argument, ``CODING_DB_URL``, else a SQLite file in the
data folder (see :func:`data_dir`; made owner-only on first use). SQLite connections get
foreign keys, WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions
(:mod:`coding.store.db` says why)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError

from coding.errors import StoreError

#: The folder above the package: the repository in a source checkout, site-packages when installed.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Running from a source checkout (``app.py`` beside the package), not from an installed wheel.
IN_CHECKOUT = (REPO_ROOT / "app.py").is_file()
BUSY_TIMEOUT_S = 30


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
    options = conn.get_execution_options()
    read_only = options.get("coding_read_only", False)
    if not read_only:
        # A batch (coding_batch: one file of an import after another) commits without waiting
        # for the disk (synchronous=NORMAL: safe in WAL mode, kept when the process is killed,
        # only a power cut can lose it); Store.sync() makes it durable at the batch's end.
        # Every other write waits for the disk (FULL, SQLite's default). Outside a
        # transaction: SQLite refuses the change inside one.
        level = "NORMAL" if options.get("coding_batch", False) else "FULL"
        info = conn.connection.info
        if info.get("coding_synchronous") != level:
            conn.connection.driver_connection.execute(f"PRAGMA synchronous={level}")
            info["coding_synchronous"] = level
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine with foreign keys enforced on SQLite, WAL, and IMMEDIATE write transactions."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        # A server connection can drop between uses (pinged before each); a SQLite file
        # cannot, and the ping was one more statement in every transaction.
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
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
