"""Database access: one async engine for the hot path, a sync URL for Alembic and APScheduler.

People give one URL (``sqlite:///tailorbot.db`` or ``postgresql://...``); the driver parts are
derived here so nobody has to know that the async path uses aiosqlite and psycopg 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import logging
import re
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, event, text
from sqlalchemy.engine import URL, Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable
from sqlalchemy.util import await_, greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles import db_timeout, sqlite_loop
from profiles.cleanup import to_completion
from profiles.driver_statements import (
    DriverStatement,
    Ran,
    Write,
    compiled_select,
    compiled_write,
    run_on_driver,
)
from profiles.write_queue import carry_queue, drop_queue
from profiles.writer_lock import WriterLock

log = logging.getLogger(__name__)
# How long the fence waits for a lost connection's server process to end (Database.fence_lost)
FENCE_WAIT_MS = 2000


class DatabaseUnavailable(Exception):
    """The database could not be reached; callers keep the work and retry later."""


class DatabaseBusy(DatabaseUnavailable):
    """PostgreSQL answered, but cut a statement that waited for a lock, or ran, past its
    share of the database timeout (``lock_timeout``, ``statement_timeout``:
    profiles/db_timeout.py): other work held what it needed (a ``/forget``, a digest page).
    Nothing of its transaction was kept and its connection is fine: no outage, so it is not
    counted in ``failures`` or ``timeouts``. A :class:`DatabaseUnavailable` still, so that
    every caller that keeps work for later keeps this too; the router runs an event again
    first (bot/core.py)."""


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised from, the database being busy: work that failed
    with it (the core's ``AnswerOwed`` and ``ClaimUnsure`` carry their cause) waits for a
    lock on some rows, not for the database, and is kept as such (bot/journal.py)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DatabaseBusy):
            return True
        cause = cause.__cause__
    return False


# PostgreSQL's answers to transactions that conflicted, which the same work run again in a
# new transaction can pass: deadlock_detected, serialization_failure.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})
# Runs of a transaction that PostgreSQL aborts over a conflict, before its caller gives up
# (Services.in_transaction) or treats it as any other failure (ingest.WriteBehind).
CONFLICT_ATTEMPTS = 3
# Its answers to a statement it cut on a limit: lock_not_available (lock_timeout),
# query_canceled (statement_timeout, or an operator's pg_cancel_backend).
BUSY_SQLSTATES = frozenset({"55P03", "57014"})


def conflicted(exc: BaseException) -> bool:
    """Whether ``exc`` is the database aborting a transaction over a conflict with another
    (a deadlock it broke, a serialization failure): nothing of it was kept, and it may be
    run again."""
    return (
        isinstance(exc, DBAPIError)
        and getattr(exc.orig, "sqlstate", None) in CONFLICT_SQLSTATES
    )


class WriteNeeded(Exception):
    """Work begun in a read-only transaction (:meth:`Database.read`) found it must write:
    :meth:`Database.read_first` runs it again in a write transaction."""


T = TypeVar("T")


async def again_on_conflict(work: Callable[[], Awaitable[T]], what: str) -> T:
    """``work()``, run again (:data:`CONFLICT_ATTEMPTS` runs in all) while PostgreSQL aborts
    its transaction over a conflict with another (:func:`conflicted`): nothing of an aborted
    run was kept. ``work`` opens its own transactions, and does nothing outside the
    database that a second run would do twice. For work that is not one
    ``Services.in_transaction`` (a read first, then a write)."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return await work()
        except DBAPIError as exc:
            if attempt == CONFLICT_ATTEMPTS or not conflicted(exc):
                raise
            log.info("%s conflicted with another transaction (%s); running it again",
                     what, exc.orig)
    raise AssertionError("unreachable: the last run returns or raises")


def _normalise(url: str | URL) -> URL:
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed


def async_url(url: str | URL) -> URL:
    parsed = _normalise(url)
    driver = "aiosqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")


def sync_url(url: str | URL) -> URL:
    parsed = _normalise(url)
    driver = "pysqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")


def is_sqlite(url: str | URL) -> bool:
    return _normalise(url).get_backend_name() == "sqlite"


SQLITE_BUSY_TIMEOUT_MS = 30_000
_DEFERRED = "tailorbot_deferred_begin"
_READ_ONLY = "tailorbot_read_only"
_QUICK = "tailorbot_quick"  # a transaction's option
# A statement's: never on the loop. (A connection's options override a statement's when
# SQLAlchemy merges them, so a statement cannot just set _QUICK to False.)
_OFF_LOOP = "tailorbot_off_loop"
# A transaction's: its BEGIN goes with its work, in one call to the worker thread
# (Database.in_one_call).
_IN_ONE_CALL = "tailorbot_in_one_call"
# What a read-only transaction may send: reads, and the transaction control around them.
_READS = re.compile(r"\s*(SELECT|WITH|PRAGMA|BEGIN|SAVEPOINT|RELEASE|ROLLBACK)\b", re.I)


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    """WAL lets the scheduler and the chat loop read while one writes; foreign keys on so
    SQLite enforces what PostgreSQL enforces; ``secure_delete`` overwrites erased rows so a
    forgotten person's words do not linger in free pages. The driver's own implicit BEGIN is
    switched off: :func:`_sqlite_begin` issues it (see there)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    (journal_mode,) = cursor.fetchone()
    driver = record.driver_connection
    if isinstance(driver, sqlite_loop.LoopConnection) and journal_mode == "wal":
        # Commits checkpoint the log themselves, in the worker thread, when it has grown
        # (profiles/sqlite_loop.py): SQLite's automatic checkpoint would run inside a commit
        # that may now be on the event loop.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA database_list")
        files = {name: file for _seq, name, file in cursor.fetchall()}
        driver.wal_path = f"{files['main']}-wal" if files.get("main") else ""
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL content of erased rows must not outlive a checkpoint (-1 kept the file forever).
    cursor.execute("PRAGMA journal_size_limit=0")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Write transactions take SQLite's write lock up front (``BEGIN IMMEDIATE``). A deferred
    transaction that read first and wrote later could not wait for the lock: SQLite answers
    "database is locked" at once instead of using the busy timeout, which under a burst of
    people was reported as the database being unavailable. Nested read sessions (inside a
    writer of the same task) begin deferred, so they never wait for their own writer.

    The BEGIN goes straight to the driver (:meth:`sqlite_loop.LoopConnection.begin`), not
    through ``exec_driver_sql``: SQLAlchemy's statement machinery (an execution context,
    events, a cursor, a result) cost as much as the transaction's first statement, on every
    transaction (issue 16). A failure is reported as ``exec_driver_sql`` reported it."""
    options = conn.get_execution_options()
    deferred = options.get(_DEFERRED, False)
    quick = options.get(_QUICK, False)
    statement = "BEGIN" if deferred else "BEGIN IMMEDIATE"
    driver = conn.connection.driver_connection
    if options.get(_IN_ONE_CALL, False):
        driver.begin_with_work(statement)  # sent first thing in the worker thread
        return
    try:
        # A deferred BEGIN takes no lock and never waits: on the loop in a quick transaction.
        # BEGIN IMMEDIATE may wait for another process's writer: tried on the loop without
        # waiting, and only if that process holds the lock sent from the worker thread.
        await_(driver.begin(statement, on_loop=quick, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS))
    except Exception as exc:  # wrapped, and a lost connection invalidated, as SQLAlchemy does
        conn._handle_dbapi_exception(exc, statement, None, None, None)
    # The first statement's cursor is opened where the transaction's statements run.
    driver.on_loop = quick


def _place_statement(
    conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """On SQLite, where the statement about to run executes: on the event loop's thread in a
    quick transaction, unless marked :func:`scans`; else in aiosqlite's worker thread
    (profiles/sqlite_loop.py)."""
    driver = conn.connection.driver_connection
    if isinstance(driver, sqlite_loop.LoopConnection) and context is not None:
        # (None: a statement sent straight to the driver, Database.write_each or read_one,
        # which placed it itself)
        options = context.execution_options
        driver.on_loop = options.get(_QUICK, False) and not options.get(_OFF_LOOP, False)


def _back_to_thread(_dbapi_connection: Any, record: Any) -> None:
    """A pooled connection's next user starts in the worker thread (direct driver calls, such
    as :meth:`Database.scrub`, never pass through :func:`_place_statement`)."""
    driver = record.driver_connection
    if isinstance(driver, sqlite_loop.LoopConnection):
        driver.on_loop = driver.quick = False
        driver.pending_begin = None


# A pooled PostgreSQL connection idle this long is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 2.0
_IDLE_SINCE = "tailorbot.idle_since"


def _idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Any) -> Callable[[Any, Any, Any], None]:
    """SQLAlchemy's ``pool_pre_ping`` for connections that sat idle, not for every checkout.

    Why: the ping is a round trip before every transaction — on PostgreSQL a fifth of a
    reply's CPU (``bench --stages``: 5,346 / 5,695 → 4,689 / 4,129 µs without it) and one
    more wait on the event loop — while a connection handed back a moment ago has just
    proved itself. One idle for ``PING_AFTER_IDLE_SECONDS`` (the database may have restarted
    meanwhile) is still pinged, and a dead one replaced before anyone uses it, as with
    ``pool_pre_ping``. A restart within that window is found by the first statement instead:
    SQLAlchemy invalidates the pool on the disconnect and the event goes to the outage
    journal, to be replayed (bot/journal.py)."""

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # fresh from connect, or back in the pool a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("idle connection failed its ping") from exc

    return checkout


S = TypeVar("S", bound=Executable)


def scans(statement: S) -> S:
    """Mark a statement whose work grows with the database (counts over a workspace, ...):
    it runs in the worker thread even inside a quick transaction, so it cannot stall the
    event loop."""
    return statement.execution_options(**{_OFF_LOOP: True})


def _refuse_writes(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    """In a read-only transaction, any statement that could write stops the work before the
    database sees it (see :meth:`Database.read`). ``WITH`` is allowed because the project
    writes no data-modifying CTEs."""
    if conn.get_execution_options().get(_READ_ONLY) and not _READS.match(statement):
        raise WriteNeeded(statement.split(None, 1)[0] if statement.strip() else statement)


def server_options(url: URL, timeout: float) -> str:
    """The server options (libpq ``options``) of the bot's PostgreSQL connections bounded by
    ``timeout``: the URL's own, JIT off (:func:`_without_jit`), and the server's limits
    under the bound (:func:`db_timeout.server_options`)."""
    return f"{_without_jit(url)} {db_timeout.server_options(url.query, timeout)}".strip()


def _without_jit(url: URL) -> str:
    """The server options of the bot's PostgreSQL connections: the URL's own ``options``, and
    JIT compilation off. Why: PostgreSQL compiles a plan to machine code when its estimated
    cost passes ``jit_above_cost``, and the estimate of a statement with correlated
    subqueries can pass it however few rows it reads — a version of the reply's sender
    statement with the profile in it (tried in the twentieth session, not kept) read ~60 rows
    and spent ~465 ms of its ~495 compiling, on every execution (EXPLAIN ANALYZE at 1k
    people). Every statement the bot sends is an indexed lookup or a bounded batch, where
    compiling cannot pay for itself."""
    own = url.query.get("options", "")
    given = own if isinstance(own, str) else " ".join(own)
    return f"{given} -c jit=off".strip()


class Database:
    """Owns the engine and hands out sessions. ``session()`` maps connection failures to
    :class:`DatabaseUnavailable` so the core can tell people instead of crashing.

    ``timeout``: on PostgreSQL, the seconds a round trip may wait for the server before the
    database counts as unavailable (profiles/db_timeout.py; :meth:`patient` lifts it for
    work that scans); SQLite is not bounded."""

    def __init__(
        self,
        url: str | URL,
        *,
        echo: bool = False,
        timeout: float = db_timeout.DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = _normalise(url)
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self.timeout = timeout
        # How many times the database was found unavailable so far: work that waited for
        # its turn compares it to give up at once when the database failed meanwhile
        # (bot/pipeline/chat.py).
        self.failures = 0
        # Of those, how many were a server that did not answer in time (a hang,
        # profiles/db_timeout.py): only these mean the next round trips will wait too.
        self.timeouts = 0
        # Writes of learning batches sent together (profiles/write_queue.py), and in how
        # many statements: each of those is one round trip where each write was one.
        self.queued_writes = 0
        self.write_statements = 0
        if self.sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Statement errors name the statement but not the values sent with it: those are
        # people's words (turns, excerpts), and an error's text goes to the logs. (The
        # server's own message may still quote a value: PostgreSQL's DETAIL line of a
        # unique violation does.)
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.sqlite:
            kwargs["async_creator"] = _sqlite_connector(self.url)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_recycle=1800)
            kwargs["connect_args"] = {
                **db_timeout.connect_args(self.url.query, timeout),
                "options": server_options(self.url, timeout),
            }
        self.engine: AsyncEngine = create_async_engine(async_url(self.url), **kwargs)
        if self.sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
            event.listen(self.engine.sync_engine, "before_cursor_execute", _place_statement)
            event.listen(self.engine.sync_engine, "checkin", _back_to_thread)
        else:
            pool = self.engine.sync_engine.pool
            event.listen(pool, "checkin", _idle_since)
            event.listen(pool, "checkout", _ping_if_idle(self.engine.sync_engine.dialect))
        event.listen(self.engine.sync_engine, "before_cursor_execute", _refuse_writes)

        def sessions(**options: Any) -> async_sessionmaker[AsyncSession]:
            bind = self.engine.execution_options(**options) if options else self.engine
            return async_sessionmaker(bind, class_=AsyncSession, expire_on_commit=False)

        self._sessions = sessions()
        self._nested_sessions = sessions(**{_DEFERRED: True})
        reading: dict[str, Any] = {_DEFERRED: True, _READ_ONLY: True}
        if not self.sqlite:
            # A read-only transaction on PostgreSQL runs its statements in autocommit: psycopg
            # sends no BEGIN before the first and no ROLLBACK after the last, two round trips
            # of a two- or three-statement read (one read of one statement: 489-587 ->
            # 327-433 us of CPU, 569-667 -> 364-460 us of wall time). Each statement then
            # sees what was committed when it ran, which is all these reads ask for
            # (senders of a batch, a preview, a reaction's target); SQLite keeps its deferred
            # transaction, whose snapshot costs nothing there.
            reading["isolation_level"] = "AUTOCOMMIT"
        self._readers = sessions(**reading)
        # Work whose statements may each commit on its own (see each_statement()): on
        # PostgreSQL in autocommit; SQLite uses its quick transactions instead.
        self._each_statement = sessions(isolation_level="AUTOCOMMIT") if not self.sqlite else None
        # Statements straight to the driver (write_each, read_one): SQLite's quick
        # transaction, PostgreSQL's autocommit (each statement commits on its own).
        self._direct_engine = self.engine.execution_options(
            **({_QUICK: True} if self.sqlite else {"isolation_level": "AUTOCOMMIT"})
        )
        # ... and in one transaction (read_then_write's writes): SQLite's quick one,
        # PostgreSQL's own
        self._one_transaction_engine = (
            self._direct_engine if self.sqlite else self.engine
        )
        # Quick transactions (see session()): only SQLite runs anything differently.
        self._quick_sessions = sessions(**{_QUICK: True}) if self.sqlite else self._sessions
        self._one_call_sessions = (
            sessions(**{_IN_ONE_CALL: True}) if self.sqlite else self._sessions
        )
        self._quick_readers = (
            sessions(**{_DEFERRED: True, _READ_ONLY: True, _QUICK: True})
            if self.sqlite
            else self._readers
        )
        # SQLite has one writer at a time: within a process, transactions queue here (no
        # busy-waiting; learning batches let waiting replies by: profiles/writer_lock.py);
        # across processes BEGIN IMMEDIATE waits the busy timeout.
        self._writer = WriterLock() if self.sqlite else None
        self._owner: contextvars.ContextVar[asyncio.Task[Any] | None] = contextvars.ContextVar(
            f"tailorbot_db_owner_{id(self)}", default=None
        )

    @staticmethod
    def patient() -> contextlib.AbstractContextManager[None]:
        """Round trips inside have no client-side bound (:func:`db_timeout.patient`): for
        work whose statements grow with a workspace and that no person waits for."""
        return db_timeout.patient()

    @property
    def single_writer(self) -> bool:
        """Whether write transactions queue for one writer (SQLite). Then work that only
        reads belongs in a read-only transaction of its own, which never queues; on
        PostgreSQL an extra transaction costs a pool checkout and its ping, so reads that
        follow writes are cheaper in the writing transaction."""
        return self._writer is not None

    @contextlib.asynccontextmanager
    async def session(
        self, *, quick: bool = False, background: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A transaction: committed on success, rolled back on error. ``quick``: a few
        indexed statements about one person (a reply's): on SQLite they run on the event
        loop's thread, without a round trip each to aiosqlite's worker thread
        (profiles/sqlite_loop.py); never for work whose statements may take long.
        ``background``: housekeeping nobody waits for (a retention purge's batches): on
        SQLite it lets the replies waiting for the writer go first (WriterLock)."""
        sessions = self._quick_sessions if quick else self._sessions
        async with self._write(sessions, background=background) as session:
            yield session

    @contextlib.asynccontextmanager
    async def _write(
        self, sessions: async_sessionmaker[AsyncSession], *, background: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A write transaction of ``sessions``, in the writer's queue on SQLite
        (``background``: behind every transaction waiting there, see WriterLock)."""
        if self._writer is None:
            async with self._transaction(sessions) as session:
                yield session
            return
        task = asyncio.current_task()
        if task is not None and self._owner.get() is task:  # nested inside our own writer
            async with self._transaction(self._nested_sessions, end_turn=False) as session:
                yield session
            return
        async with self._writer.background() if background else self._writer:
            token = self._owner.set(task)
            try:
                async with self._transaction(sessions, end_turn=False) as session:
                    yield session
            finally:
                self._owner.reset(token)
        # The transaction's turn of the event loop (see _transaction), given once the writer
        # is free: in it the next transaction waiting for the writer can run. Given while it
        # was held, every reply's write held the writer a whole turn of the busy loop longer
        # (at maximum ingest its holds took ~1.2 ms, its work a fraction of that).
        await asyncio.sleep(0)

    async def in_one_call(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``work(session)`` in a write transaction, committed on success (a learning
        batch). On SQLite its BEGIN, its statements, the Python between them and its COMMIT
        run as one call in aiosqlite's worker thread
        (:meth:`sqlite_loop.LoopConnection.run_in_thread`): the event loop is free meanwhile,
        and none of the batch's ~20 calls on the connection waits for a turn of a busy loop
        while the transaction holds SQLite's one writer. ``work`` must await only its
        session's statements (no lock, sleep or other I/O: :class:`sqlite_loop.WaitedInThread`).
        It takes SQLite's writer as background work: after every transaction waiting for it
        then (replies' claims and records), unless it has waited long (WriterLock). On
        PostgreSQL, whose statements are network round trips, an ordinary transaction that
        carries a queue: the writes ``work`` queues go out together, as one statement
        (profiles/write_queue.py), what is left of them before the commit."""
        if self._writer is None:
            async with self.session() as session:
                queue = carry_queue(session)
                try:
                    result = await work(session)
                    await queue.send(session)
                finally:
                    drop_queue(session)
                    self.queued_writes += queue.sent_writes
                    self.write_statements += queue.statements
                return result
        async with self._write(self._one_call_sessions, background=True) as session:
            # The connection checked out here, on the loop (opening one may need the loop);
            # its BEGIN IMMEDIATE waits to go first in the call (see _sqlite_begin), where
            # waiting the busy timeout for another process's writer stalls nobody else.
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, sqlite_loop.LoopConnection)

            async def work_and_flush() -> T:
                result = await work(session)
                await session.flush()  # the ORM's pending rows, in the thread too
                return result

            try:
                # Committed in the thread; the session's own commit below then costs nothing
                # and the connection goes back to the pool from the loop.
                return await driver.run_in_thread(work_and_flush())
            except sqlite3.Error as exc:
                # From the BEGIN or the COMMIT, which the driver sends itself: reported as
                # SQLAlchemy reports a statement's failure, so that a lock another process
                # held past the busy timeout is the database being unavailable, as anywhere.
                raise OperationalError("BEGIN IMMEDIATE / COMMIT", None, exc) from exc

    @contextlib.asynccontextmanager
    async def each_statement(self) -> AsyncIterator[AsyncSession]:
        """A session for a few indexed writes of which each may commit on its own, because
        none needs another to have happened (a reply's record: the model call's log row,
        the exchange's turns). On PostgreSQL its statements run in autocommit: no ``BEGIN``
        and no ``COMMIT`` round trip, each of which the reply waited a turn of the busy
        event loop for. On SQLite it is a quick transaction (:meth:`session`), whose
        ``BEGIN`` and ``COMMIT`` already cost no round trip."""
        if self._writer is not None:
            async with self.session(quick=True) as session:
                yield session
            return
        assert self._each_statement is not None
        async with self._transaction(self._each_statement) as session:
            yield session

    async def write_each(self, inserts: Sequence[Write]) -> list[list[tuple[Any, ...]]]:
        """Run ``inserts`` (each a shape and its named values) straight on the driver, as
        :meth:`each_statement` would run them through a session: on SQLite in one quick
        transaction in the writer's queue, on PostgreSQL each committing on its own
        (autocommit). Returns each statement's rows (its ``RETURNING``). Failures are
        reported as a session's are (:class:`DatabaseUnavailable` for a database away, a
        lost connection invalidated); the engine's ``begin`` and ``before_cursor_execute``
        listeners hear of the transaction and every statement. Why: the session around a
        reply's one-statement record cost it twice the statement (profiles/driver_statements.py).
        Never inside a transaction of the same task (SQLite: its writer is held)."""
        prepared = _prepared(inserts, self.engine.dialect)
        if self._writer is None:
            return await self._write_each(prepared)
        assert self._owner.get() is not asyncio.current_task(), "write_each inside a writer"
        async with self._writer:
            rows = await self._write_each(prepared)
        await asyncio.sleep(0)  # the transaction's turn, once the writer is free (_write)
        return rows

    async def read_then_write(
        self,
        statement: Select[Any],
        values: Mapping[str, Any],
        then: Callable[[list[tuple[Any, ...]]], Sequence[Write]],
    ) -> list[list[tuple[Any, ...]]]:
        """Straight on the driver, as :meth:`write_each` sends statements: ``statement``'s
        rows (as :meth:`read_all` reads them), then the writes ``then`` decides on from them
        (none: nothing written), which commit together; returns each write's rows. ``then``
        runs inside SQLAlchemy's greenlet, between the two: plain Python that must not
        await. Why: a steady sender's read and claim in one hop (bot/pipeline/identify.py).

        On SQLite the read and the writes are one quick transaction in the writer's queue:
        nothing is written between them. On PostgreSQL the read is a statement of its own in
        autocommit, and so is a single write; several writes go in a transaction of their
        own. A transaction around the read would lock nothing either (READ COMMITTED: each
        statement sees what was committed when it ran), and it cost two round trips (BEGIN,
        COMMIT) of a reply's four (docs/measurement.md, twenty-fifth session)."""
        assert self._owner.get() is not asyncio.current_task(), "read_then_write in a writer"
        read = compiled_select(statement, self.engine.dialect)
        prepared = (read, read.parameters(values))
        if self._writer is None:
            return await self._read_then_write(prepared, then)
        async with self._writer:
            written = await self._read_then_write(prepared, then)
        await asyncio.sleep(0)  # the transaction's turn, once the writer is free (_write)
        return written

    async def _read_then_write(
        self,
        read: tuple[DriverStatement, Any],
        then: Callable[[list[tuple[Any, ...]]], Sequence[Write]],
    ) -> list[list[tuple[Any, ...]]]:
        with _reported_as_unavailable(self):
            return await greenlet_spawn(
                _read_then_write_on_driver,
                self._direct_engine.sync_engine,
                self._one_transaction_engine.sync_engine,
                read,
                then,
            )

    async def _write_each(
        self, prepared: list[tuple[DriverStatement, Any]]
    ) -> list[list[tuple[Any, ...]]]:
        with _reported_as_unavailable(self):
            # One hop into SQLAlchemy's greenlet for the checkout, the work and the
            # connection's return (an AsyncConnection made three).
            done = await greenlet_spawn(
                _on_driver, self._direct_engine.sync_engine, prepared, True
            )
        return [rows for rows, _ in done]

    async def read_one(
        self, statement: Select[Any], values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row of one indexed ``SELECT``, straight on the driver and outside any
        transaction (a single statement is consistent by itself on both databases): on
        SQLite on the event loop's thread, as a quick transaction's statements run; on
        PostgreSQL in autocommit. Each value as its column's type reads it. It does not see
        what a transaction still open in the caller wrote, so it is for reads of rows that
        transaction does not write (a reply's profile). Failures and listeners as for
        :meth:`write_each`. Why: on SQLite a reply's profile read was a read transaction of
        its own around one statement, held open while the assembly worked
        (profiles/profile_rows.py)."""
        rows = await self.read_all(statement, values)
        return rows[0] if rows else None

    async def read_all(
        self, statement: Select[Any], values: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Every row of one indexed ``SELECT``, as :meth:`read_one` reads its first (a
        reply's sender: one row per preference, profiles/preload.py)."""
        compiled = compiled_select(statement, self.engine.dialect)
        with _reported_as_unavailable(self):
            [(rows, type_codes)] = await greenlet_spawn(
                _on_driver,
                self._direct_engine.sync_engine,
                [(compiled, compiled.parameters(values))],
                False,
            )
        return [compiled.row(row, type_codes) for row in rows]

    async def fence_lost(self) -> None:
        """End the server processes of the connections this process gave up on a timeout
        (``db_timeout.LOST_BACKENDS``) and wait until they are gone. Why: a statement sent
        into a hang takes effect when the server thaws, and the outage journal's replay,
        reading before it landed, did it again (a reply's record stored twice, CI); once its
        process has ended, what it did is in the database or never will be. A process that
        started after the loss reuses the pid: left alone. Raises
        :class:`DatabaseUnavailable` while the database is away (the replay waits with it);
        a server that refuses (no privilege to signal) is logged, and the replay goes on as
        it did before this fence."""
        lost = dict(db_timeout.LOST_BACKENDS)
        if self.sqlite or not lost:
            return
        statement = text(
            "SELECT l.pid, pg_terminate_backend(l.pid, :wait_ms)"
            " FROM unnest(CAST(:pids AS integer[]), CAST(:lost_at AS float8[]))"
            " AS l(pid, lost_at) JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE a.backend_start < to_timestamp(l.lost_at) AND a.pid <> pg_backend_pid()"
            " AND a.usename = current_user"
        )
        values = {"pids": list(lost), "lost_at": list(lost.values()),
                  "wait_ms": FENCE_WAIT_MS}
        still: set[int] = set()
        with _reported_as_unavailable(self):
            try:
                async with self.engine.connect() as connection:
                    rows = (await connection.execute(statement, values)).all()
                    await connection.rollback()
                still = {int(pid) for pid, ended in rows if not ended}
            except DBAPIError as exc:
                if _is_connection_error(exc):
                    raise
                log.warning("could not end the server processes of lost connections: %s",
                            exc.orig)
        for pid in lost:
            if pid not in still:  # ended, gone already, or another's now
                db_timeout.LOST_BACKENDS.pop(pid, None)

    @contextlib.asynccontextmanager
    async def read(self, *, quick: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-only transaction, always rolled back (on PostgreSQL: autocommit reads, see
        ``__init__``). Why: on SQLite it begins deferred and
        never queues for the writer (WAL lets it read while another transaction writes), so
        the many events that only read — most observed channel messages — no longer wait in
        line behind every write. A statement that would write raises :class:`WriteNeeded`
        before it reaches the database (use :meth:`read_first` for work that usually only
        reads). ``quick``: as for :meth:`session`."""
        readers = self._quick_readers if quick else self._readers
        async with self._transaction(readers, commit=False) as session:
            yield session
            if session.new or session.dirty or session.deleted:
                # changes the ORM would flush on a commit (e.g. a row set in place): the work
                # meant to write, so it must not end here as if it had
                raise WriteNeeded("unflushed changes at the end of a read-only transaction")

    async def read_first(
        self, work: Callable[[AsyncSession, bool], Awaitable[T]], *, quick: bool = False
    ) -> T:
        """Run ``work(session, writable)`` in a read-only transaction; if it needs to write
        (:class:`WriteNeeded`, raised by the work itself or by a statement), run it again
        from the start in a write transaction. ``work`` must therefore do nothing outside
        the database before its last write could happen. ``quick``: as for :meth:`session`."""
        try:
            async with self.read(quick=quick) as session:
                return await work(session, False)
        except WriteNeeded:
            pass
        async with self.session(quick=quick) as session:
            return await work(session, True)

    @contextlib.asynccontextmanager
    async def _transaction(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        commit: bool = True,
        end_turn: bool = True,
    ) -> AsyncIterator[AsyncSession]:
        """``end_turn``: a write transaction ends with a turn of the event loop (below)
        unless its caller gives that turn itself (SQLite's writer: _write)."""
        with _reported_as_unavailable(self):
            # Closed by to_completion, not ``async with session`` (whose close runs in a task
            # of its own): the same guarantee, without a turn of the event loop when the
            # close does not suspend (profiles/cleanup.py).
            session = sessions()
            try:
                if commit:
                    async with session.begin():
                        yield session
                else:  # closing ends the transaction (rolled back), loaded rows stay usable
                    yield session
            finally:
                await to_completion(session.close())
            if commit and end_turn:
                # A write transaction still ends with the one turn that close task gave: a
                # reply's transactions follow each other with little else between them, and
                # without these turns its steps grew long enough to double the loop's lag
                # p99 under maximum ingest on SQLite (docs/measurement.md, seventeenth
                # session). A read-only one (a context assembly) no longer waits behind
                # every ready task to finish.
                await asyncio.sleep(0)

    async def open_connections(self) -> int:
        """Open the pool's connections now (all it keeps when idle), not during the first
        burst of people; returns how many it holds. Why: under maximum ingest the pool grew
        while events were handled, and each connection opened then made whatever needed it
        wait — on SQLite twenty hand-offs to a new worker thread (its pragmas and
        functions), which put the slowest context assemblies of a run at 30-100 ms against
        ~15 (issue 16); on PostgreSQL a TCP connection and its authentication. For the bot
        that runs (``tailorbot run``), not for one-off commands. Raises
        :class:`DatabaseUnavailable` when the database cannot be reached."""
        pool = self.engine.sync_engine.pool
        size = pool.size() if isinstance(pool, QueuePool) else 1
        with _reported_as_unavailable(self):
            async with contextlib.AsyncExitStack() as held:
                for _ in range(size):  # held together, so each is a connection of its own
                    await held.enter_async_context(self.engine.connect())
        return pool.checkedin() if isinstance(pool, QueuePool) else size

    async def scrub(self) -> None:
        """After an erasure on SQLite: checkpoint the WAL into the database file and truncate
        it, so the erased rows' old page images (the person's words, their ids) do not stay in
        ``<db>-wal``; ``secure_delete`` has already zeroed them in the database file itself.
        A checkpoint that readers keep from finishing is retried after yielding to them (no
        timed sleep: callers may run on a virtual clock), then left to the next one (logged).
        PostgreSQL keeps no such file under the operator's feet: nothing to do."""
        if self._writer is None:
            return
        async with self._writer, self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            for _ in range(20):
                cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _log, _done = await cursor.fetchone()
                await cursor.close()
                if not busy:
                    return
                await asyncio.sleep(0)
            log.warning("WAL checkpoint after an erasure was kept busy; the next one will do")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _on_driver(
    engine: Engine, prepared: list[tuple[DriverStatement, Any]], write: bool
) -> list[Ran]:
    """:meth:`Database.write_each` (``write``) and :meth:`Database.read_one` in SQLAlchemy's
    greenlet, on a pooled connection: a write's transaction is the connection's (its
    ``BEGIN IMMEDIATE`` from :func:`_sqlite_begin`, none in autocommit), a read has none; each
    statement is the driver's own call. A driver error is handled as SQLAlchemy handles a
    statement's (wrapped; a lost connection invalidated), and rolls the transaction back."""
    with engine.connect() as conn:
        if write:
            with conn.begin():
                return run_on_driver(conn, prepared)
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite_loop.LoopConnection):
            driver.on_loop = True  # an indexed read, as a quick transaction's (module doc)
        return run_on_driver(conn, prepared)


def _read_then_write_on_driver(
    direct: Engine,
    together: Engine,
    read: tuple[DriverStatement, Any],
    then: Callable[[list[tuple[Any, ...]]], Sequence[Write]],
) -> list[list[tuple[Any, ...]]]:
    """:meth:`Database.read_then_write` in SQLAlchemy's greenlet: on ``direct``'s
    connection (SQLite's quick transaction; PostgreSQL's autocommit) the read and one write;
    several writes on PostgreSQL in a transaction of ``together``'s."""
    with direct.connect() as conn, conn.begin():
        [(rows, type_codes)] = run_on_driver(conn, [read])
        writes = _prepared(then([read[0].row(row, type_codes) for row in rows]), direct.dialect)
        if len(writes) <= 1 or together is direct:
            return [rows for rows, _ in run_on_driver(conn, writes)]
    with together.connect() as conn, conn.begin():
        return [rows for rows, _ in run_on_driver(conn, writes)]


def _prepared(writes: Sequence[Write], dialect: Dialect) -> list[tuple[DriverStatement, Any]]:
    """Each write compiled for ``dialect`` (once per shape), with its values as the driver
    takes them."""
    return [
        (statement := compiled_write(shape, dialect), statement.parameters(values))
        for shape, values in writes
    ]


def _sqlite_connector(url: URL) -> Callable[[], Awaitable[sqlite_loop.LoopConnection]]:
    """The engine's connections, opened with the arguments SQLAlchemy would derive from the
    URL (file name, ``uri``), as :class:`profiles.sqlite_loop.LoopConnection`."""
    async_form = async_url(url)
    args, options = async_form.get_dialect()().create_connect_args(async_form)

    async def connect() -> sqlite_loop.LoopConnection:
        connection = sqlite_loop.connect(*args, **options)
        await connection  # starts its worker thread and opens the file there
        return connection

    return connect


@contextlib.contextmanager
def _reported_as_unavailable(db: Database) -> Iterator[None]:
    """A database that cannot be reached, or was lost, raised as :class:`DatabaseUnavailable`
    (what the core journals events for), and counted in ``db.failures``; a statement the
    server cut on its limits as :class:`DatabaseBusy`, not counted; any other error as it
    is."""
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        if getattr(exc.orig, "sqlstate", None) in BUSY_SQLSTATES:  # before: "timeout" below
            raise DatabaseBusy(str(exc.orig)) from exc
        if _is_connection_error(exc):
            db.failures += 1
            if isinstance(exc.orig, db_timeout.DatabaseTimedOut):
                db.timeouts += 1
            raise DatabaseUnavailable(str(exc.orig or exc)) from exc
        raise
    except OSError as exc:
        if _is_network_error(exc):
            db.failures += 1
            raise DatabaseUnavailable(str(exc)) from exc
        raise


# What a lost or unreachable server looks like below the driver (asyncio's sockets).
_NETWORK_ERRNOS = frozenset(
    (errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
     errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN)
)


def _is_network_error(exc: OSError) -> bool:
    """Only a network failure is an outage: the work inside a transaction raises OSErrors of
    its own, and one of them — jinja2's TemplateNotFound, for a prompt variant's missing
    template — was journaled as an outage, with every later event queued behind it."""
    return isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)) or (
        exc.errno in _NETWORK_ERRNOS
    )


def _is_connection_error(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    message = str(exc.orig or exc).lower()
    markers = (
        "connection",
        "could not connect",
        "server closed",
        "terminating",
        "timeout",
        "unable to open database",
        "database is locked",
    )
    return any(marker in message for marker in markers)
