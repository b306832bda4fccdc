"""Read-only transactions (``Database.read``, ``Database.read_first``): they never write, a
write they attempt runs again in a write transaction, and on SQLite they do not queue behind
the writer. Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.db import Database, WriteNeeded
from profiles.models import Person
from tests.support.loop_turns import loop_turns


def newcomer(user: str) -> Person:
    return Person(platform="test", workspace="W1", user_id=user, display_name=user)


async def people(db: Database) -> int:
    async with db.read() as session:
        return (await session.exec(select(func.count()).select_from(Person))).one()


async def test_a_read_only_transaction_refuses_to_write(database_url: str) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(WriteNeeded):  # a flushed write: stopped before the database
            async with db.read() as session:
                session.add(newcomer("ann"))
                await session.flush()
        with pytest.raises(WriteNeeded):  # a change left for a commit that never comes
            async with db.read() as session:
                session.add(newcomer("ann"))
        assert await people(db) == 0
    finally:
        await db.dispose()


async def test_read_first_runs_work_that_must_write_again_in_a_write_transaction(
    database_url: str,
) -> None:
    db = Database(database_url)
    calls: list[bool] = []

    async def find_or_create(session: AsyncSession, writable: bool) -> int:
        calls.append(writable)
        found = (await session.exec(select(Person).where(Person.user_id == "bo"))).first()
        if found is None:
            found = newcomer("bo")
            session.add(found)
            await session.flush()
        assert found.id is not None
        return found.id

    try:
        created = await db.read_first(find_or_create)
        assert calls == [False, True] and await people(db) == 1
        assert await db.read_first(find_or_create) == created
        assert calls == [False, True, False]  # found: read only, nothing written
    finally:
        await db.dispose()


async def test_on_sqlite_a_read_does_not_wait_for_the_writer(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    writing, done = asyncio.Event(), asyncio.Event()

    async def long_write() -> None:
        async with db.session() as session:
            session.add(newcomer("cy"))
            await session.flush()
            writing.set()
            await done.wait()

    writer = asyncio.create_task(long_write())
    try:
        await writing.wait()
        # read while the write transaction is open; it sees the last committed state
        assert await asyncio.wait_for(people(db), timeout=30) == 0
        done.set()
        await writer
        assert await people(db) == 1
    finally:
        done.set()
        await writer
        await db.dispose()


async def test_a_quick_read_on_sqlite_ends_without_a_turn_of_the_event_loop(
    sqlite_url: str,
) -> None:
    """Its statements run on the loop; so does the session's close (profiles/cleanup.py):
    under load every turn given away is a wait behind every other ready task."""
    db = Database(sqlite_url)
    try:
        await people(db)  # the pool's connection opened (in aiosqlite's thread)
        async with loop_turns() as turns:
            before = turns()
            async with db.read(quick=True) as session:
                assert (await session.exec(select(func.count()).select_from(Person))).one() == 0
            assert turns() == before
            # A write transaction keeps its one turn at the end (profiles/db.py says why).
            async with db.session(quick=True) as session:
                session.add(newcomer("ann"))
            assert turns() == before + 1
    finally:
        await db.dispose()


async def test_cancelled_while_its_session_closes_the_connection_still_goes_back(
    sqlite_url: str,
) -> None:
    """An ordinary read on SQLite ends with a rollback in aiosqlite's thread: a caller
    cancelled meanwhile waits for it and is then cancelled, and the pool gets its
    connection back (what ``async with session`` guaranteed before)."""
    db = Database(sqlite_url)
    closing = asyncio.Event()

    async def read_then_close() -> None:
        async with db.read() as session:
            await session.exec(select(func.count()).select_from(Person))
            closing.set()
            # cancelled at the loop's next turn: while the close waits for the thread
            asyncio.get_running_loop().call_soon(reader.cancel)

    try:
        reader = asyncio.create_task(read_then_close())
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert closing.is_set()
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert await people(db) == 0  # and it is usable
    finally:
        await db.dispose()
