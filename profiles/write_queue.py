"""A PostgreSQL transaction's independent writes sent as one statement: each a
data-modifying ``WITH`` query of the next, one round trip where each was one.

Why (issue 16): on PostgreSQL what bounds a learning batch is its round trips, not Python.
``py-spy --native`` put 41 % of a batch's CPU inside libpq's send, in the kernel's
``send()`` (on these VMs a send that wakes the server costs far more than its bytes), and a
batch sent its writes one after another: the last-seen marks, evidence, interests, traits,
style, the digest's channel activity (an ORM flush), each a round trip after the people's
hold and the claims (docs/measurement.md, thirty-second session). The writes after the
claims need no answer from each other. libpq's pipeline mode was tried first and lost at
maximum ingest (psycopg waits for the socket twice and sends once per queued statement);
one statement is one send and one answer, and its text is the same for every batch of the
same shape, so psycopg prepares it once.

**What a queue changes for its caller.** A queued write has not run when it is queued; its
rows (its ``RETURNING``) are read from its :class:`Later` once the queue was sent
(:meth:`WriteQueue.send`). A statement run on the session meanwhile, outside the queue, runs
*before* the queued ones: queue only writes that nothing in between reads. The transaction
that carries a queue sends what is left in it before it commits
(:meth:`profiles.db.Database.in_one_call`). On SQLite there is no queue: its statements are
calls in one worker thread already (profiles/sqlite_loop.py), and ``ManyRows.send_later``
and :func:`profiles.learning_sql.mark_seen` run each write at once.

**What one statement changes for the writes.** The parts of one statement see the same
snapshot and none sees another's rows, and PostgreSQL does not say in which order they run;
a row may be written by one part only. So a statement holds one write per table: a second
write of a table already in it (a person's second message of the batch: the next style
round) starts the next statement, as does a second write that returns rows (only the
statement's last part can). The batch's people are held before anything is queued
(``ProfileEngine.still_learning``), so the order of its tables' row locks inside the
statement cannot make a cycle with another batch or an erasure: both wait on those holds
first; each upsert still takes its own table's rows in its key's order
(profiles/upsert.py ``ManyRows``).

A failure in the statement fails all of it, and is raised as SQLAlchemy raises a statement's
(wrapped, a lost connection invalidated): the transaction is rolled back as for any failed
statement, so a batch that fails is applied again whole, or journaled, exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.driver_statements import DriverStatement, compiled_statement, run_on_driver

# Where a transaction's session carries its queue (AsyncSession.info)
_QUEUE = "tailorbot.write_queue"
# A named parameter in psycopg's style, as SQLAlchemy writes it
_PARAMETER = re.compile(r"%\(([^)]+)\)s")


@dataclass(slots=True)
class Later:
    """A write's rows (its ``RETURNING``; none for a plain write), known once it ran: at
    once without a queue, when its queue was sent with one."""

    rows: list[tuple[Any, ...]] | None = None

    def all(self) -> list[tuple[Any, ...]]:
        if self.rows is None:
            raise RuntimeError("a queued write's rows read before its queue was sent")
        return self.rows


@dataclass(slots=True)
class _Queued:
    statement: ClauseElement
    table: str  # the one table it writes
    rows: list[Mapping[str, Any]]  # its rows: taken together by ``values``
    values: Callable[[list[Mapping[str, Any]]], Mapping[str, Any]]
    later: Later
    merges: bool  # more rows for the same statement join these (a plain insert)


@dataclass(slots=True)
class WriteQueue:
    """The writes of one PostgreSQL transaction not sent yet, in the order they were
    queued (module docstring)."""

    queued: list[_Queued] = field(default_factory=list)
    # What went out so far: writes, in how many statements
    sent_writes: int = 0
    statements: int = 0

    def __len__(self) -> int:
        return len(self.queued)

    def add(
        self,
        statement: ClauseElement,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        values: Callable[[list[Mapping[str, Any]]], Mapping[str, Any]],
        *,
        merges: bool = False,
    ) -> Later:
        """Queue ``statement``, which writes ``table``, for ``rows``: one execution, whose
        named values ``values(rows)`` gives when it is sent. ``merges``: the rows of the
        same statement queued next join these (an insert of many rows without a conflict
        clause or ``RETURNING``), and share their :class:`Later`. ``statement`` must be
        built once by its module: it is compiled once per statement object."""
        last = self.queued[-1] if self.queued else None
        if merges and last is not None and last.merges and last.statement is statement:
            last.rows.extend(rows)
            return last.later
        later = Later()
        self.queued.append(_Queued(statement, table, list(rows), values, later, merges))
        return later

    async def send(self, session: AsyncSession) -> None:
        """Send every queued write, as few statements as the rules of the module docstring
        allow (one, as a rule), inside the session's transaction, and give each its rows.
        Objects the session holds unflushed are flushed first (they were added before
        anything queued now)."""
        if not self.queued:
            return
        assert session.bind is not None
        if session.new or session.dirty or session.deleted:
            await session.flush()
        queued, self.queued = self.queued, []
        dialect = session.bind.dialect
        groups = _groups(queued, dialect)
        connection = await session.connection()
        prepared = [_combined(group, dialect) for group in groups]
        ran = await greenlet_spawn(run_on_driver, connection.sync_connection, prepared)
        for group, (statement, _), (rows, codes) in zip(groups, prepared, ran, strict=True):
            for entry, _compiled in group:
                entry.later.rows = []
            returning = group[-1][0]
            if statement.result_types:
                returning.later.rows = [statement.row(row, codes) for row in rows]
        self.sent_writes += len(queued)
        self.statements += len(groups)


def _groups(
    queued: list[_Queued], dialect: Dialect
) -> list[list[tuple[_Queued, DriverStatement]]]:
    """The writes, in their order, cut into statements: a table written once in each, and a
    write that returns rows only as its last (module docstring)."""
    groups: list[list[tuple[_Queued, DriverStatement]]] = []
    tables: set[str] = set()
    returns = False
    for entry in queued:
        compiled = compiled_statement(entry.statement, dialect)
        if not groups or entry.table in tables or returns:
            groups.append([])
            tables, returns = set(), False
        groups[-1].append((entry, compiled))
        tables.add(entry.table)
        returns = bool(compiled.result_types)
    return groups


def _combined(
    group: list[tuple[_Queued, DriverStatement]], dialect: Dialect
) -> tuple[DriverStatement, dict[str, Any]]:
    """One statement for the group's writes: each but the last a ``WITH`` part, the last
    the statement itself (the one whose rows come back); each write's parameters renamed
    ``w{n}_…`` so that two writes' names cannot meet."""
    parts: list[str] = []
    parameters: dict[str, Any] = {}
    for n, (entry, compiled) in enumerate(group):
        values = compiled.parameters(entry.values(entry.rows))
        assert isinstance(values, dict), "named parameters (PostgreSQL's driver)"
        parameters.update({f"w{n}_{name}": value for name, value in values.items()})
        parts.append(_PARAMETER.sub(rf"%(w{n}_\1)s", compiled.sql))
    *before, last = parts
    assert not last.lstrip().upper().startswith("WITH"), "a statement with its own WITH"
    sql = last
    if before:
        sql = "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(before))
        sql += " " + last
    returning = group[-1][1]
    return DriverStatement(sql, None, {}, returning.result_types, dialect=dialect), parameters


def queue_of(session: AsyncSession) -> WriteQueue | None:
    """The queue of the session's transaction, if it carries one."""
    found = session.info.get(_QUEUE)
    return found if isinstance(found, WriteQueue) else None


def carry_queue(session: AsyncSession) -> WriteQueue:
    """Give the session's transaction a queue (PostgreSQL only: module docstring)."""
    assert session.bind is not None and session.bind.dialect.name == "postgresql"
    queue = WriteQueue()
    session.info[_QUEUE] = queue
    return queue


def drop_queue(session: AsyncSession) -> None:
    session.info.pop(_QUEUE, None)


__all__ = ["Later", "WriteQueue", "carry_queue", "drop_queue", "queue_of"]
