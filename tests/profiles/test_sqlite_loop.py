"""Quick transactions on SQLite (profiles/sqlite_loop.py): their statements, BEGIN IMMEDIATE
and COMMIT run on the event loop's thread; what may wait (a BEGIN IMMEDIATE while another
process writes, a commit that checkpoints the log, statements marked ``scans``, every
ordinary transaction) in aiosqlite's worker thread. Each statement's thread is read from
SQLite's own trace callback, which runs in the thread that executes it."""

from __future__ import annotations

import asyncio
import contextvars
import os
import sqlite3
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

import profiles.db
import profiles.sqlite_loop
from profiles.db import Database, DatabaseUnavailable, scans
from profiles.sqlite_loop import WAL_CHECKPOINT_BYTES, WaitedInThread
from tests.support.sqlite_trace import (
    LOOP,
    WORKER,
    Traced,
    count_hand_offs,
    install_function,
)


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    async with database.session() as session:
        await session.exec(text("CREATE TABLE t_loop (x INTEGER)"))  # type: ignore[call-overload]
    yield database
    await database.dispose()


async def test_a_quick_transaction_runs_its_statements_on_the_loop_and_waits_in_the_thread(
    db: Database,
) -> None:
    await db.dispose()  # connections opened from here on are traced
    traced = Traced(db, words=3)
    async with db.session(quick=True) as session:
        await session.exec(text("INSERT INTO t_loop VALUES (1)"))  # type: ignore[call-overload]
        await session.exec(text("SELECT x FROM t_loop"))  # type: ignore[call-overload]
        # a count over a whole table, marked: in the thread even here
        await session.exec(scans(select(text("count(*)")).select_from(text("t_loop"))))
    assert traced.take() == [
        ("PRAGMA busy_timeout=0", LOOP),  # tried without waiting: nobody else writes
        ("BEGIN IMMEDIATE", LOOP),
        ("PRAGMA busy_timeout=30000", LOOP),
        ("INSERT INTO t_loop", LOOP),
        ("SELECT x FROM", LOOP),
        ("SELECT count(*) FROM", WORKER),
        ("COMMIT", LOOP),  # the log is far from due a checkpoint
    ]

    async with db.read(quick=True) as session:
        await session.exec(text("SELECT x FROM t_loop"))  # type: ignore[call-overload]
    assert traced.take() == [("BEGIN", LOOP), ("SELECT x FROM", LOOP), ("ROLLBACK", LOOP)]

    async with db.session() as session:  # an ordinary transaction: all in the thread
        await session.exec(text("INSERT INTO t_loop VALUES (2)"))  # type: ignore[call-overload]
    assert traced.take() == [
        ("BEGIN IMMEDIATE", WORKER), ("INSERT INTO t_loop", WORKER), ("COMMIT", WORKER),
    ]

    async with db.read(quick=True) as session:
        await session.exec(text("SELECT x FROM t_loop"))  # type: ignore[call-overload]
    traced.take()
    await db.scrub()  # the driver called directly, after a quick transaction: in the thread
    assert traced.take() == [("PRAGMA wal_checkpoint(TRUNCATE)", WORKER)]


async def test_waiting_for_another_process_s_writer_never_stalls_the_event_loop(
    db: Database, sqlite_url: str
) -> None:
    """Another process (a CLI command, a second bot) holds SQLite's write lock: a quick
    transaction's BEGIN IMMEDIATE, refused at once on the loop, waits for it in the worker
    thread, and the event loop keeps serving everyone else meanwhile. Were it to wait on the
    loop, this test's own coroutine could not run until the busy timeout (30 s) ran out."""
    await db.dispose()  # connections opened from here on are traced
    traced = Traced(db)
    other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t_loop VALUES (7)")

    async def write() -> list[int]:
        async with db.session(quick=True) as session:
            await session.exec(text("INSERT INTO t_loop VALUES (8)"))  # type: ignore[call-overload]
            rows = await session.exec(text("SELECT x FROM t_loop ORDER BY x"))  # type: ignore[call-overload]
            return [row[0] for row in rows]

    waiting = asyncio.create_task(write())
    await asyncio.sleep(0.2)  # the loop runs this coroutine while the transaction waits
    assert not waiting.done()
    other.execute("COMMIT")
    other.close()
    assert await waiting == [7, 8]  # it went on as soon as the lock was free, losing nothing
    begins = [where for statement, where in traced.take() if statement == "BEGIN IMMEDIATE"]
    assert begins == [LOOP, WORKER]  # refused on the loop, waited for in the thread
    async with db.session(quick=True) as session:  # and the busy timeout is back in force
        timeout = (await session.exec(text("PRAGMA busy_timeout"))).one()[0]  # type: ignore[call-overload]
    assert timeout == 30_000


async def test_a_quick_transaction_hands_the_worker_thread_only_what_may_wait(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each call handed to aiosqlite's worker thread is a round trip that costs the event
    loop more than the indexed statements of a reply, and yields the loop while the
    transaction holds the one writer: a quick transaction, writing or reading, hands it
    nothing (not the cursor around the BEGIN, nor the pool's rollback of a connection whose
    transaction committed)."""
    handed = count_hand_offs(monkeypatch)
    for _ in range(2):  # the second time on a pooled connection
        async with db.session(quick=True) as session:
            await session.exec(text("INSERT INTO t_loop VALUES (1)"))  # type: ignore[call-overload]
        assert handed == []
        async with db.read(quick=True) as session:
            rows = (await session.exec(text("SELECT x FROM t_loop"))).all()  # type: ignore[call-overload]
        assert rows and handed == []
    async with db.session() as session:  # an ordinary transaction: all of it in the thread
        await session.exec(text("INSERT INTO t_loop VALUES (2)"))  # type: ignore[call-overload]
    names = [name for _, name in handed]
    assert names[0] == "_begin_now" and names[-1] == "_commit_and_checkpoint"
    assert "execute" in names


async def test_commits_checkpoint_the_log_in_the_worker_thread_once_it_is_due(
    db: Database, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoint is off on these connections (it would run inside a commit on
    the loop): quick commits stay on the loop until the log passes the threshold, then one
    commits and checkpoints in the worker thread, and the log starts again from nothing at
    the next write (the commit after a checkpoint still finds the old size and goes to the
    thread once more). Were nobody to checkpoint, the log would grow with every write (ten
    times the threshold here). The threshold is a sixteenth of SQLite's (64 pages): ten
    times SQLite's took 10,000 traced writes, half a minute on a busy machine."""
    threshold = WAL_CHECKPOINT_BYTES // 16
    monkeypatch.setattr(profiles.sqlite_loop, "WAL_CHECKPOINT_BYTES", threshold)
    await db.dispose()
    traced = Traced(db, words=3)
    wal = f"{make_url(sqlite_url).database}-wal"
    row = "x" * 4_000
    writes = 10 * threshold // len(row)
    async with db.session() as session:
        await session.exec(text("CREATE TABLE t_big (v TEXT)"))  # type: ignore[call-overload]
    largest = 0
    commits: list[str] = []  # where each commit ran: "loop", "worker", "checkpoint"
    for _ in range(writes):
        traced.take()
        async with db.session(quick=True) as session:
            await session.exec(text("INSERT INTO t_big VALUES (:v)"), params={"v": row})  # type: ignore[call-overload]
        largest = max(largest, os.stat(wal).st_size)
        seen = traced.take()
        assert ("BEGIN IMMEDIATE", LOOP) in seen
        if seen[-1] == ("PRAGMA wal_checkpoint(PASSIVE)", WORKER):
            assert seen[-2] == ("COMMIT", WORKER)
            commits.append("checkpoint")
        else:
            commits.append(seen[-1][1])
            assert seen[-1][0] == "COMMIT"
    assert commits.count("checkpoint") >= 5
    # in the thread only to checkpoint, and once right after each checkpoint
    assert commits.count("worker") <= commits.count("checkpoint")
    assert all(commits[i - 1] == "checkpoint"
               for i, where in enumerate(commits) if where == "worker")
    assert largest < 2 * threshold
    async with db.read() as session:
        count = (await session.exec(text("SELECT count(*) FROM t_big"))).one()[0]  # type: ignore[call-overload]
    assert count == writes


WHO = contextvars.ContextVar[str]("who")


async def rows_in_t_loop(session: AsyncSession) -> int:
    return int((await session.exec(text("SELECT count(*) FROM t_loop"))).one()[0])  # type: ignore[call-overload]


async def test_work_in_one_call_runs_in_the_worker_thread_in_one_hand_off(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Database.in_one_call`` (a learning batch): from BEGIN IMMEDIATE to COMMIT, the
    work's statements and the Python between them run in the worker thread as one hand-off,
    however many statements — an ordinary transaction hands it every call — with the
    caller's context variables."""
    await db.dispose()
    traced = Traced(db, words=3)
    async with db.read() as session:  # a connection opened (its set-up is handed over too)
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    traced.take()
    handed = count_hand_offs(monkeypatch)
    checked_in: list[int] = []
    event.listen(
        db.engine.sync_engine.pool, "checkin",
        lambda *_: checked_in.append(threading.get_ident()),
    )
    WHO.set("the learner")

    async def work(session: AsyncSession) -> tuple[int, str]:
        for x in range(5):
            await session.exec(text("INSERT INTO t_loop VALUES (:x)"), params={"x": x})  # type: ignore[call-overload]
        counted = (await session.exec(text("SELECT count(*) FROM t_loop"))).one()[0]  # type: ignore[call-overload]
        return counted, WHO.get()

    assert await db.in_one_call(work) == (5, "the learner")
    assert traced.take() == [
        ("BEGIN IMMEDIATE", WORKER),
        *[("INSERT INTO t_loop", WORKER)] * 5,
        ("SELECT count(*) FROM", WORKER),
        ("COMMIT", WORKER),
    ]
    assert [name for _, name in handed] == ["run"], handed
    # back to the pool from the loop: the pool's queue is the loop's, not the thread's
    assert checked_in == [threading.get_ident()]
    handed.clear()
    async with db.session() as session:  # the same statements, ordinary: a hand-off each call
        for x in range(5):
            await session.exec(text("INSERT INTO t_loop VALUES (:x)"), params={"x": x})  # type: ignore[call-overload]
    assert len(handed) >= 5 * 2 + 2, handed


async def test_the_event_loop_serves_others_while_work_in_one_call_runs(db: Database) -> None:
    """The work's statements run in the worker thread while the event loop goes on: here a
    statement waits for a callback that only the loop can run. Were the work run on the
    loop's thread, the callback could not run before the wait timed out (0 returned)."""
    await db.dispose()
    loop = asyncio.get_running_loop()
    served = threading.Event()

    def wait_for_the_loop() -> int:
        loop.call_soon_threadsafe(served.set)
        return int(served.wait(timeout=10))

    install_function(db, "wait_for_the_loop", wait_for_the_loop)

    async def work(session: AsyncSession) -> int:
        return int((await session.exec(text("SELECT wait_for_the_loop()"))).one()[0])  # type: ignore[call-overload]

    assert await db.in_one_call(work) == 1


async def test_work_in_one_call_that_waits_for_the_loop_is_stopped_and_rolled_back(
    db: Database,
) -> None:
    """Work in the worker thread may await only its connection: awaiting anything of the
    event loop's (a sleep here; a lock, another connection) stops it with a clear error,
    its statements are rolled back and the connection serves the next transaction."""

    async def waits(session: AsyncSession) -> None:
        await session.exec(text("INSERT INTO t_loop VALUES (7)"))  # type: ignore[call-overload]
        await asyncio.sleep(0)

    with pytest.raises(WaitedInThread):
        await db.in_one_call(waits)

    assert await db.in_one_call(rows_in_t_loop) == 0


async def test_work_in_one_call_waits_for_another_process_s_writer_in_the_worker_thread(
    db: Database, sqlite_url: str
) -> None:
    """Its BEGIN IMMEDIATE goes first in the call, so while another process holds the write
    lock the worker thread waits (the busy timeout) and the event loop serves everyone else;
    the work goes on, losing nothing, once the lock is free."""
    other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t_loop VALUES (7)")

    async def write(session: AsyncSession) -> list[int]:
        await session.exec(text("INSERT INTO t_loop VALUES (8)"))  # type: ignore[call-overload]
        rows = await session.exec(text("SELECT x FROM t_loop ORDER BY x"))  # type: ignore[call-overload]
        return [row[0] for row in rows]

    waiting = asyncio.create_task(db.in_one_call(write))
    await asyncio.sleep(0.2)  # the loop runs this coroutine while the call waits
    assert not waiting.done()
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(waiting, 10) == [7, 8]


async def test_work_in_one_call_whose_writer_never_frees_finds_the_database_unavailable(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock past the busy timeout: the BEGIN, which the
    driver sends itself in the worker thread, is reported as any statement's failure would
    be — the database is unavailable (a learning batch then goes to the outage journal) —
    and the connection serves the next transaction once the lock is free."""
    monkeypatch.setattr(profiles.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    db = Database(sqlite_url)
    try:
        async with db.session() as session:
            await session.exec(text("CREATE TABLE t_busy (x INTEGER)"))  # type: ignore[call-overload]
        other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")

        async def write(session: AsyncSession) -> None:
            await session.exec(text("INSERT INTO t_busy VALUES (1)"))  # type: ignore[call-overload]

        with pytest.raises(DatabaseUnavailable, match="locked"):
            await db.in_one_call(write)
        other.execute("COMMIT")
        other.close()
        await db.in_one_call(write)
        async with db.read() as session:
            assert (await session.exec(text("SELECT count(*) FROM t_busy"))).one()[0] == 1  # type: ignore[call-overload]
    finally:
        await db.dispose()


async def test_cancelled_work_in_one_call_waits_for_the_worker_thread(db: Database) -> None:
    """Cancelled while the worker thread runs its work (a graceful stop that cannot wait),
    the caller still waits for the call to end before the loop rolls back and returns the
    connection: the two threads never use it at once. What the call committed stays."""
    await db.dispose()
    started, release = threading.Event(), threading.Event()

    def hold() -> int:
        started.set()
        return int(release.wait(timeout=10))

    install_function(db, "hold", hold)

    async def work(session: AsyncSession) -> None:
        await session.exec(text("INSERT INTO t_loop VALUES (1)"))  # type: ignore[call-overload]
        await session.exec(text("SELECT hold()"))  # type: ignore[call-overload]

    task = asyncio.create_task(db.in_one_call(work))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # still waiting for the worker thread
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await db.in_one_call(rows_in_t_loop) == 1
