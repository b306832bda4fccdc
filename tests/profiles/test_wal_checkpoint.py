"""SQLite's write-ahead log checkpointed beside the writer (profiles/wal_checkpoint.py): on a
real database file, through the bot's own Database; a checkpoint held in its thread shows
that writes go on meanwhile."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import profiles.wal_checkpoint
from profiles.db import Database
from profiles.wal_checkpoint import PASSES, WAL_CHECKPOINT_BYTES, WalCheckpointer
from tests.support.sqlite_trace import LOOP, Traced

# A sixteenth of SQLite's threshold (64 pages): ten times SQLite's took thousands of writes,
# long on a busy machine.
THRESHOLD = WAL_CHECKPOINT_BYTES // 16
ROW = "x" * 4_000


@pytest.fixture
async def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    monkeypatch.setattr(profiles.wal_checkpoint, "WAL_CHECKPOINT_BYTES", THRESHOLD)
    database = Database(sqlite_url)
    async with database.session() as session:
        await session.exec(text("CREATE TABLE t_big (v TEXT)"))  # type: ignore[call-overload]
    yield database
    await database.dispose()


class Held:
    """Each copy of a checkpoint held in its thread, once made, until the test lets it go
    on: writes made meanwhile come after the log's end it copied to, as writes made while
    it copied do."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)  # released as each copy is made
        self.go_on = threading.Semaphore(0)
        self.free = threading.Event()  # from then on no copy is held

    async def copied(self) -> None:
        """Until the next copy is made (and held)."""
        assert await asyncio.to_thread(self.started.acquire, True, 30)

    def release(self) -> None:
        self.go_on.release()

    def release_all(self) -> None:
        self.free.set()
        self.go_on.release()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    hold = Held()
    real = WalCheckpointer._run

    def run(self: WalCheckpointer) -> tuple[int, int]:
        made = real(self)
        if not hold.free.is_set():
            hold.started.release()
            assert hold.go_on.acquire(timeout=30)
        return made

    monkeypatch.setattr(WalCheckpointer, "_run", run)
    yield hold
    hold.release_all()


async def start_held_checkpoint(db: Database, hold: Held) -> None:
    """Write until the log is due, then once more: handing the writer on starts a
    checkpoint, whose first copy is held in its thread."""
    assert db.checkpointer is not None
    while not db.checkpointer.due():
        await write(db)
    await write(db)
    await hold.copied()


async def write(db: Database) -> None:
    async with db.session(quick=True) as session:
        await session.exec(text("INSERT INTO t_big VALUES (:v)"), params={"v": ROW})  # type: ignore[call-overload]


async def count(db: Database) -> int:
    async with db.read() as session:
        return int((await session.exec(text("SELECT count(*) FROM t_big"))).one()[0])  # type: ignore[call-overload]


async def test_the_log_is_checkpointed_once_due_and_never_grows_without_bound(
    db: Database, sqlite_url: str
) -> None:
    """SQLite's own checkpoint is off on the bot's connections: were nobody to checkpoint,
    the log would grow with every write (ten times the threshold here). Each quick commit
    stays on the event loop, the log past the threshold included (it went to the worker
    thread to checkpoint there, holding the writer)."""
    checkpointer = db.checkpointer
    assert checkpointer is not None
    await db.dispose()  # connections opened from here on are traced
    traced = Traced(db, words=1)
    wal = f"{make_url(sqlite_url).database}-wal"
    writes = 10 * THRESHOLD // len(ROW)
    largest = 0
    for _ in range(writes):
        await write(db)
        await checkpointer.settled()
        largest = max(largest, os.stat(wal).st_size)
    commits = [where for statement, where in traced.take() if statement == "COMMIT"]
    assert len(commits) == writes and set(commits) == {LOOP}
    assert checkpointer.checkpoints >= 5
    assert largest < 2 * THRESHOLD
    assert await count(db) == writes


async def test_writes_go_on_while_the_log_is_checkpointed(db: Database, held: Held) -> None:
    """A checkpoint needs no writer: with one held in its thread, replies' transactions
    commit meanwhile. (When the commit checkpointed, every transaction queued for the writer
    waited for the checkpoint: ~9 ms each at maximum ingest.)"""
    checkpointer = db.checkpointer
    assert checkpointer is not None
    await start_held_checkpoint(db, held)
    before = await count(db)
    await asyncio.wait_for(asyncio.gather(*(write(db) for _ in range(5))), 10)
    assert await count(db) == before + 5
    assert checkpointer._running is not None  # still held: those writes did not wait
    held.release_all()
    await checkpointer.settled()


async def restarted(db: Database, sqlite_url: str) -> bool:
    """Whether the next write starts the log again (truncated to nothing first:
    ``journal_size_limit=0``), as it does only after a complete checkpoint."""
    await write(db)
    return os.stat(f"{make_url(sqlite_url).database}-wal").st_size < THRESHOLD // 4


async def test_a_copy_that_cannot_complete_is_finished_in_a_turn_of_the_writer(
    db: Database, sqlite_url: str
) -> None:
    """The log starts again only after a checkpoint copied every frame. Frames a copy could
    not take — written while it copied, or, here, needed still by a reader's older snapshot
    — are taken by further copies beside the writer and at last by one in a turn of it (as
    background work: replies first); alone, copies beside the writer left the log growing
    under a steady stream of writes (twenty-fifth session). Once nothing holds the frames
    back, the next checkpoint completes and the next write restarts the log."""
    checkpointer = db.checkpointer
    assert checkpointer is not None
    reader = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t_big").fetchone()  # its snapshot, from now
        while not checkpointer.due():
            await write(db)
        await write(db)
        await checkpointer.settled()
        assert checkpointer.checkpoints == PASSES + 1
        assert checkpointer.finished_under_writer == 1
        assert not await restarted(db, sqlite_url)  # the reader still holds frames back
    finally:
        reader.execute("COMMIT")
        reader.close()
    await write(db)  # the log is due: a checkpoint that completes
    await checkpointer.settled()
    assert await restarted(db, sqlite_url)


async def test_a_database_in_memory_has_no_log_to_checkpoint() -> None:
    db = Database("sqlite://")
    try:
        async with db.session() as session:
            await session.exec(text("CREATE TABLE t (v TEXT)"))  # type: ignore[call-overload]
        assert db.checkpointer is not None and not db.checkpointer.wal_path
        db.checkpointer.poke()  # nothing to stat, nothing started
        assert db.checkpointer._running is None
    finally:
        await db.dispose()


async def test_the_scrub_after_an_erasure_waits_for_a_running_checkpoint(
    db: Database, sqlite_url: str, held: Held, caplog: pytest.LogCaptureFixture
) -> None:
    """After /forget the log is checkpointed and truncated (Database.scrub): a checkpoint
    running beside it kept its TRUNCATE from completing, and after twenty tries it left the
    erased rows' old pages in the log. It waits for that one instead, and empties the log."""
    await start_held_checkpoint(db, held)
    scrub = asyncio.create_task(db.scrub())
    await asyncio.sleep(0.05)
    assert not scrub.done()  # waiting for the checkpoint's copy
    held.release_all()
    await asyncio.wait_for(scrub, 10)
    assert os.stat(f"{make_url(sqlite_url).database}-wal").st_size == 0
    assert "kept busy" not in caplog.text
