"""Observed channel messages, resolved in batches: who sent them, whether they allow
learning, the channel's policy and the timezone to read them in — for a whole batch in one
read-only transaction instead of one transaction per message.

Why: three events in four are channel messages the bot only observes (issue 16). Each used
to open its own transaction for these reads — on SQLite one that queued for the single writer
behind every reply and every learning batch. Here :meth:`Intake.submit` queues the message and
returns; what arrived within ``max_delay`` (20 ms; at most ``max_batch``) is resolved with two
statements (senders with consent and preferences, channel policies) in a read-only
transaction (``Database.read``: on SQLite it never waits for the writer), then each message
the batch can decide is extracted and handed to the write-behind learner (bot/learning.py)
exactly as the per-message path (``Chat.observe_one``) would hand it.

The batch decides by the per-message rule and only where that rule needs nothing but these
rows: the sender exists, their consent is answered (granted: observed; anything else:
nothing at all is kept) and the platform reports no timezone or locale other than the
stored one. Everything else — first contact, an unanswered consent (which may take a grant
given "everywhere", or follow the workspace's mode), a changed timezone that must be stored —
goes through the per-message path, which writes when it must. A test holds the two equal.

Durability is the learner's: a batch whose read finds the database away goes to the outage
journal whole; ``/forget`` discards the person's waiting messages here too; a graceful stop
(``Learner.aclose``) resolves what waits here before the learner's own queue is flushed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import policy_of
from bot.events import MessageEvent, Surface
from bot.pipeline.observe import ChannelContext, Observe, reported_changes, stored_context
from bot.services import Services
from profiles.db import DatabaseUnavailable
from profiles.ingest import IngestStats, WriteBehind
from profiles.models import ConsentStatus, Person
from profiles.preload import channel_policies, read_senders

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_DELAY_SECONDS = 0.02
MAX_PENDING = 10_000

Key = tuple[str, str, str]  # platform, workspace, user id


@dataclass(slots=True)
class Arrival:
    """One observed message and what its batch decided about it."""

    event: MessageEvent
    text: str
    person: Person | None = None  # set when the batch decided it is observed
    context: ChannelContext | None = None
    per_message: bool = False  # the batch's rows could not decide: Chat.observe_one does

    @property
    def key(self) -> Key:
        ref = self.event.person
        return (ref.platform, ref.workspace, ref.user_id)

    @property
    def channel(self) -> Key | None:
        event = self.event
        if not event.channel_id or event.surface == Surface.DM:
            return None
        return (event.person.platform, event.person.workspace, event.channel_id)


class Intake:
    """The batched front of observation for one core (``Chat.intake``)."""

    def __init__(
        self,
        services: Services,
        observe: Observe,
        observe_one: Callable[[MessageEvent, str], Awaitable[None]],
        *,
        max_batch: int = MAX_BATCH,
        max_delay: float = MAX_DELAY_SECONDS,
    ) -> None:
        self.services = services
        self.observe = observe
        self.observe_one = observe_one
        self.per_message = 0  # messages the batch handed to the per-message path
        self.queue: WriteBehind[Arrival] = WriteBehind(
            services.db,
            self._resolve,
            max_batch=max_batch,
            max_delay=max_delay,
            max_pending=MAX_PENDING,
            on_unavailable=self._journal,
            read_only=True,
            after=self._hand_on,
        )
        services.learner.intakes.append(self)

    async def submit(self, event: MessageEvent, text: str) -> None:
        """Queue a channel message not addressed to the bot; returns at once unless
        ``MAX_PENDING`` messages already wait."""
        await self.queue.submit(Arrival(event, text))

    async def flush(self) -> None:
        """Wait until every message submitted so far is resolved and handed on."""
        await self.queue.flush()

    async def aclose(self) -> None:
        await self.queue.aclose()

    def forget(self, keys: set[Key]) -> None:
        """Discard the waiting messages of these people (``/forget``)."""
        if keys:
            self.queue.discard(lambda arrival: arrival.key in keys)

    async def _resolve(self, session: AsyncSession, batch: list[Arrival]) -> IngestStats:
        senders = await read_senders(session, {arrival.key for arrival in batch})
        channels = {arrival.channel for arrival in batch} - {None}
        policies = await channel_policies(session, {c for c in channels if c is not None})
        for arrival in batch:
            sender = senders.get(arrival.key)
            consent = sender.consent if sender is not None else None
            if sender is None or consent is None or consent.status == ConsentStatus.UNKNOWN:
                arrival.per_message = True  # first contact or unanswered: see module doc
                continue
            if consent.status != ConsentStatus.GRANTED:
                continue  # nothing at all is kept about people who have not consented
            channel = arrival.channel
            policy = policy_of(arrival.event, policies.get(channel) if channel else None)
            if not policy.learn:
                arrival.person, arrival.context = sender.person, ChannelContext(policy)
                continue
            stored = stored_context(sender.preferences)
            if reported_changes(stored, arrival.event):
                arrival.per_message = True  # the platform's new timezone must be stored
                continue
            arrival.person = sender.person
            arrival.context = ChannelContext(policy, self.observe.timezone_of(stored))
        return IngestStats(0, 0, 0, 0, 0, 0)

    async def _hand_on(self, batch: list[Arrival]) -> None:
        """Extract and queue for the learner what the batch decided; the rest through the
        per-message path. One message's failure is logged and costs no other message."""
        outcomes = await asyncio.gather(
            *(self._hand_on_one(arrival) for arrival in batch), return_exceptions=True
        )
        for arrival, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error(
                    "observed message %s dropped", arrival.event.event_id, exc_info=outcome
                )

    async def _hand_on_one(self, arrival: Arrival) -> None:
        if arrival.per_message:
            self.per_message += 1
            try:
                await self.observe_one(arrival.event, arrival.text)
            except DatabaseUnavailable:
                await self._journal([arrival])
            return
        if arrival.person is not None and arrival.context is not None:
            await self.observe.channel(arrival.person, arrival.event, arrival.text, arrival.context)

    async def _journal(self, batch: list[Arrival]) -> None:
        """The database is away: the messages wait in the outage journal, replayed once it
        answers (through Core.handle, so through here again)."""
        self.services.learner.journal_events([arrival.event for arrival in batch])
