"""Classifying database errors (busy, lost connection, integrity) and translating them
into the :class:`~coding.errors.CodingError` a user sees, never a raw driver message."""

from __future__ import annotations

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from coding.errors import (
    CodingError,
    ConflictError,
    StorageBusyError,
    StorageDataError,
    StoreError,
)


def _oneline(exc: BaseException, limit: int = 160) -> str:
    """The first line of a driver message: the cause, without SQL, parameters or DETAIL
    (which can quote transcript text)."""
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = " ".join(msg[0].split()).rstrip(".") if msg else type(exc).__name__
    return first if len(first) <= limit else first[: limit - 1] + "…"


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
