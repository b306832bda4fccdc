"""Stage 3: learn from a message of a person who allows it.

The single seam where messages teach the profile: the chat path (``message``) and channel
messages not addressed to the bot (``channel``) both go through :meth:`Observe.learn`, so a
batched learning path can later replace this one class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import desc
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import policy_for
from bot.context import local_hour
from bot.events import Event, MessageEvent
from bot.services import Services
from profiles.models import ConversationTurn, Person, Source
from profiles.preferences import PreferenceError, validate
from profiles.preload import preference_rows
from profiles.signals import MessageSignals
from prompts.context import HistoryTurn


@dataclass(slots=True)
class Observed:
    """What observing a chat message hands on to prompt assembly."""

    topics: list[str] = field(default_factory=list)
    history: list[HistoryTurn] = field(default_factory=list)
    turn: ConversationTurn | None = None  # the message itself, for Record.store


class Observe:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def message(
        self, session: AsyncSession, person: Person, event: MessageEvent, text: str
    ) -> Observed:
        """A message addressed to the bot: its signals, the history the prompt will show
        (read before this message is added), and the message as a turn of that history —
        not added here: Record.store writes it with the answer, both rows in one statement
        (issue 16), so a reply whose record fails keeps neither half of the exchange."""
        assert person.id is not None
        signals = await self.learn(session, person.id, event, text)
        topics = [t for t, _ in signals.topics]
        history = await self.history(session, person.id)
        turn = ConversationTurn(
            person_id=person.id,
            role="user",
            text=text,
            channel_id=event.channel_id,
            thread_id=event.thread_id,
            platform_message_id=event.message_id,
            topics=topics,
            created_at=event.occurred_at,
        )
        return Observed(topics=topics, history=history, turn=turn)

    async def channel(
        self, session: AsyncSession, person: Person, event: MessageEvent, text: str
    ) -> None:
        """A channel message not addressed to the bot, from a person who allows learning:
        learn from it unless admins excluded the channel, and let features (digest channel
        activity) see it unless the channel is kept out of digests."""
        assert person.id is not None
        await self.services.engine.touch(session, person, self.services.clock())
        policy = await policy_for(session, event)  # admins may exclude a channel
        if policy.learn:
            signals = await self.learn(session, person.id, event, text)
        else:
            signals = await self.services.extract(text)
        if policy.digest:  # admins may keep a channel out of digests
            await self.services.features.observe(session, person, event, signals)

    async def learn(
        self, session: AsyncSession, person_id: int, event: MessageEvent, text: str
    ) -> MessageSignals:
        """Implicit signals of one message from a person who allows learning."""
        services = self.services
        timezone = await self.store_platform_context(session, person_id, event, services.clock())
        signals = await services.extract(text, names=event.mentioned_names)
        await services.engine.observe_message(
            session,
            person_id,
            signals,
            at=event.occurred_at,
            local_hour=local_hour(event.occurred_at, timezone),
            event_id=event.event_id,
            excerpt=text,
        )
        return signals

    async def history(self, session: AsyncSession, person_id: int) -> list[HistoryTurn]:
        limit = self.services.settings.history_turns
        if limit == 0:
            return []
        result = await session.exec(
            select(ConversationTurn)
            .where(ConversationTurn.person_id == person_id)
            .order_by(desc(col(ConversationTurn.id)))
            .limit(limit)
        )
        turns = list(result)
        turns.reverse()
        return [HistoryTurn(t.role, t.text) for t in turns]

    async def store_platform_context(
        self, session: AsyncSession, person_id: int, event: Event, now: dt.datetime
    ) -> str:
        """Store timezone and locale the platform reports (source "platform", so an explicit
        preference still wins and /profile can say where a value came from) when they
        changed; return the timezone to use for this event."""
        rows = await preference_rows(session, person_id)  # usually read ahead with the sender
        stored = {
            (p.key, p.source): p.value for p in rows if p.key in ("timezone", "language")
        }
        context = event.context
        for key, value in (("timezone", context.timezone), ("language", context.locale)):
            if not value:
                continue
            try:
                clean = validate(key, value)
            except PreferenceError:  # a platform value we cannot use is simply ignored
                continue
            if stored.get((key, Source.PLATFORM.value)) != clean:
                stored[(key, Source.PLATFORM.value)] = await self.services.engine.set_preference(
                    session, person_id, key, clean, source=Source.PLATFORM, at=now
                )
        return (
            stored.get(("timezone", Source.EXPLICIT.value))
            or stored.get(("timezone", Source.PLATFORM.value))
            or self.services.settings.default_timezone
        )
