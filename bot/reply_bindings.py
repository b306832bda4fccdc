"""A sent reply's platform id, written to its stored turn: what lets a reaction to that
message count as feedback on the reply (bot/handlers/feedback.py reads it back).

Why a module of its own, owned by :class:`bot.services.Services`: adapters report the id after
sending (``Core.bind_reply``), long after the reply's record committed, and ``/forget`` must
reach the bindings still waiting for the database (:meth:`ReplyBindings.kept_of`)."""

from __future__ import annotations

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


class ReplyBindings:
    """Gives each stored reply the platform's id of the message that carried it (adapters
    report it once sent: ``Core.bind_reply``), so reactions to that message are read as
    feedback on the reply.

    One indexed UPDATE per call: it runs for every reply an adapter sends, and reading the
    turn first cost a second statement in a transaction that, on SQLite, holds the one
    writer. A binding the database cannot take (it is away) is kept in memory, up to
    ``limit`` (the oldest go first), and written with the next one once it answers, or when
    the core stops: a reaction to such a reply still counts as feedback then. A crash, or a
    stop with the database still away, loses what is kept."""

    def __init__(self, db: Database, *, limit: int = 10_000) -> None:
        self.db = db
        self.limit = limit
        self._kept: dict[int, str] = {}  # turn id -> platform message id, oldest first

    @property
    def kept(self) -> tuple[int, ...]:
        """The turns whose binding waits for the database, oldest first."""
        return tuple(self._kept)

    async def bind(self, reply_id: str, platform_message_id: str) -> None:
        turn_id = turn_id_of(reply_id)
        if turn_id is None:
            return
        self._kept.pop(turn_id, None)  # bound again: the newer id, in the newest place
        self._kept[turn_id] = fit_id(platform_message_id, 200)
        await self.flush()

    async def flush(self) -> None:
        """Write every kept binding in one statement (an executemany); with the database
        still away they stay kept. Also tried when the core stops (``Core.aclose``)."""
        if not self._kept:
            return
        bindings, self._kept = self._kept, {}
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
            self._kept.pop(turn_id, None)

    def _keep_again(self, bindings: dict[int, str]) -> None:
        bindings.update(self._kept)  # kept meanwhile by other calls: newer
        self._kept = dict(list(bindings.items())[-self.limit :])


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
