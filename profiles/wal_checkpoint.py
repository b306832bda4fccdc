"""SQLite's write-ahead log checkpointed beside the writer, not inside its turn.

SQLite's automatic checkpoint is off on the bot's connections (profiles/sqlite_loop.py: it
would run inside a commit that may be on the event loop). Until the thirty-ninth session the
commit that found the log past :data:`WAL_CHECKPOINT_BYTES` checkpointed it itself, in the
worker thread, while the transaction still held the process's one writer
(profiles/writer_lock.py): at maximum ingest a checkpoint took ~9 ms (median; up to 17), one
in every three commits of the worker thread, and every reply queued for the writer waited
for it too — though a checkpoint needs no writer: in WAL mode it copies committed pages
from the log into the database file while others write on (SQLite's "wal.html"; only the
log's restart, by the next writer once a checkpoint completed, needs the log to be idle, and
a ``PASSIVE`` checkpoint never waits for anyone).

So the log is checkpointed here, on a connection of its own in a thread of its own, started
whenever a write transaction hands the writer on and finds the log due (a ``stat``: a few
µs), one checkpoint at a time. SQLite releases the interpreter's lock while it copies, so the
copy runs on another core while the loop goes on. Should checkpoints fall behind a burst the
log grows past the threshold until the next one catches up, as SQLite's own would when
readers hold it back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)

# The log's size past which it is checkpointed (SQLite's default ``wal_autocheckpoint`` of
# 1,000 pages, at the default page size).
WAL_CHECKPOINT_BYTES = 1_000 * 4_096


class WalCheckpointer:
    """Checkpoints the log of a database file when :meth:`poke` finds it due; the file is
    named by :meth:`locate`, when the first connection finds it in WAL mode (until then, and
    for a database in memory, it does nothing)."""

    def __init__(self) -> None:
        self.path = ""
        self.wal_path = ""
        self.checkpoints = 0  # completed or partial, for tests and benchmarks
        self._running: asyncio.Task[None] | None = None
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the connection: a checkpoint, or closing it

    def locate(self, path: str) -> None:
        """The database file (absolute, as SQLite's ``PRAGMA database_list`` names it)."""
        self.path, self.wal_path = path, f"{path}-wal"

    def poke(self) -> None:
        """Start a checkpoint in a thread if the log is due one and none is running. Called
        on the event loop whenever the writer is handed on."""
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
            await asyncio.to_thread(self._run)
        except sqlite3.Error as exc:  # a locked or damaged file: the next write tries again
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._running = None

    def _run(self) -> None:
        with self._lock:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False
                )
                # as the bot's own connections: a log restarted after a complete checkpoint
                # is truncated (erased rows' old pages do not linger in it)
                self._connection.execute("PRAGMA journal_size_limit=0").close()
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            self.checkpoints += 1

    async def settled(self) -> None:
        """Return once the running checkpoint, if any, has finished."""
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
