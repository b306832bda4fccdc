"""How long the bot waits for PostgreSQL to answer before it treats the database as
unavailable, so that a database that *hangs* behaves like one that refuses.

A server that stops (SIGSTOP, a stalled VM, a storage freeze) or a network that drops
packets without a reset leaves the bot's connections open and silent: nothing fails, so
nothing reached the outage journal, and every reply waited until the database thawed.
PostgreSQL's own ``statement_timeout`` cannot fire on a server that does not run, and the
kernel answers TCP keepalives for a stopped process, so the bound has to be the client's.

**Where the bound is.** Every round trip to PostgreSQL — a statement and its rows, a
COMMIT or ROLLBACK, the pool's ping of an idle connection — must be answered within the
bound (``database_timeout_seconds``, :data:`DEFAULT_TIMEOUT_SECONDS`), and a connection
must open within it (libpq's ``connect_timeout``, whole seconds, at least 2). It is enforced
in the driver (:class:`BoundedConnection`, psycopg's own wait with a timeout), not by
cancelling the task: psycopg answers a cancelled query by asking the server to cancel it
and waiting for that, up to 5 + 5 s more against a server that answers nothing (measured:
an 8 s ``asyncio.timeout`` around a statement on a frozen server returned after 18 s). A
round trip past the bound closes its connection at once, so SQLAlchemy discards it from the
pool (never reused: its late answer would be read as the next statement's) and the caller
sees :class:`DatabaseTimedOut`, a lost connection, which profiles/db.py reports as
``DatabaseUnavailable``: the event goes to the outage journal, as for a refused connection.

**Per round trip, not per reply.** A reply's statements are indexed lookups about one person
(milliseconds); the model's answer, which may take a minute, is no round trip, so it is
never cut. Per-person commands (``/export``, ``/forget``) send one statement per table,
each over one person's rows by an index (retention keeps months of them by default): far
inside a few seconds each (docs/measurement.md, "A database that hangs": 0.5 s for the
heaviest). Work whose statements grow with a workspace and nobody waits for — the scheduled
digests, the retention purge, erasing a whole workspace — runs in :func:`patient`, without
a client-side bound: a slow statement there is no outage, and cutting it would make the
same work fail again every time it is retried. (The workspace counts refreshed beside
replies stay bounded: small batches, and a failed refresh only waits for the next.)
Alembic's migrations at start use their own synchronous engine and are not bounded at all.

**Waiting is not hanging.** A live server's statement may wait for a row lock held by
legitimate work (a ``/forget``'s transaction, a digest page, a workspace's erasure), and the
client cannot tell that silence from a stopped server's. So bounded connections also carry
the server's own limits, under the bound (:func:`server_options`): ``lock_timeout`` at
:data:`LOCK_TIMEOUT_SHARE` of it and ``statement_timeout`` at
:data:`STATEMENT_TIMEOUT_SHARE`. A lock wait (or a statement) that long is then cut by
the server itself, which answers (SQLSTATE 55P03 or 57014): the transaction is rolled back,
the connection stays usable and in the pool, and profiles/db.py reports
``DatabaseBusy`` — no outage: the caller runs the work again or keeps it (bot/core.py).
Patient work waits as long as it takes: the first round trip of a connection's use in
:func:`patient` switches these limits off for the session (one statement, sent between
transactions), and the first bounded use after it switches them on again, so a pooled
connection going from one use to the other carries the right ones
(:meth:`BoundedConnection.wait`). The bot manages these two settings on its connections
(those of the server's configuration or the role are not used), but for one the database
URL's own ``options`` set: that one is the operator's, in patient work too.

**The network case.** Patient work, and any connection between round trips, still needs
the kernel to notice a network that vanished: TCP keepalives (:data:`KEEPALIVES`) close an
idle connection whose peer stopped answering probes, and ``tcp_user_timeout`` one whose
sent bytes stay unacknowledged (:data:`TCP_USER_TIMEOUT_MS`). Neither can cut a long
statement of a live server: its kernel acknowledges bytes and probes while PostgreSQL works.
A value the database URL gives for any of these libpq parameters is kept.

**The digest job store** (APScheduler's, bot/digest/scheduler.py) is synchronous and
queried in worker threads: its connections are :class:`BoundedSyncConnection`, with the
same bound, server limits and libpq parameters (:func:`libpq_args`). A job store query sent
into a hang then frees its thread, and the scheduler's lock that thread holds, within the
bound: stopping the scheduler needs that lock.

**SQLite** is not bounded: it is a file, not a server that can stop answering. Its waits
are for another process's write lock, already bounded by its busy timeout (30 s, then
"database is locked", an outage as here), and a long legitimate write (a migration, a big
learning batch, a WAL checkpoint after an erasure) must not be cut.

**Unknown outcome.** A round trip cut by the bound may have reached the server: a COMMIT
(or a statement in autocommit) sent into the hang takes effect when the server thaws, as
one whose answer a reset lost. Work that goes to the outage journal must therefore be safe
to replay when it did commit: the event-id claims make a replayed event that was claimed a
duplicate, an owed record's replay first looks for the turns it would store, and a message
or a command whose claim was sent is kept with that claim's time, so that its replay can
tell its own claim from a duplicate's (bot/pipeline/identify.py ``ClaimUnsure``) — also
when the replay itself meets the hang (bot/journal.py ``Drainer``). A command found to have
taken effect runs again without applying its effect twice (bot/handlers/commands.py).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.abc import PQGen
from sqlalchemy import event
from sqlalchemy.engine import Engine

DEFAULT_TIMEOUT_SECONDS = 5.0
# libpq's connect_timeout is whole seconds, and psycopg (as libpq) makes anything below 2 be 2.
MIN_CONNECT_TIMEOUT_SECONDS = 2
# An idle connection is probed after 10 s of silence, every 5 s, given up after 3 unanswered
# probes: a vanished network is noticed ~25 s after the last byte (Linux defaults: 2 h 11 min).
KEEPALIVES: Mapping[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
# Bytes sent and unacknowledged this long: the network is gone (Linux only; libpq ignores it
# elsewhere). Well above any retransmission on a working network.
TCP_USER_TIMEOUT_MS = 30_000
# The server's own limits on bounded connections, as shares of the bound: the server's
# answer (lock or statement timed out) then reaches the client before the bound calls the
# server hung (a margin of a tenth of the bound, 0.5 s by default), and a lock wait ends
# as a lock timeout (55P03) rather than a statement timeout (57014).
LOCK_TIMEOUT_SHARE = 0.8
STATEMENT_TIMEOUT_SHARE = 0.9

RV = TypeVar("RV")

# Whether round trips of the current task (and of the tasks it starts) are unbounded.
_patient: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tailorbot_db_patient", default=False
)


class DatabaseTimedOut(psycopg.OperationalError):
    """PostgreSQL did not answer within the bound; the connection was closed."""


@contextlib.contextmanager
def patient() -> Iterator[None]:
    """Round trips inside (in this task, and in tasks started from it) have no client-side
    bound: for work whose statements grow with a workspace and no person waits for (see the
    module docstring). TCP keepalives and ``tcp_user_timeout`` still end a dead network's."""
    token = _patient.set(True)
    try:
        yield
    finally:
        _patient.reset(token)


class BoundedConnection(psycopg.AsyncConnection[Any]):
    """A psycopg connection whose every wait for the server ends after :attr:`bound`
    seconds (None: no bound), closing the connection (:class:`DatabaseTimedOut`); its
    session has the server's own limits (:func:`server_options`) while it is bounded."""

    bound: float | None = None
    # The server's limits this connection manages (:func:`server_limits`), and whether its
    # session has them now: opened with them (:func:`connect_args`); switched off in
    # patient use and on again after.
    limits: Mapping[str, int] = {}
    limited = False

    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = 0.1,
        timeout: float | None = None,  # noqa: ASYNC109 (psycopg's signature, overridden)
    ) -> RV:
        """psycopg's wait with this connection's bound as its timeout (a timeout psycopg
        gives itself, as ``notifies`` does, is kept), after switching the server's limits
        to this use (:meth:`_limit`). psycopg raises its own timeout without touching the
        connection, whose state is then unknown (a statement half answered): it is closed
        here, so that it is a lost connection to SQLAlchemy."""
        if timeout is not None or self.bound is None:
            return await super().wait(gen, interval, timeout)
        bound = None if _patient.get() else self.bound
        await self._limit(bound is not None, interval, bound)
        return await self._wait_within(gen, interval, bound)

    async def _limit(self, limited: bool, interval: float, bound: float | None) -> None:
        """Give the session the server's limits (``limited``) or none, if it has not the
        wanted ones and is between transactions (the work waited for is not sent yet: a
        BEGIN it needs goes after). Why: a pooled connection serves replies (limited: a
        lock wait is cut under the bound) and patient work (which may wait for a lock as
        long as it takes) in turn. Inside a transaction a SET would be undone by its
        rollback: the limits stay as they are until the next one; a pipeline has its
        commands queued already."""
        if (
            limited == self.limited
            or not self.limits
            or self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE
            or self._pipeline is not None
        ):
            return
        # One statement (psycopg's command takes one result), for the session.
        values = ", ".join(
            f"set_config('{name}', '{ms if limited else 0}', false)"
            for name, ms in self.limits.items()
        )
        await self._wait_within(self._exec_command(f"SELECT {values}"), interval, bound)
        self.limited = limited

    async def _wait_within(self, gen: PQGen[RV], interval: float, bound: float | None) -> RV:
        if bound is None:
            return await super().wait(gen, interval, None)
        try:
            return await super().wait(gen, interval, bound)
        except errors._WaitTimeout:
            LOST_BACKENDS[self.pgconn.backend_pid] = time.time()
            self.pgconn.finish()
            raise _timed_out(bound) from None


class BoundedSyncConnection(psycopg.Connection[Any]):
    """:class:`BoundedConnection` for synchronous work (APScheduler's job store,
    bot/digest/scheduler.py): every wait for the server ends after :attr:`bound` seconds,
    closing the connection. Never patient: the job store's statements are small."""

    bound: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        if timeout is not None or self.bound is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.bound)
        except errors._WaitTimeout:
            self.pgconn.finish()
            raise _timed_out(self.bound) from None


# Server processes of connections given up on a timeout (their pid, and when, wall clock):
# what such a one was sent may still take effect when the server thaws — a record's INSERT
# committing while its replay, not seeing it yet, stored the exchange again (CI). The
# outage journal's replay first ends them (profiles/db.py ``Database.fence_lost``).
LOST_BACKENDS: dict[int, float] = {}


def _timed_out(bound: float) -> DatabaseTimedOut:
    return DatabaseTimedOut(
        f"no answer from the database within {bound:g} s (database_timeout_seconds):"
        " connection closed"
    )


# The server's limits, by name: shares of the bound (LOCK_TIMEOUT_SHARE, ...).
_LIMIT_SHARES: Mapping[str, float] = {
    "lock_timeout": LOCK_TIMEOUT_SHARE,
    "statement_timeout": STATEMENT_TIMEOUT_SHARE,
}


def server_limits(query: Mapping[str, Any], bound: float) -> dict[str, int]:
    """The server's limits (milliseconds, by setting) under ``bound`` that bounded
    connections of a URL whose query is ``query`` carry: all but those the URL's own
    ``options`` set (an operator's value is kept, as for the libpq parameters)."""
    own = query.get("options", "")
    given = (own if isinstance(own, str) else " ".join(own)).replace("-", "_")
    return {
        name: round(bound * share * 1000)
        for name, share in _LIMIT_SHARES.items()
        if name not in given
    }


def server_options(query: Mapping[str, Any], bound: float) -> str:
    """The server settings (libpq ``options``) a bounded connection opens with, besides the
    URL's own: :func:`server_limits` (module docstring, "Waiting is not hanging")."""
    return " ".join(f"-c {name}={ms}" for name, ms in server_limits(query, bound).items())


def connect_args(query: Mapping[str, Any], bound: float) -> dict[str, Any]:
    """The engine's ``connect_args`` for a PostgreSQL URL whose query is ``query``: its
    connections are :class:`BoundedConnection` with ``bound``, opened within it, with TCP
    keepalives and ``tcp_user_timeout``, unless the URL sets those parameters itself. Their
    ``options`` must include :func:`server_options` (profiles/db.py adds them)."""
    limits = server_limits(query, bound)
    return {**libpq_args(query, bound), "async_creator_fn": _connector(bound, limits)}


def libpq_args(query: Mapping[str, Any], bound: float) -> dict[str, Any]:
    """libpq's ``connect_timeout`` within ``bound``, TCP keepalives and
    ``tcp_user_timeout``, but for those the URL (its ``query``) sets itself."""
    defaults: dict[str, Any] = {
        "connect_timeout": max(MIN_CONNECT_TIMEOUT_SECONDS, math.ceil(bound)),
        **KEEPALIVES,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    }
    return {key: value for key, value in defaults.items() if key not in query}


def _connector(
    bound: float, limits: Mapping[str, int]
) -> Callable[..., Awaitable[BoundedConnection]]:
    async def connect(*args: Any, **kwargs: Any) -> BoundedConnection:
        connection = await BoundedConnection.connect(*args, **kwargs)
        connection.bound = bound
        connection.limits = limits
        connection.limited = True  # opened with server_options
        return connection

    return connect


def bound_sync_connections(engine: Engine, bound: float) -> None:
    """Make ``engine`` (synchronous, psycopg) open :class:`BoundedSyncConnection` with
    ``bound``: SQLAlchemy's synchronous psycopg dialect takes no connection class."""

    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> BoundedSyncConnection:
        connection = BoundedSyncConnection.connect(*cargs, **cparams)
        connection.bound = bound
        return connection

    event.listen(engine, "do_connect", connect)
