"""Quick transactions on SQLite (profiles/sqlite_loop.py): their statements run on the event
loop's thread, what may wait (BEGIN IMMEDIATE, COMMIT, statements marked ``scans``, every
ordinary transaction) in aiosqlite's worker thread. Each statement's thread is read from
SQLite's own trace callback, which runs in the thread that executes it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from profiles.db import Database, scans
from tests.support.sqlite_trace import LOOP, WORKER, Traced


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
    traced = Traced(db)
    async with db.session(quick=True) as session:
        await session.exec(text("INSERT INTO t_loop VALUES (1)"))  # type: ignore[call-overload]
        await session.exec(text("SELECT x FROM t_loop"))  # type: ignore[call-overload]
        # a count over a whole table, marked: in the thread even here
        await session.exec(scans(select(text("count(*)")).select_from(text("t_loop"))))
    assert traced.take() == [
        ("BEGIN IMMEDIATE", WORKER),  # may wait for another process's writer
        ("INSERT INTO", LOOP),
        ("SELECT x", LOOP),
        ("SELECT count(*)", WORKER),
        ("COMMIT", WORKER),  # may checkpoint the WAL
    ]

    async with db.read(quick=True) as session:
        await session.exec(text("SELECT x FROM t_loop"))  # type: ignore[call-overload]
    assert traced.take() == [("BEGIN", LOOP), ("SELECT x", LOOP), ("ROLLBACK", LOOP)]

    async with db.session() as session:  # an ordinary transaction: all in the thread
        await session.exec(text("INSERT INTO t_loop VALUES (2)"))  # type: ignore[call-overload]
    assert traced.take() == [
        ("BEGIN IMMEDIATE", WORKER), ("INSERT INTO", WORKER), ("COMMIT", WORKER),
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
    transaction waits for it in the worker thread, and the event loop keeps serving
    everyone else meanwhile. Were BEGIN IMMEDIATE run on the loop, this test's own
    coroutine could not run until the busy timeout (30 s) ran out."""
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


async def test_a_quick_transaction_hands_the_worker_thread_only_what_may_wait(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each call handed to aiosqlite's worker thread is a round trip that costs the event
    loop more than the indexed statements of a reply: a quick write transaction hands it its
    BEGIN IMMEDIATE and its COMMIT, nothing else (not the cursor around the BEGIN, nor the
    pool's rollback of a connection whose transaction committed); a quick read, nothing."""
    handed: list[str] = []
    to_thread = aiosqlite.Connection._execute

    async def spy(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(fn, "__name__", repr(fn)))
        return await to_thread(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", spy)
    for _ in range(2):  # the second time on a pooled connection
        async with db.session(quick=True) as session:
            await session.exec(text("INSERT INTO t_loop VALUES (1)"))  # type: ignore[call-overload]
        assert handed == ["_begin_now", "commit"]
        handed.clear()
        async with db.read(quick=True) as session:
            rows = (await session.exec(text("SELECT x FROM t_loop"))).all()  # type: ignore[call-overload]
        assert rows and handed == []
    async with db.session() as session:  # an ordinary transaction: all of it in the thread
        await session.exec(text("INSERT INTO t_loop VALUES (2)"))  # type: ignore[call-overload]
    assert handed[0] == "_begin_now" and handed[-1] == "commit" and "execute" in handed
