"""SQLite's write-ahead log checkpointed beside the writer, finished in a short turn of it.

SQLite's automatic checkpoint is off on the bot's connections (profiles/sqlite_loop.py: it
would run inside a commit that may be on the event loop). Until the thirty-ninth session the
commit that found the log past :data:`WAL_CHECKPOINT_BYTES` checkpointed it itself, in the
worker thread, while the transaction still held the process's one writer
(profiles/writer_lock.py): at maximum ingest a checkpoint took ~9 ms (median; up to 17), one
in every three commits of the worker thread, and every reply queued for the writer waited
for it too.

A checkpoint needs no writer: in WAL mode it copies committed pages from the log into the
database file while others write on. But the log starts again from its beginning (and is
truncated: ``journal_size_limit=0``) only after a checkpoint copied *every* frame, and one
written on while it ran never did: tried alone (twenty-fifth session, docs/measurement.md)
the log never shrank. So each checkpoint here has two steps, one at a time:

1. copy, on a connection and a thread of its own, whatever the log holds, while the bot
   writes on (the bulk: milliseconds; SQLite releases the interpreter's lock meanwhile),
   and again what was written meanwhile, until a copy finds nothing new (then the next
   write starts the log again) or :data:`PASSES` copies did not catch up;
2. then take the writer as background work (replies waiting for it go first,
   profiles/writer_lock.py) and copy the last few frames: the checkpoint completes.

(A copy's own figures cannot say whether it was complete: SQLite reports the log as it was
when the copy began. Two copies that began at the same end of the log say nothing was
written between them.)

It starts whenever a write transaction hands the writer on and finds the log due (a
``stat``: a few µs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# The log's size past which it is checkpointed (SQLite's default ``wal_autocheckpoint`` of
# 1,000 pages, at the default page size).
WAL_CHECKPOINT_BYTES = 1_000 * 4_096
# Copies beside the writer before the last one is made in a turn of it.
PASSES = 3

Writer = Callable[[], contextlib.AbstractAsyncContextManager[None]]


class WalCheckpointer:
    """Checkpoints the log of a database file when :meth:`poke` finds it due; the file is
    named by :meth:`locate`, when the first connection finds it in WAL mode (until then, and
    for a database in memory, it does nothing). ``writer``: the writer's turn as background
    work, for a checkpoint's second step (None: there is none, the log restarts only when a
    checkpoint happens to meet no write)."""

    def __init__(self, writer: Writer | None = None) -> None:
        self.path = ""
        self.wal_path = ""
        self.writer = writer
        self.checkpoints = 0  # copies made, either step, for tests and benchmarks
        self.finished_under_writer = 0  # second steps
        self._running: asyncio.Task[None] | None = None
        self._copying: asyncio.Future[tuple[int, int]] | None = None  # a copy in its thread
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the connection: a step, or closing it

    def locate(self, path: str) -> None:
        """The database file (absolute, as SQLite's ``PRAGMA database_list`` names it)."""
        self.path, self.wal_path = path, f"{path}-wal"

    def poke(self) -> None:
        """Start a checkpoint if the log is due one and none is running. Called on the
        event loop whenever the writer is handed on."""
        if not self.wal_path or self._running is not None or not self.due():
            return
        self._running = asyncio.get_running_loop().create_task(self._checkpoint())

    def due(self) -> bool:
        try:
            return os.stat(self.wal_path).st_size >= WAL_CHECKPOINT_BYTES
        except FileNotFoundError:
            return False

    async def _checkpoint(self) -> None:
        try:
            end, _ = await self._step()
            for _ in range(PASSES - 1):
                seen, (end, copied) = end, await self._step()
                if end == seen and copied == end:  # nothing new since the last began: done
                    return
            if self.writer is not None:
                async with self.writer():
                    self.finished_under_writer += 1
                    await self._step()
        except sqlite3.Error as exc:  # a locked or damaged file: the next write tries again
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._running = None

    async def _step(self) -> tuple[int, int]:
        self._copying = asyncio.ensure_future(asyncio.to_thread(self._run))
        try:
            return await self._copying
        finally:
            self._copying = None

    def _run(self) -> tuple[int, int]:
        """One ``PASSIVE`` checkpoint (it waits for no one): the end of the log when it
        began, and how far it copied (short of it where a reader still needs older pages),
        in frames."""
        with self._lock:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False
                )
                # as the bot's own connections: a log restarted after a complete checkpoint
                # is truncated (erased rows' old pages do not linger in it)
                self._connection.execute("PRAGMA journal_size_limit=0").close()
            cursor = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            _busy, frames, copied = cursor.fetchone()
            cursor.close()
            self.checkpoints += 1
            return int(frames), int(copied)

    async def copied(self) -> None:
        """Return once no step is copying in its thread: what must hold the writer while no
        other checkpoint runs (a truncating one after an erasure) waits for this — a second
        step waits for the writer, so it cannot start meanwhile."""
        copying = self._copying
        if copying is not None:
            await asyncio.wait({copying})

    async def settled(self) -> None:
        """Return once the running checkpoint, if any, has finished (not while holding the
        writer: its second step needs it)."""
        running = self._running
        if running is not None:
            await asyncio.wait({running})

    async def aclose(self) -> None:
        """Wait for a running checkpoint, then close the connection."""
        await self.settled()
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
