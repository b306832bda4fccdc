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
every statement of an ordinary transaction or marked :func:`profiles.db.scans` (batches,
counts over a workspace, digests, exports). A learning batch goes there whole, from its
BEGIN to its COMMIT in one hand-off (:meth:`LoopConnection.run_in_thread`). A quick
transaction's ``BEGIN IMMEDIATE`` and ``COMMIT`` run on the loop too when they cannot wait,
and in the thread when they might:

* ``BEGIN IMMEDIATE`` is tried once on the loop with no busy timeout. Within the process the
  writer lock (:class:`profiles.db.Database`) has already made this transaction the only
  writer, so it takes SQLite's write lock at once unless another process holds it; then it
  is sent again from the worker thread, where it waits the busy timeout as before.
* ``COMMIT`` in WAL mode with ``synchronous=NORMAL`` writes the transaction's pages to the
  log and syncs nothing — unless it checkpoints. SQLite's automatic checkpoint is therefore
  off on these connections (``wal_autocheckpoint=0``) and done here instead: a commit that
  finds the log past :data:`WAL_CHECKPOINT_BYTES` (SQLite's own threshold, 1,000 pages of
  4 KiB) commits and checkpoints (``PASSIVE``: never waits for readers) in the worker thread.

Why: each of those round trips yielded the event loop while the transaction held the one
writer, and a loop busy with other replies came back to it a whole turn later — under
maximum ingest a reply's short transaction held the writer ~3 ms for ~1 ms of work, and the
learner's batch ~23 ms, while every other reply queued for it (docs/measurement.md, "A
write transaction that does not yield").
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiosqlite

# The write-ahead log's size past which a commit checkpoints it (SQLite's default
# ``wal_autocheckpoint`` of 1,000 pages, at the default page size).
WAL_CHECKPOINT_BYTES = 1_000 * 4_096

T = TypeVar("T")


class WaitedInThread(RuntimeError):
    """Work sent whole to the worker thread (:meth:`LoopConnection.run_in_thread`) tried to
    wait for something of the event loop's: it may only wait for this connection."""


class LoopConnection(aiosqlite.Connection):
    """``on_loop`` says where the next calls run; :mod:`profiles.db` sets it per statement
    from the transaction's options, and it falls back to the thread after every commit
    (which itself runs on the loop only for a quick transaction whose log is not due a
    checkpoint) and when the pool takes the connection back."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self.on_loop = False
        # The transaction began quick (profiles/db.py): its COMMIT may run on the loop, even
        # when its last statement (marked ``scans``) ran in the thread.
        self.quick = False
        # The write-ahead log of the main database ("" for one in memory): set on connect by
        # profiles/db.py, which turns SQLite's own checkpoints off (module doc).
        self.wal_path = ""
        # A BEGIN to send first thing in the next run_in_thread (begin_with_work); cleared
        # when the pool takes the connection back.
        self.pending_begin: str | None = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is not None and (
            self.on_loop or threading.get_ident() == self._thread.ident
        ):
            # on the loop for a quick transaction; inline too when the call is made in the
            # worker thread itself, by work sent there whole (run_in_thread)
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)

    def begin_with_work(self, statement: str) -> None:
        """Send ``statement`` (a ``BEGIN``) at the start of the next :meth:`run_in_thread`
        instead of now: one hand-off to the worker thread fewer, and one turn of the busy
        event loop fewer while SQLite's writer is held (issue 16)."""
        self.pending_begin = statement

    async def run_in_thread(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` — statements on this connection and the Python between them — to
        its end in the worker thread, in one hand-off, and commit: every call it makes on
        the connection runs inline there, so none of them waits for a turn of the event
        loop, which meanwhile serves everyone else. ``work`` may await only this
        connection's calls; awaiting anything else (a lock, a sleep, another connection)
        raises :class:`WaitedInThread` and ends it, uncommitted. Run with the caller's
        context variables. The caller's own commit afterwards finds nothing to commit and
        costs no hand-off (:meth:`commit`); the connection goes back to the pool from the
        loop, never from the worker thread (the pool's queue belongs to the loop). If the
        caller is cancelled meanwhile, it still waits for the call to finish, so that
        nothing on the loop touches the connection while the thread does.

        Why: a learning batch is about twenty calls on the connection; sent one by one, each
        completion woke the event loop and waited for a turn of it, under load, while the
        batch held SQLite's one writer. In one call the loop is spared those wake-ups and
        the batch holds the writer for its own work (docs/measurement.md, "A learning batch
        in one call (fourteenth session)")."""
        self.on_loop = False
        begin, self.pending_begin = self.pending_begin, None
        context = contextvars.copy_context()
        call = asyncio.ensure_future(
            aiosqlite.Connection._execute(self, context.run, self._run_and_commit, begin, work)
        )
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            await asyncio.wait({call})
            raise
        finally:
            if call.done():
                work.close()  # a no-op once it ran; closes it if the call never started

    def _run_and_commit(self, begin: str | None, work: Coroutine[Any, Any, T]) -> T:
        if begin is not None:
            self._begin_now(begin)  # may wait the busy timeout: only this thread waits
        result = _run_to_end(work)
        self._commit_and_checkpoint()
        return result

    async def begin(self, statement: str, *, on_loop: bool, busy_timeout_ms: int) -> None:
        """``BEGIN`` or ``BEGIN IMMEDIATE`` in one call on the sqlite3 connection, on the
        loop or in the worker thread as ``on_loop`` says (:func:`profiles.db._sqlite_begin`
        decides). A ``BEGIN IMMEDIATE`` asked on the loop is tried there without waiting and,
        if another process holds the write lock, sent again from the worker thread with
        ``busy_timeout_ms``, the connection's busy timeout, which the try on the loop sets
        back when it is done (module doc)."""
        self.quick = on_loop
        if on_loop and statement != "BEGIN" and self._connection is not None:
            if self._begin_without_waiting(statement, busy_timeout_ms):
                self.on_loop = True
                return
            on_loop = False
        self.on_loop = on_loop
        await self._execute(self._begin_now, statement)

    def _begin_now(self, statement: str) -> None:
        self._conn.execute(statement).close()

    def _begin_without_waiting(self, statement: str, busy_timeout_ms: int) -> bool:
        conn = self._conn
        conn.execute("PRAGMA busy_timeout=0").close()
        try:
            conn.execute(statement).close()
            return True
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return False
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}").close()

    async def commit(self) -> None:
        """On the loop after a quick transaction, unless the log is due a checkpoint; in the
        worker thread otherwise, checkpointing when due (module doc). Outside a transaction
        (committed already, by :meth:`run_in_thread`) sqlite3 commits nothing: no hand-off."""
        quick, self.quick, self.on_loop = self.quick, False, False
        if self._connection is not None and not self._connection.in_transaction:
            return
        if quick and self._connection is not None and not self._checkpoint_due():
            self._connection.commit()
            return
        await self._execute(self._commit_and_checkpoint)

    def _commit_and_checkpoint(self) -> None:
        self._conn.commit()
        if self._checkpoint_due():
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    def _checkpoint_due(self) -> bool:
        """A stat of the log file: a few microseconds, no lock. With ``journal_size_limit=0``
        SQLite truncates the log when it starts it again after a complete checkpoint, so its
        size is what the next checkpoint has to copy."""
        if not self.wal_path:
            return False
        try:
            return os.stat(self.wal_path).st_size >= WAL_CHECKPOINT_BYTES
        except FileNotFoundError:
            return False

    async def rollback(self) -> None:
        """SQLAlchemy's pool rolls back every connection it takes back, after a commit too:
        outside a transaction sqlite3 does nothing, not worth a round trip to the worker
        thread. (No call is in flight on this connection while the pool resets it.)"""
        self.quick = False
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()


def _run_to_end(work: Coroutine[Any, Any, T]) -> T:
    """Drive ``work`` in the calling thread, which has no event loop: it must finish
    without suspending (every call it awaits on the connection completes inline)."""
    try:
        waited = work.send(None)
    except StopIteration as done:
        return done.value
    work.close()
    raise WaitedInThread(f"work in SQLite's worker thread waited for {waited!r}")


def connect(database: str, **kwargs: Any) -> LoopConnection:
    """What :func:`aiosqlite.connect` does, with a :class:`LoopConnection`. The sqlite3
    connection is opened in the worker thread and used from both, one call at a time."""
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = LoopConnection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does: an unclosed pool never hangs exit
    return connection
