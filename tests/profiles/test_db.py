"""profiles.db under load: SQLite bursts never end in "database is locked", and "database
unavailable" means the database really is."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading

import psycopg
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import make_url, text

from bot.core import DB_UNAVAILABLE, Core
from bot.llm import ScriptedBackend
from profiles.db import Database, DatabaseUnavailable, again_on_conflict
from profiles.models import ConversationTurn
from tests.support.helpers import command, count, message, person
from tests.support.ports import free_port

PEOPLE = 50


async def test_fifty_people_at_once_on_one_sqlite_file(sqlite_url, settings_for):
    """About 24 people writing at once used to produce "database is locked", people told the
    database was unreachable although it never went away, and unanswered messages."""
    core = Core(settings_for(sqlite_url), Database(sqlite_url), ScriptedBackend())
    people = [person(f"user{n}") for n in range(PEOPLE)]
    try:
        await asyncio.gather(*(core.handle(command(p, "consent", "grant")) for p in people))
        batches = await asyncio.gather(
            *(
                core.handle(message(p, f"Message {k} about sourdough starters and rye {n}"))
                for n, p in enumerate(people)
                for k in range(2)
            )
        )
        texts = [r.text for replies in batches for r in replies]
        assert DB_UNAVAILABLE not in texts
        assert [len([r for r in replies if r.purpose == "chat"]) for replies in batches] == [1] * (
            PEOPLE * 2
        )
        assert all(r.reply_id for replies in batches for r in replies if r.purpose == "chat")
        assert await count(core, ConversationTurn, role="user") == PEOPLE * 2
        assert await count(core, ConversationTurn, role="assistant") == PEOPLE * 2
        assert core.backlog_size == 0
    finally:
        await core.aclose()
        await core.services.db.dispose()


async def test_a_nested_read_inside_a_write_does_not_wait_for_itself(sqlite_url):
    db = Database(sqlite_url)
    try:
        async with db.session() as outer:
            await outer.exec(text("CREATE TABLE IF NOT EXISTS t_nested (x INTEGER)"))  # type: ignore[call-overload]
            await outer.exec(text("INSERT INTO t_nested VALUES (1)"))  # type: ignore[call-overload]
            async with db.session() as inner:  # e.g. a hook reading while a command writes
                await inner.exec(text("SELECT 1"))  # type: ignore[call-overload]
    finally:
        await db.dispose()


async def test_a_learning_batch_lets_a_reply_that_came_after_it_write_first(sqlite_url):
    """On SQLite write transactions queue for the one writer: a batch (``in_one_call``,
    which nobody waits for) waiting there lets a reply's transaction that arrived after it
    go first, and the writer is free during the turn of the event loop a write transaction
    ends with — the next one in the queue runs in it."""
    db = Database(sqlite_url)
    order: list[str] = []

    async def write(name: str) -> None:
        async with db.session(quick=True) as session:
            await session.exec(text(f"INSERT INTO t_order VALUES ('{name}')"))  # type: ignore[call-overload]
        order.append(name)

    async def batch(session) -> None:
        await session.exec(text("INSERT INTO t_order VALUES ('batch')"))
        order.append("batch")

    try:
        async with db.session() as session:
            await session.exec(text("CREATE TABLE t_order (name TEXT)"))  # type: ignore[call-overload]
        async with db.session(quick=True):  # the writer, held
            batched = asyncio.create_task(db.in_one_call(batch))
            await asyncio.sleep(0.01)  # queued
            reply = asyncio.create_task(write("reply"))
            await asyncio.sleep(0.01)  # queued behind it
        # The holder's turn came after it freed the writer: the reply wrote in it. Read at
        # once, without a turn of the loop (the batch's thread, woken by the reply's release,
        # would be racing a read that awaits its own thread).
        with contextlib.closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as raw:
            rows = raw.execute("SELECT name FROM t_order").fetchall()
        assert [name for (name,) in rows] == ["reply"]
        await asyncio.gather(batched, reply)
        assert order == ["reply", "batch"]
    finally:
        await db.dispose()


async def test_a_missing_sqlite_directory_is_unavailable_not_locked(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/gone/x.db")
    (tmp_path / "gone").rmdir()
    before = set(threading.enumerate())
    try:
        with pytest.raises(DatabaseUnavailable):
            async with db.session() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    finally:
        await db.dispose()
        # aiosqlite 0.22 stops the worker thread of a connection that failed to open without
        # waiting for it: the thread then reports to this test's event loop, which must
        # still be open (otherwise "Event loop is closed" in that thread, a warning later).
        for thread in set(threading.enumerate()) - before:
            if "_connection_worker_thread" in thread.name:
                await asyncio.to_thread(thread.join, 10)


@pytest.mark.parametrize("quick", [False, True])
async def test_a_writer_that_waits_past_the_busy_timeout_is_unavailable_then_recovers(
    tmp_path, monkeypatch, quick
):
    """Another process holds SQLite's write lock longer than the busy timeout: the waiting
    BEGIN IMMEDIATE (sent to the driver directly, profiles/db.py) is reported as the database
    being unavailable, as any statement's failure is, and the connection works once the lock
    is gone."""
    monkeypatch.setattr("profiles.db.SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        async with db.session(quick=quick) as session:
            await session.exec(text("CREATE TABLE t (x INTEGER)"))  # type: ignore[call-overload]
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseUnavailable, match="locked"):
            async with db.session(quick=quick) as session:
                await session.exec(text("INSERT INTO t VALUES (1)"))  # type: ignore[call-overload]
        other.execute("ROLLBACK")
        async with db.session(quick=quick) as session:
            await session.exec(text("INSERT INTO t VALUES (2)"))  # type: ignore[call-overload]
        async with db.read(quick=quick) as session:
            rows = (await session.exec(text("SELECT x FROM t"))).all()  # type: ignore[call-overload]
        assert [tuple(r) for r in rows] == [(2,)]
    finally:
        other.close()
        await db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("ping_after", [0.0, 3600.0], ids=["idle", "just-used"])
async def test_an_idle_postgres_connection_is_pinged_and_a_recent_one_trusted(
    postgres_database, monkeypatch, ping_after
):
    """A pooled connection idle past ``PING_AFTER_IDLE_SECONDS`` is pinged before it is
    handed out: one the server dropped meanwhile is replaced and nobody notices. One handed
    back a moment ago is trusted without that round trip: if the server dropped it, the first
    statement finds out (unavailable: the core keeps the event in its journal), and the pool
    is renewed for the next one."""
    import profiles.db as db_module
    from tests.support.tcp_proxy import proxied_database

    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", ping_after)
    proxy, url = await proxied_database(postgres_database)
    db = Database(url)

    async def select_one() -> int:
        async with db.session() as session:
            return int((await session.exec(text("SELECT 1"))).scalar_one())

    try:
        assert await select_one() == 1
        await proxy.stop()  # the server drops every connection ...
        await proxy.start()  # ... and is back at once
        if ping_after == 0.0:
            assert await select_one() == 1
        else:
            with pytest.raises(DatabaseUnavailable):
                await select_one()
            assert await select_one() == 1
    finally:
        await db.dispose()
        await proxy.stop()


@pytest.mark.postgres
async def test_work_postgres_aborts_over_a_deadlock_is_run_again(postgres_database):
    """Two transactions that each hold a row the other then wants: PostgreSQL breaks the
    deadlock by aborting one. Run again, the aborted work passes, and nothing of its first
    run was kept (a reaction's feedback aborted so was dropped). The run again starts once
    the other has committed: started at once, it could take its first row back before the
    other's waiting statement did and deadlock a second time (a CI run under load: [1, 3])."""
    db = Database(postgres_database)
    runs = {"ab": 0, "ba": 0}
    committed = {"ab": asyncio.Event(), "ba": asyncio.Event()}
    each_holds_one = asyncio.Barrier(2)

    async def crossing(name: str, first: int, second: int) -> None:
        runs[name] += 1
        if runs[name] > 1:
            await committed["ba" if name == "ab" else "ab"].wait()
        async with db.session() as session:
            bump = text("UPDATE pair SET n = n + 1 WHERE id = :id")
            await session.exec(bump, params={"id": first})
            if runs[name] == 1:
                await each_holds_one.wait()
            await session.exec(bump, params={"id": second})
        committed[name].set()

    try:
        async with db.session() as session:
            await session.exec(text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
            await session.exec(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        await asyncio.gather(
            again_on_conflict(lambda: crossing("ab", 1, 2), "ab"),
            again_on_conflict(lambda: crossing("ba", 2, 1), "ba"),
        )
        async with db.read() as session:
            assert (await session.exec(text("SELECT sum(n) FROM pair"))).scalar_one() == 4
        assert sorted(runs.values()) == [1, 2]  # one aborted, and run again
    finally:
        async with db.session() as session:  # the worker's database is shared: as it was
            await session.exec(text("DROP TABLE IF EXISTS pair"))
        await db.dispose()


@pytest.mark.postgres
async def test_postgres_reads_run_without_a_transaction_writes_within_one(postgres_database):
    """A read-only session on PostgreSQL runs each statement on its own (autocommit: no
    BEGIN, no ROLLBACK round trip), and so does ``each_statement`` (a reply's record), whose
    writes commit as they run; a write session keeps one transaction around all of its
    statements. ``now()`` is the start of the transaction, ``statement_timestamp()`` that of
    the statement: they differ for the second statement of a transaction only."""
    db = Database(postgres_database)
    second = text("SELECT now() = statement_timestamp()")
    try:
        async with db.read() as session:
            await session.exec(text("SELECT pg_sleep(0.02)"))
            assert (await session.exec(second)).scalar_one() is True
        async with db.session() as session:
            await session.exec(text("SELECT pg_sleep(0.02)"))
            assert (await session.exec(second)).scalar_one() is False
        # a reply's record: its statements each commit on their own (no BEGIN, no COMMIT)
        async with db.each_statement() as session:
            await session.exec(text("SELECT pg_sleep(0.02)"))
            assert (await session.exec(second)).scalar_one() is True
            await session.exec(text("CREATE TEMP TABLE t_each (x int)"))
            await session.exec(text("INSERT INTO t_each VALUES (1)"))
            raw = await (await session.connection()).get_raw_connection()
            assert raw.driver_connection.info.transaction_status == (
                psycopg.pq.TransactionStatus.IDLE  # nothing open: the insert has committed
            )
    finally:
        await db.dispose()


async def test_connections_opened_at_start_serve_a_burst_without_connecting(database_url):
    """What ``tailorbot run`` does at start (Services.warm_up): the first burst of people
    finds the pool's connections open instead of opening them while they wait."""
    db = Database(database_url)
    try:
        opened = await db.open_connections()
        pool = db.engine.sync_engine.pool
        assert opened == pool.size() >= 5  # type: ignore[attr-defined]
        connects: list[object] = []
        sa_event.listen(pool, "connect", lambda *_: connects.append(_))

        async def read() -> None:
            async with db.read() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
                await asyncio.sleep(0.01)  # all of them in flight at once

        await asyncio.gather(*(read() for _ in range(opened)))
        assert connects == []
        await asyncio.gather(*(read() for _ in range(opened + 1)))
        assert len(connects) == 1  # one more than the pool keeps: the events are counted
    finally:
        await db.dispose()


async def test_a_database_away_at_start_is_unavailable_when_opening_connections():
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(DatabaseUnavailable):
            await db.open_connections()
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_postgres_connections_compile_no_plans_and_keep_the_url_s_options(
    postgres_database,
):
    """JIT is off on the bot's connections (profiles/db.py ``_without_jit``), and server
    options the URL gives still apply: its statement_timeout over the bot's own, a share of
    the database timeout (profiles/db_timeout.py)."""
    url = make_url(postgres_database).update_query_dict(
        {"options": "-c statement_timeout=12345"}
    )
    setting = text("SELECT current_setting(:name)")
    for db in (Database(postgres_database), Database(url)):
        try:
            async with db.read() as session:
                jit = (await session.exec(setting, params={"name": "jit"})).scalar_one()  # type: ignore[call-overload]
                timeout = (
                    await session.exec(setting, params={"name": "statement_timeout"})  # type: ignore[call-overload]
                ).scalar_one()
            assert jit == "off"
            assert timeout == ("12345ms" if db.url.query else "4500ms")
        finally:
            await db.dispose()


async def test_a_failed_statement_s_error_names_it_without_its_values(database_url, caplog):
    """Statement errors are logged (a failed learning batch, a reply's record); their text
    carried the statement's values — people's words — as ``[parameters: …]``."""
    db = Database(database_url)
    try:
        with pytest.raises(Exception) as raised:
            async with db.session() as session:
                await session.exec(  # type: ignore[call-overload]
                    text("INSERT INTO no_such_table (words) VALUES (:words)"),
                    params={"words": "my landlord Quokka Xylander"},
                )
        described = str(raised.value) + "".join(
            str(e) for e in (raised.value.__cause__, raised.value.__context__) if e
        )
        assert "no_such_table" in described
        assert "Xylander" not in described
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    "error",
    [FileNotFoundError(2, "No such file or directory"), PermissionError(13, "Permission denied"),
     OSError("a template the renderer cannot find")],
)
async def test_an_os_error_of_the_work_itself_is_not_an_outage(sqlite_url, error):
    """Any OSError raised inside a transaction was reported as the database being away, so
    the core journaled the event for a replay that could only fail again, and queued every
    later event behind it (jinja2's TemplateNotFound, an OSError, did exactly that). Only a
    network failure is an outage."""
    db = Database(sqlite_url)
    try:
        with pytest.raises(type(error)):
            async with db.session() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
                raise error
        with pytest.raises(DatabaseUnavailable):
            async with db.session() as session:
                raise ConnectionResetError(104, "Connection reset by peer")
    finally:
        await db.dispose()
