"""Statements sent straight to the driver (profiles/driver_statements.py,
``Database.write_each``): the rows are the ORM's, the transaction is the database's usual one
(SQLite's writer queue and quick transaction on the loop, PostgreSQL's autocommit), and
failures are reported as a session's are."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import bindparam, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.pipeline.record import TURN_COLUMNS, call_insert, turn_row, turns_insert
from profiles.db import Database, DatabaseUnavailable
from profiles.driver_statements import RowUpdate, Write
from profiles.models import TOKEN_COUNT_MAX, ConversationTurn, LLMCall, Person, table_of
from tests.support.sqlite_trace import LOOP, WORKER, Traced, count_hand_offs
from tests.support.tcp_proxy import proxied_database

WHEN = dt.datetime(2031, 2, 3, 4, 5, 6, 789_000, tzinfo=dt.UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def a_person(db: Database, user: str = "alice") -> int:
    async with db.session() as session:
        person = Person(platform="test", workspace="W1", user_id=user, display_name=user)
        session.add(person)
        await session.flush()
        assert person.id is not None
        return person.id


def exchange(person_id: int, asked: str, answer: str) -> list[dict[str, Any]]:
    return [
        turn_row(person_id, "user", asked, channel_id="D1", thread_id="T1",
                 topics=["sourdough", "rye"], created_at=WHEN, platform_message_id="m1"),
        turn_row(person_id, "assistant", answer, channel_id="D1", thread_id=None, topics=None,
                 created_at=WHEN, model="m-1"),
    ]


async def turns_of(db: Database, person_id: int) -> list[dict[str, Any]]:
    async with db.read() as session:
        rows = await session.exec(
            select(ConversationTurn)
            .where(ConversationTurn.person_id == person_id)
            .order_by(ConversationTurn.id)  # type: ignore[arg-type]
        )
        return [turn.model_dump(exclude={"id", "person_id"}) for turn in rows]


async def test_rows_written_on_the_driver_read_back_as_the_orm_writes_them(db: Database) -> None:
    """Every column round-trips as through the ORM: JSON lists and NULL, an aware timestamp,
    text SQLite and PostgreSQL could mangle. Fails if a value skipped its type's conversion
    (the list would not be JSON, the timestamp not the ORM's form)."""
    odd = "naïve café 🍞\u200d\x7f ' \" ; -- %(x)s ? \\"
    driver_person, orm_person = await a_person(db, "d"), await a_person(db, "o")
    shape = turns_insert(2)
    [returned] = await db.write_each([(shape, shape.values(exchange(driver_person, odd, "ok")))])
    async with db.session() as session:
        for row in exchange(orm_person, odd, "ok"):
            session.add(ConversationTurn(**row))
    assert await turns_of(db, driver_person) == await turns_of(db, orm_person)
    assert [turn["topics"] for turn in await turns_of(db, driver_person)] == [
        ["sourdough", "rye"], None,
    ]
    ids = {role: row_id for row_id, role in returned}
    async with db.read() as session:
        assistant = await session.get(ConversationTurn, ids["assistant"])
    assert assistant is not None and assistant.text == "ok" and assistant.person_id == driver_person


async def test_a_model_call_row_and_turns_in_one_call(db: Database) -> None:
    """A configured model's record: its call's row (the largest token count its column
    holds, a float, a false flag) and the answer's turn; the call reads back as the ORM's
    own write of it."""
    pid = await a_person(db)

    def call() -> LLMCall:
        return LLMCall(person_id=pid, purpose="chat", backend="openai", model="m-1",
                       input_tokens=TOKEN_COUNT_MAX, latency_ms=12.5, ok=False, error="boom",
                       created_at=WHEN)

    shape = turns_insert(1)
    written = await db.write_each([
        (call_insert(), call_insert().values([call().model_dump()])),
        (shape, shape.values(exchange(pid, "hi", "ok")[1:])),
    ])
    assert len(written) == 2 and len(written[1]) == 1
    async with db.session() as session:
        session.add(call())
    async with db.read() as session:
        stored = (await session.exec(select(LLMCall).order_by(LLMCall.id))).all()  # type: ignore[arg-type]
    driver_row, orm_row = (row.model_dump(exclude={"id"}) for row in stored)
    assert driver_row == orm_row and driver_row["input_tokens"] == TOKEN_COUNT_MAX


async def test_the_engine_hears_of_the_transaction_and_each_statement(db: Database) -> None:
    """Statement counters (the bench, the reply's statement budget) and the read-only guard
    listen to the engine: a statement sent to the driver is announced there too."""
    pid = await a_person(db)
    heard: list[str] = []

    def statement(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        heard.append(sql.split(None, 3)[2])

    def begin(_conn: Any) -> None:
        heard.append("begin")

    sync = db.engine.sync_engine
    event.listen(sync, "before_cursor_execute", statement)
    event.listen(sync, "begin", begin)
    try:
        shape = turns_insert(2)
        await db.write_each([(shape, shape.values(exchange(pid, "hi", "ok")))])
    finally:
        event.remove(sync, "before_cursor_execute", statement)
        event.remove(sync, "begin", begin)
    assert heard == ["begin", "conversation_turn"]


async def test_a_failed_statement_is_the_database_s_error_and_leaves_nothing_held(
    db: Database,
) -> None:
    """A statement the database refuses (no such person) is raised as SQLAlchemy raises it,
    not as the database being away; nothing of it is stored, and the next write — which
    needs SQLite's writer and a pooled connection — goes through."""
    shape = turns_insert(1)
    with pytest.raises(IntegrityError):
        await db.write_each([(shape, shape.values(exchange(987_654, "hi", "ok")[:1]))])
    pid = await a_person(db)
    await asyncio.wait_for(
        db.write_each([(shape, shape.values(exchange(pid, "hi", "ok")[:1]))]), timeout=10
    )
    async with db.read() as session:
        persons = (await session.exec(select(ConversationTurn.person_id))).all()
    assert persons == [pid]


async def test_on_sqlite_it_is_one_quick_transaction_on_the_loop(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``BEGIN IMMEDIATE``, the statement and ``COMMIT`` on the event loop's thread, with no
    hand-off to aiosqlite's worker thread (once the connection is open)."""
    db = Database(sqlite_url)
    try:
        pid = await a_person(db)
        shape = turns_insert(2)
        await db.write_each([(shape, shape.values(exchange(pid, "a", "b")))])  # connection open
        await db.dispose()
        await a_person(db, "bob")  # a connection opened again, traced from here
        traced = Traced(db, words=3)
        await db.dispose()
        await a_person(db, "carol")
        traced.take()
        handed = count_hand_offs(monkeypatch)
        await db.write_each([(shape, shape.values(exchange(pid, "c", "d")))])
        assert handed == []
        assert traced.take() == [
            ("PRAGMA busy_timeout=0", LOOP),
            ("BEGIN IMMEDIATE", LOOP),
            ("PRAGMA busy_timeout=30000", LOOP),
            ("INSERT INTO conversation_turn", LOOP),
            ("COMMIT", LOOP),
        ]
    finally:
        await db.dispose()


async def test_on_sqlite_it_waits_its_turn_for_the_writer(sqlite_url: str) -> None:
    """Another transaction of the process holds the one writer: the write waits for it in
    the writer's queue — it does not even try SQLite's lock meanwhile (which would send its
    ``BEGIN IMMEDIATE`` to wait in the worker thread) — then goes through on the loop."""
    db = Database(sqlite_url)
    try:
        pid = await a_person(db)
        shape = turns_insert(1)
        release = asyncio.Event()
        await db.dispose()
        traced = Traced(db)

        async def hold() -> None:
            async with db.session() as session:
                await session.exec(text("UPDATE person SET display_name = 'x'"))  # type: ignore[call-overload]
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        writing = asyncio.create_task(
            db.write_each([(shape, shape.values(exchange(pid, "hi", "ok")[:1]))])
        )
        await asyncio.sleep(0.2)
        assert not writing.done()
        release.set()
        await holder
        assert len((await asyncio.wait_for(writing, timeout=10))[0]) == 1
        begins = [where for statement, where in traced.take() if statement == "BEGIN IMMEDIATE"]
        # the holder's (an ordinary transaction: in the thread), then the write's, once: on
        # the loop, never refused (it would have been tried there, then waited in the thread)
        assert begins == [WORKER, LOOP]
    finally:
        await db.dispose()


async def test_on_sqlite_another_process_s_writer_is_waited_for_off_the_loop(
    sqlite_url: str,
) -> None:
    """Another process holds SQLite's write lock: the write waits for it in the worker thread
    (the event loop keeps running this test meanwhile) and loses nothing."""
    db = Database(sqlite_url)
    try:
        pid = await a_person(db)
        shape = turns_insert(1)
        other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        writing = asyncio.create_task(
            db.write_each([(shape, shape.values(exchange(pid, "hi", "ok")[:1]))])
        )
        await asyncio.sleep(0.2)
        assert not writing.done()
        other.execute("COMMIT")
        other.close()
        assert len((await asyncio.wait_for(writing, timeout=10))[0]) == 1
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_postgres_gone_is_unavailable_and_back_is_written(postgres_database: str) -> None:
    """The connection is cut: the write is reported as the database being away (what makes
    the core log the lost record and carry on), and once it is back the pool's dead
    connection has been replaced and the next write goes through."""
    proxy, proxied = await proxied_database(postgres_database)
    db = Database(proxied)
    try:
        pid = await a_person(db)
        shape = turns_insert(1)
        await db.write_each([(shape, shape.values(exchange(pid, "a", "b")[:1]))])
        proxy.cut()
        with pytest.raises(DatabaseUnavailable):
            await db.write_each([(shape, shape.values(exchange(pid, "c", "d")[:1]))])
        await proxy.start()
        await db.write_each([(shape, shape.values(exchange(pid, "e", "f")[:1]))])
        assert [t["text"] for t in await turns_of(db, pid)] == ["a", "e"]
    finally:
        await db.dispose()
        await proxy.stop()


def test_the_record_s_columns_are_every_column_of_a_turn_but_its_id() -> None:
    """A column added to ``conversation_turn`` must be added to the record's insert (or
    defaulted on purpose), not silently left out."""
    assert set(TURN_COLUMNS) == set(ConversationTurn.model_fields) - {"id"}


async def test_read_then_write_decides_from_the_rows_and_commits_the_writes_together(
    db: Database,
) -> None:
    """``Database.read_then_write``: ``then`` gets the rows as read_all reads them and its
    writes commit together (the update's new value is what a session reads next; a refused
    second write takes the first back); no writes: nothing written; ``then`` failing:
    nothing written, its error raised."""
    alice = await a_person(db)
    people = select(Person.id, Person.display_name, Person.last_seen_at).where(  # type: ignore[call-overload]
        Person.id == bindparam("id")
    )
    seen_update = RowUpdate(table_of(Person), ("display_name", "last_seen_at"))
    given: list[list[tuple[Any, ...]]] = []

    def rename(rows: list[tuple[Any, ...]]) -> list[Write]:
        given.append(rows)
        [(person_id, _, _)] = rows
        row = {"id": person_id, "display_name": "Alice B.", "last_seen_at": WHEN}
        return [(seen_update, seen_update.values(row))]

    before = await db.read_all(people, {"id": alice})
    assert await db.read_then_write(people, {"id": alice}, rename) == [[]]
    assert given == [before]
    [(_, name, seen)] = await db.read_all(people, {"id": alice})
    assert name == "Alice B." and seen.replace(tzinfo=dt.UTC) == WHEN  # (SQLite: naive UTC)

    assert await db.read_then_write(people, {"id": alice}, lambda rows: []) == []

    def fails(rows: list[tuple[Any, ...]]) -> list[Write]:
        raise ValueError("refused")

    no_platform = RowUpdate(table_of(Person), ("platform",))

    def writes_then_fails(rows: list[tuple[Any, ...]]) -> list[Write]:
        """A write the database refuses (NOT NULL) after one it took: both rolled back."""
        renamed = {"id": alice, "display_name": "Nobody", "last_seen_at": WHEN}
        return [(seen_update, seen_update.values(renamed)),
                (no_platform, no_platform.values({"id": alice, "platform": None}))]

    with pytest.raises(ValueError, match="refused"):
        await db.read_then_write(people, {"id": alice}, fails)
    with pytest.raises(IntegrityError):
        await db.read_then_write(people, {"id": alice}, writes_then_fails)
    [(_, name, _)] = await db.read_all(people, {"id": alice})
    assert name == "Alice B."  # the refused transaction's update did not stay


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_read_then_write_on_postgresql_opens_a_transaction_only_for_several_writes(
    db: Database,
) -> None:
    """The read, and a single write (a steady reply's claim), each run in autocommit: no
    BEGIN and COMMIT round trips around them; several writes share a transaction. Read from
    the driver's own state as each statement is sent."""
    alice = await a_person(db)
    people = select(Person.id).where(Person.id == bindparam("id"))  # type: ignore[call-overload]
    seen_update = RowUpdate(table_of(Person), ("display_name", "last_seen_at"))
    sent: list[tuple[str, bool]] = []  # (first word, the driver in autocommit)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append((statement.split()[0], conn.connection.driver_connection.autocommit))

    def renames(n: int) -> Any:
        def writes(rows: list[tuple[Any, ...]]) -> list[Write]:
            return [
                (seen_update, seen_update.values(
                    {"id": alice, "display_name": f"Alice {i}", "last_seen_at": WHEN}
                ))
                for i in range(n)
            ]
        return writes

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await db.read_then_write(people, {"id": alice}, renames(1))
        assert sent == [("SELECT", True), ("UPDATE", True)]
        sent.clear()
        await db.read_then_write(people, {"id": alice}, renames(2))
        assert sent == [("SELECT", True), ("UPDATE", False), ("UPDATE", False)]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    [(name,)] = await db.read_all(
        select(Person.display_name).where(Person.id == bindparam("id")),  # type: ignore[call-overload]
        {"id": alice},
    )
    assert name == "Alice 1"
