"""The writers' turn: one write transaction at a time per SQLite file, queued on a lock
file beside the database (``coding.db-writers``, ``flock``) so that a writer that has
waited long is not overtaken by newcomers (see :func:`_writers_turn`)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from coding.store.engine import BUSY_TIMEOUT_S


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
