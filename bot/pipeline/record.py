"""Stage 6: record the exchange in a second, short transaction (the model call record and the
bot's turn, so reactions to the reply can be read as feedback), or hold it in memory while
the person's consent is unanswered."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.consent import HeldTurn
from bot.events import MessageEvent, Reply
from bot.pipeline.answer import Answered
from bot.pipeline.identify import key_of
from bot.services import Services
from profiles.models import ConversationTurn, LLMCall, Person, table_of

TurnRow = dict[str, Any]


def turn_row(
    person_id: int,
    role: str,
    text: str,
    *,
    channel_id: str,
    thread_id: str | None,
    topics: list[str] | None,
    created_at: dt.datetime,
    platform_message_id: str | None = None,
    model: str | None = None,
) -> TurnRow:
    """A history turn as :func:`insert_turns` takes it: every column of ``conversation_turn``
    but its id, as plain values. A reply's two turns are only inserted, never read back, so
    they are not built as ORM objects (constructing and dumping one cost more than its
    share of the insert)."""
    return {
        "person_id": person_id,
        "role": role,
        "text": text,
        "channel_id": channel_id,
        "thread_id": thread_id,
        "platform_message_id": platform_message_id,
        "topics": topics,
        "model": model,
        "created_at": created_at,
    }


async def insert_turns(session: AsyncSession, turns: list[TurnRow]) -> list[int]:
    """Insert history turns in one statement (an executemany, which SQLAlchemy sends as a
    single multi-row INSERT and still caches); their ids in the order given. The ids come
    back matched by role (at most one turn of each), not by position: asking SQLAlchemy to
    keep the parameters' order makes it send SQLite one INSERT per row."""
    if not turns:
        return []
    assert len({turn["role"] for turn in turns}) == len(turns), "one turn per role"
    result = await session.exec(_insert_turns(), params=turns)
    ids = {role: int(row_id) for row_id, role in result}
    return [ids[turn["role"]] for turn in turns]


@functools.cache
def _insert_call() -> Any:
    """Built once: the model call's row of a reply's record."""
    return insert(table_of(LLMCall))


@functools.cache
def _insert_turns() -> Any:
    """Built once: the statement of every reply's record."""
    table = table_of(ConversationTurn)
    return insert(table).returning(table.c.id, table.c.role)


class Record:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def store(
        self,
        event: MessageEvent,
        person: Person,
        *,
        learn: bool,
        reply: Reply,
        answered: Answered,
        text: str,
        thread: str | None,
        asked: TurnRow | None = None,
    ) -> None:
        """Sets ``reply.reply_id`` to the stored turn, when one is stored. ``asked``: the
        person's message as a turn (Observe.message), stored here with the answer in one
        statement."""
        services = self.services
        llm, result, error = services.llm, answered.result, answered.error
        # Feedback on a reply is about the reply: its own topics, read from its text when it
        # is first judged (None: not read yet; bot/handlers/feedback.py) — most replies never
        # are, and reading each one here was an extraction of the longest text of the
        # exchange on every answer. A canned notice from a missing model has none worth
        # crediting.
        topics: list[str] | None = None if llm.configured else []
        # The model call's row and the turns need not commit together (the call happened
        # either way): each statement commits on its own (Database.each_statement).
        async with services.db.each_statement() as session:
            person_id = person.id if learn else None
            if llm.configured:
                call = LLMCall.of(
                    result,
                    purpose="chat",
                    backend=llm.name,
                    person_id=person_id,
                    error=error,
                    latency_ms=answered.latency_ms,
                    tools=result.tools if result else None,
                )
                # A plain INSERT: the ORM's flush of one object cost more CPU than the
                # statement, on every reply a configured model answers (docs/measurement.md,
                # "What a configured model adds to a DM").
                await session.exec(_insert_call(), params=call.model_dump(exclude={"id"}))
            turns = [asked] if learn and asked is not None else []
            if learn and error is None:
                assert person.id is not None
                turns.append(
                    turn_row(
                        person.id,
                        "assistant",
                        text,
                        channel_id=event.channel_id,
                        thread_id=thread,
                        topics=topics,
                        model=result.model if result else None,
                        created_at=services.clock(),
                    )
                )
            ids = await insert_turns(session, turns)
            if learn and error is None:
                reply.reply_id = f"turn:{ids[-1]}"

    def hold_until_consent(
        self, event: MessageEvent, text: str, answer: str | None, thread: str | None
    ) -> None:
        """Nothing is stored before consent; the exchange waits in memory so that, if the
        person allows learning, the model still sees how the conversation began."""
        now = self.services.clock()
        turns = [
            HeldTurn("user", text, event.channel_id, event.thread_id, event.message_id,
                     event.occurred_at)
        ]
        if answer is not None:
            turns.append(HeldTurn("assistant", answer, event.channel_id, thread, None, now))
        self.services.awaiting_consent.hold(key_of(event), *turns)
