"""A sent reply's platform id, written to its stored turn: what lets a reaction to that
message count as feedback on the reply (bot/handlers/feedback.py reads it back).

Why a module of its own, owned by :class:`bot.services.Services`: adapters report the id after
sending (``Core.bind_reply``), long after the reply's record committed, and ``/forget`` must
reach the bindings still waiting for the database (:meth:`ReplyBindings.kept_of`)."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sanitize import fit_id
from profiles.db import Database, DatabaseUnavailable
from profiles.models import ConversationTurn, table_of
from profiles.upsert import AnyOf, any_of, dialect_of

log = logging.getLogger(__name__)

# How long a binding waits for others to be written with (see ReplyBindings): the learner's
# batch window (bot/learning.py), for the same reason.
FLUSH_DELAY_SECONDS = 0.05


class ReplyBindings:
    """Gives each stored reply the platform's id of the message that carried it (adapters
    report it once sent: ``Core.bind_reply``), so reactions to that message are read as
    feedback on the reply.

    The bindings of ``delay`` seconds are written together, in one indexed UPDATE (an
    executemany), from a task of their own: a reply's own transaction to bind it cost as
    much CPU as its record, on every reply the bot sends, and on SQLite a third hold of the
    one writer per reply (docs/measurement.md, twenty-first session). ``delay`` 0 writes at
    each call. Until it is written a binding is kept in memory, and :meth:`turn_for` answers
    from there: a reaction to a reply sent moments ago is feedback on it all the same. A
    binding the database cannot take (it is away) stays kept, up to ``limit`` (the oldest go
    first), and is written with the next ones once it answers, or when the core stops. A
    crash, or a stop with the database still away, loses what is kept."""

    def __init__(
        self, db: Database, *, limit: int = 10_000, delay: float = FLUSH_DELAY_SECONDS
    ) -> None:
        self.db = db
        self.limit = limit
        self.delay = delay
        self._kept: dict[int, str] = {}  # turn id -> platform message id, oldest first
        self._turns: dict[str, int] = {}  # the same bindings by platform message id
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()
        # Bindings taken out of the kept ones by a write not yet committed (turn_for).
        self._in_flight: list[dict[str, int]] = []

    @property
    def kept(self) -> tuple[int, ...]:
        """The turns whose binding waits for the database, oldest first."""
        return tuple(self._kept)

    def turn_for(self, platform_message_id: str) -> int | None:
        """The turn a binding not yet committed gives this platform message (kept, or being
        written), if one does: the reply it carried. (Whose turn it is, and whether it is
        the bot's, the caller reads from the turn, as it would for a written binding.)"""
        found = self._turns.get(platform_message_id)
        if found is None:
            found = next(
                (w[platform_message_id] for w in self._in_flight if platform_message_id in w),
                None,
            )
        return found

    async def bind(self, reply_id: str, platform_message_id: str) -> None:
        """Keep the binding; written within ``delay`` seconds (never raised to the adapter:
        the database being away keeps it longer)."""
        turn_id = turn_id_of(reply_id)
        if turn_id is None:
            return
        self._keep({turn_id: fit_id(platform_message_id, 200)})
        if self.delay <= 0:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self._write_soon)

    def _write_soon(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._write_logged())
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write_logged(self) -> None:
        try:
            await self.flush()
        except Exception:  # kept again by flush: tried with the next binding
            log.exception("reply bindings not written; kept for the next try")

    async def flush(self) -> None:
        """Write every kept binding in one statement (an executemany) now; with the database
        still away they stay kept."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._kept:
            return
        bindings, writing = self._kept, self._turns
        self._kept, self._turns = {}, {}
        self._in_flight.append(writing)
        params = [{"turn_id": turn, "mid": mid} for turn, mid in bindings.items()]
        try:
            # Each statement commits on its own (here one executemany): on PostgreSQL no
            # BEGIN and COMMIT round trips, on SQLite a quick transaction.
            async with self.db.each_statement() as session:
                await session.exec(_bind_turn(), params=params)
        except DatabaseUnavailable as exc:
            self._keep_again(bindings)
            log.warning("%d reply bindings kept until the database is back: %s",
                        len(self._kept), exc)
        except BaseException:  # cancelled, or one binding the database refuses: keep them
            self._keep_again(bindings)
            raise
        finally:
            self._in_flight.remove(writing)

    async def aclose(self) -> None:
        """Write what is kept, after any write already under way (``Core.aclose``)."""
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)
        await self.flush()

    async def kept_of(self, session: AsyncSession, person_id: int) -> list[int]:
        """The kept bindings' turns that are ``person_id``'s (a statement only when some are
        kept): ``/forget`` drops them (:meth:`drop`) once it has deleted those turns. Why:
        SQLite may give a deleted turn's id to the next turn stored, someone else's, and a
        binding written after the outage would then mark that turn as the forgotten person's
        message — a reaction to it would count as feedback on a reply it never was."""
        if not self._kept:
            return []
        stmt, turns = _turns_of_person(dialect_of(session))
        result = await session.exec(
            stmt, params={"person_id": person_id, **turns.params(self._kept)}
        )
        return [int(turn_id) for (turn_id,) in result]

    async def drop(self, turn_ids: list[int]) -> None:
        """Forget these turns' kept bindings (after the forget commits: one rolled back loses
        nothing)."""
        for turn_id in turn_ids:
            self._forget_kept(turn_id)

    def _keep(self, bindings: dict[int, str]) -> None:
        """Add ``bindings`` as the newest (a turn bound again moves to the newest place, with
        its newer id), then keep the newest ``limit``."""
        for turn_id, mid in bindings.items():
            self._forget_kept(turn_id)
            self._kept[turn_id] = mid
            self._turns[mid] = turn_id
        while len(self._kept) > self.limit:
            self._forget_kept(next(iter(self._kept)))

    def _forget_kept(self, turn_id: int) -> None:
        mid = self._kept.pop(turn_id, None)
        if mid is not None and self._turns.get(mid) == turn_id:
            del self._turns[mid]

    def _keep_again(self, bindings: dict[int, str]) -> None:
        """Bindings a write could not take, put back behind those kept meanwhile (newer)."""
        newer = self._kept
        self._kept, self._turns = {}, {}
        self._keep(bindings)
        self._keep(newer)


def turn_id_of(reply_id: str) -> int | None:
    """The turn of a reply id the core made (``turn:<id>``); None for any other id: not a
    turn, not ASCII digits, or too large for any row (which would overflow the column)."""
    digits = reply_id.removeprefix("turn:")
    if digits == reply_id or not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(digits)


@functools.cache
def _bind_turn() -> Any:
    table = table_of(ConversationTurn)
    return (
        update(table)
        .where(table.c.id == bindparam("turn_id"))
        .values(platform_message_id=bindparam("mid"))
    )


@functools.lru_cache(maxsize=2)
def _turns_of_person(dialect: str) -> tuple[Any, AnyOf]:
    """Which of a list of turns are one person's: built once per dialect, the list bound at
    execution (up to ``limit`` ids: an array on PostgreSQL, see profiles.upsert.AnyOf)."""
    table = table_of(ConversationTurn)
    turns = any_of(dialect, "turns", table.c.id)
    stmt = select(table.c.id).where(table.c.person_id == bindparam("person_id"), turns.clause)
    return stmt, turns
