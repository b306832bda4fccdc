"""Stage 6: record the exchange in a second, short transaction (the model call record and the
bot's turn, so reactions to the reply can be read as feedback), or hold it in memory while
the person's consent is unanswered."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from bot.consent import HeldTurn
from bot.events import MessageEvent, Reply
from bot.journal import RecordOwed
from bot.pipeline.answer import Answered
from bot.pipeline.identify import key_of
from bot.services import Services
from profiles.driver_statements import RowsInsert
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
    """A history turn as :func:`turns_insert` takes it: every column of ``conversation_turn``
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


TURN_COLUMNS = (
    "person_id", "role", "text", "channel_id", "thread_id", "platform_message_id", "topics",
    "model", "created_at",
)


@functools.cache
def turns_insert(rows: int) -> RowsInsert:
    """A reply's record: its one or two turns in one INSERT, their ids and roles returned."""
    return RowsInsert(table_of(ConversationTurn), TURN_COLUMNS, rows, ("id", "role"))


@functools.cache
def call_insert() -> RowsInsert:
    """The model call's row of a reply's record."""
    columns = tuple(name for name in LLMCall.model_fields if name != "id")
    return RowsInsert(table_of(LLMCall), columns, 1)


def _id_of(rows: list[tuple[Any, ...]], role: str) -> int:
    """The id of the turn of ``role`` among an insert's returned (id, role) rows (their
    order is the database's, not necessarily the values')."""
    return next(int(row_id) for row_id, row_role in rows if row_role == role)


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
        # either way): each commits on its own on PostgreSQL, and both go straight to the
        # driver (Database.write_each): through a session the record cost twice its
        # statement, on every reply (docs/measurement.md, "A reply's record straight to
        # the driver").
        inserts: list[tuple[RowsInsert, dict[str, Any]]] = []
        if llm.configured:
            call = LLMCall.of(
                result,
                purpose="chat",
                backend=llm.name,
                at=services.clock(),
                person_id=person.id if learn else None,
                error=error,
                latency_ms=answered.latency_ms,
                tools=result.tools if result else None,
            )
            shape = call_insert()
            inserts.append((shape, shape.values([call.model_dump()])))
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
        if turns:
            shape = turns_insert(len(turns))
            inserts.append((shape, shape.values(turns)))
        if not inserts:
            return
        written = await services.db.write_each(inserts)
        if learn and error is None:
            reply.reply_id = f"turn:{_id_of(written[-1], 'assistant')}"

    async def store_owed(
        self, event: MessageEvent, person_id: int, text: str, thread: str | None,
        owed: RecordOwed,
    ) -> None:
        """An exchange's record replayed from the outage journal (bot/pipeline/chat.py
        ``record_owed``): the person's turn and, when the model gave one, the answer as it
        was sent ("" : none)."""
        turns = [
            turn_row(person_id, "user", text, channel_id=event.channel_id,
                     thread_id=event.thread_id, platform_message_id=event.message_id,
                     topics=list(owed.topics), created_at=event.occurred_at),
        ]
        if owed.answer:
            turns.append(turn_row(
                person_id, "assistant", owed.answer, channel_id=event.channel_id,
                thread_id=thread, topics=None if self.services.llm.configured else [],
                model=owed.model, created_at=owed.answered_at,
            ))
        shape = turns_insert(len(turns))
        await self.services.db.write_each([(shape, shape.values(turns))])

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
