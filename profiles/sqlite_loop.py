"""An aiosqlite connection that runs a quick transaction's statements on the event loop.

aiosqlite runs every call of a statement (open a cursor, execute, fetch, close) in its worker
thread and wakes the event loop for each result: three or four round trips a statement, each
a queue hand-off, a thread wake-up and a write to the loop's self-pipe. A reply's statements
are a few indexed reads and writes about one person, microseconds of SQLite each, so the
round trips cost more than the statements: on a DM they were a quarter of the bot process's
CPU (docs/measurement.md, "Quick transactions on the event loop"). Statements of a
transaction opened with ``quick=True`` (:meth:`profiles.db.Database.session`) therefore run
inline, on the loop's thread; the connection is used by one call at a time either way, so the
two threads never touch it at once.

What may wait stays in the worker thread, where it cannot stall every other person's reply:
``BEGIN IMMEDIATE`` (it waits up to the busy timeout for another process's writer),
``COMMIT`` (it may checkpoint the write-ahead log, which syncs the file), and every statement
of an ordinary transaction or marked :func:`profiles.db.scans` (batches, counts over a
workspace, digests, exports).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite


class LoopConnection(aiosqlite.Connection):
    """``on_loop`` says where the next calls run; :mod:`profiles.db` sets it per statement
    from the transaction's options, and it falls back to the thread at every commit and
    when the pool takes the connection back."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self.on_loop = False

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.on_loop and self._connection is not None:
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)

    async def begin(self, statement: str, *, on_loop: bool) -> None:
        """``BEGIN`` or ``BEGIN IMMEDIATE`` in one call on the sqlite3 connection, on the
        loop or in the worker thread as ``on_loop`` says (:func:`profiles.db._sqlite_begin`
        decides: a BEGIN that may wait for a lock never runs on the loop)."""
        self.on_loop = on_loop
        await self._execute(self._begin_now, statement)

    def _begin_now(self, statement: str) -> None:
        self._conn.execute(statement).close()

    async def commit(self) -> None:
        self.on_loop = False  # a commit may checkpoint the WAL (fsync): never on the loop
        await super().commit()

    async def rollback(self) -> None:
        """SQLAlchemy's pool rolls back every connection it takes back, after a commit too:
        outside a transaction sqlite3 does nothing, not worth a round trip to the worker
        thread. (No call is in flight on this connection while the pool resets it.)"""
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()


def connect(database: str, **kwargs: Any) -> LoopConnection:
    """What :func:`aiosqlite.connect` does, with a :class:`LoopConnection`. The sqlite3
    connection is opened in the worker thread and used from both, one call at a time."""
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = LoopConnection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does: an unclosed pool never hangs exit
    return connection
