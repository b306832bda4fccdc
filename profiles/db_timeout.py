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

**The network case.** Patient work, and any connection between round trips, still needs
the kernel to notice a network that vanished: TCP keepalives (:data:`KEEPALIVES`) close an
idle connection whose peer stopped answering probes, and ``tcp_user_timeout`` one whose
sent bytes stay unacknowledged (:data:`TCP_USER_TIMEOUT_MS`). Neither can cut a long
statement of a live server: its kernel acknowledges bytes and probes while PostgreSQL works.
A value the database URL gives for any of these libpq parameters is kept.

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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.abc import PQGen

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
    seconds (None: no bound), closing the connection (:class:`DatabaseTimedOut`)."""

    bound: float | None = None

    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = 0.1,
        timeout: float | None = None,  # noqa: ASYNC109 (psycopg's signature, overridden)
    ) -> RV:
        """psycopg's wait with this connection's bound as its timeout (a timeout psycopg
        gives itself, as ``notifies`` does, is kept). psycopg raises its own timeout
        without touching the connection, whose state is then unknown (a statement half
        answered): it is closed here, so that it is a lost connection to SQLAlchemy."""
        bound = None if _patient.get() else self.bound
        if timeout is not None or bound is None:
            return await super().wait(gen, interval, timeout)
        try:
            return await super().wait(gen, interval, bound)
        except errors._WaitTimeout:
            self.pgconn.finish()
            raise DatabaseTimedOut(
                f"no answer from the database within {bound:g} s (database_timeout_seconds):"
                " connection closed"
            ) from None


def connect_args(query: Mapping[str, Any], bound: float) -> dict[str, Any]:
    """The engine's ``connect_args`` for a PostgreSQL URL whose query is ``query``: its
    connections are :class:`BoundedConnection` with ``bound``, opened within it, with TCP
    keepalives and ``tcp_user_timeout``, unless the URL sets those parameters itself."""
    defaults: dict[str, Any] = {
        "connect_timeout": max(MIN_CONNECT_TIMEOUT_SECONDS, math.ceil(bound)),
        **KEEPALIVES,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    }
    given = {key: value for key, value in defaults.items() if key not in query}
    return {**given, "async_creator_fn": _connector(bound)}


def _connector(bound: float) -> Callable[..., Awaitable[BoundedConnection]]:
    async def connect(*args: Any, **kwargs: Any) -> BoundedConnection:
        connection = await BoundedConnection.connect(*args, **kwargs)
        connection.bound = bound
        return connection

    return connect
