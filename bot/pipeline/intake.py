"""Observed channel messages, resolved in batches: who sent them, whether they allow
learning, the channel's policy and the timezone to read them in — for a whole batch in one
read-only transaction instead of one transaction per message.

Why: three events in four are channel messages the bot only observes (issue 16). Each used
to open its own transaction for these reads — on SQLite one that queued for the single writer
behind every reply and every learning batch. Here :meth:`Intake.submit` queues the message and
returns (having waited, at most ``observe_yield_ms``, while replies work: bot/reply_turns.py,
and counted the message as its sender's waiting learning, which a command settles: see
``Learner.settle``); what arrived within ``max_delay`` (20 ms; at most ``max_batch``) is
resolved with two statements (senders with consent and preferences, channel policies; a third
for reactions, below) in a read-only transaction (``Database.read``: on SQLite it never waits
for the writer), then each message the batch can decide is extracted and handed to the
write-behind learner (bot/learning.py) exactly as the per-message path
(``Chat.observe_one``) would hand it.

The batch decides by the per-message rule and only where that rule needs nothing but these
rows: the sender exists, their consent is answered (granted: observed; anything else:
nothing at all is kept) and the platform reports no timezone or locale other than the
stored one. Everything else — first contact, an unanswered consent (which may take a grant
given "everywhere", or follow the workspace's mode), a changed timezone that must be stored —
goes through the per-message path, which writes when it must. A test holds the two equal.

Reactions to other people's messages (ten in a hundred events) come the same way: the batch
also asks which targets are the bot's own replies (one statement; replies whose binding is not
written yet are known in memory, bot/reply_bindings.py); a reaction to a reply is
feedback, written at once by the per-event path (``Feedback.reaction_one``), as is any
reaction the rows cannot decide; the rest is learned as interest in what was reacted to —
only when its author allows learning too (their rows come with the senders'; an unanswered
consent goes the per-event way, where the workspace's mode decides).

Durability is the learner's: a batch whose read finds the database away goes to the outage
journal whole; ``/forget`` discards the person's waiting messages here too; a graceful stop
(``Learner.aclose``) resolves what waits here before the learner's own queue is flushed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import policy_of
from bot.events import MessageEvent, ReactionEvent, Surface
from bot.learning import count_down
from bot.pipeline.observe import (
    ChannelContext,
    Observe,
    reported_changes,
    stored_context,
    writing_language,
)
from bot.services import Services
from bot.written_languages import writer_of
from profiles.db import DatabaseUnavailable, is_busy
from profiles.engine import answered_allows
from profiles.feedback import reaction_value, teaches_interest
from profiles.ingest import IngestStats, WriteBehind
from profiles.models import ConsentStatus, ConversationTurn, Person
from profiles.preload import channel_policies, read_senders
from profiles.upsert import AnyOf, any_of, dialect_of

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_DELAY_SECONDS = 0.02
MAX_PENDING = 10_000

Key = tuple[str, str, str]  # platform, workspace, user id


class ReactionPath(Protocol):
    """What the intake needs of bot/handlers/feedback.py (by structure: importing the
    handler from the pipeline would point a dependency outward)."""

    async def reaction_one(self, event: ReactionEvent) -> None:
        """The whole per-event rule: feedback on the bot's reply, or learning."""

    async def learn_elsewhere(
        self, person: Person, event: ReactionEvent, text: str, author_id: int
    ) -> None:
        """Learn interest in ``text`` (``author_id``'s words), which ``person`` reacted to
        (queued for the learner)."""


@dataclass(slots=True)
class Arrival:
    """One observed message or reaction and what its batch decided about it."""

    event: MessageEvent | ReactionEvent
    text: str  # the message, or the text reacted to ("" when the adapter could not tell)
    person: Person | None = None  # set when the batch decided it is observed
    author_id: int | None = None  # a reaction's: whose words it teaches, once decided
    context: ChannelContext | None = None
    per_event: bool = False  # the batch's rows could not decide: the per-event path does

    @property
    def key(self) -> Key:
        return writer_of(self.event)

    @property
    def author(self) -> Key | None:
        """Whose message a reaction is to, when the adapter could tell."""
        event = self.event
        if not isinstance(event, ReactionEvent) or event.target_author_id is None:
            return None
        return (event.person.platform, event.person.workspace, event.target_author_id)

    @property
    def channel(self) -> Key | None:
        event = self.event
        if not event.channel_id or (isinstance(event, MessageEvent)
                                    and event.surface == Surface.DM):
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
        self.per_event = 0  # events the batch handed to their per-event path
        self.reactions: ReactionPath | None = None  # set by the feedback handler
        self.queue: WriteBehind[Arrival] = WriteBehind(
            services.db,
            self._resolve,
            max_batch=max_batch,
            max_delay=max_delay,
            max_pending=MAX_PENDING,
            on_unavailable=self._journal,
            read_only=True,
            after=self._hand_on,
            left=self._left,
        )
        # Messages submitted and not yet handed to the learner, by person (held back behind
        # replies, queued, or in a batch): a command settling a person's learning
        # (Learner.settle) must see them too, or "/profile" right after a channel message
        # missed what it taught.
        self._waiting: Counter[Key] = Counter()
        services.learner.intakes.append(self)

    async def submit(self, event: MessageEvent | ReactionEvent, text: str) -> None:
        """Queue a channel message not addressed to the bot (or a reaction, with the text
        reacted to). Waits while replies work (at most ``observe_yield_ms``: replies first,
        bot/reply_turns.py), and while ``MAX_PENDING`` events already wait."""
        arrival = Arrival(event, text)
        self._waiting[arrival.key] += 1
        try:
            await self.services.reply_turns.behind_replies()  # replies first
            await self.queue.submit(arrival)
        except BaseException:  # cancelled while held or waiting for room: never queued
            self._left([arrival])
            raise

    def _left(self, arrivals: list[Arrival]) -> None:
        count_down(self._waiting, (arrival.key for arrival in arrivals))

    def waiting(self, key: Key) -> bool:
        """Whether a message of this person is here, not yet handed to the learner."""
        return bool(self._waiting.get(key))

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
        # Replies whose binding is not committed yet, asked before this transaction reads
        # anything: one committed in between has left memory, but is in what the reads see.
        unwritten = {
            target for arrival in batch if isinstance(arrival.event, ReactionEvent)
            if self.services.bindings.turn_for(target := arrival.event.target_message_id)
            is not None
        }
        authors = {
            key for arrival in batch if (key := arrival.author) is not None
        }
        senders = await read_senders(session, {arrival.key for arrival in batch} | authors)
        channels = {c for arrival in batch if (c := arrival.channel) is not None}
        policies = await channel_policies(session, channels)
        replies = await self._bot_replies(session, batch)
        for arrival in batch:
            sender = senders.get(arrival.key)
            consent = sender.consent if sender is not None else None
            if sender is None or (consent is not None and answered_allows(consent) is False):
                # Gone or revoked (perhaps by another worker): no hint of their writing
                # stays here (bot/written_languages.py).
                self.services.written.forget(arrival.key)
            if sender is None or consent is None or consent.status == ConsentStatus.UNKNOWN:
                arrival.per_event = True  # first contact or unanswered: see module doc
                continue
            if consent.status != ConsentStatus.GRANTED:
                continue  # nothing at all is kept about people who have not consented
            channel = arrival.channel
            policy = policy_of(arrival.event, policies.get(channel) if channel else None)
            event = arrival.event
            if isinstance(event, ReactionEvent):
                target = event.target_message_id
                if (
                    target.startswith("turn:")
                    or (sender.person.id, target) in replies
                    or target in unwritten
                ):
                    arrival.per_event = True  # feedback on the bot's reply: written now
                elif policy.learn and teaches_interest(
                    event.added, arrival.text, reaction_value(event.emoji)
                ):
                    author = senders.get(arrival.author) if arrival.author else None
                    allows = None if author is None or author.consent is None else (
                        answered_allows(author.consent)
                    )
                    if allows is None and author is not None:
                        arrival.per_event = True  # unanswered: the workspace's mode decides
                    elif allows:
                        assert author is not None  # allows is None without one
                        arrival.person, arrival.author_id = sender.person, author.person.id
                continue
            if not policy.learn:
                arrival.person, arrival.context = sender.person, ChannelContext(policy)
                continue
            stored = stored_context(sender.preferences)
            if reported_changes(stored, event):
                arrival.per_event = True  # the platform's new timezone must be stored
                continue
            arrival.person = sender.person
            arrival.context = ChannelContext(
                policy, self.observe.timezone_of(stored),
                writing_language(stored, event, self.services.written.usual(arrival.key)),
            )
        return IngestStats(0, 0, 0, 0, 0, 0)

    async def _bot_replies(
        self, session: AsyncSession, batch: list[Arrival]
    ) -> set[tuple[int | None, str]]:
        """(person id, platform message id) of the bot's replies among the batch's reaction
        targets, in one statement (none when the batch holds no reaction)."""
        targets = {
            arrival.event.target_message_id for arrival in batch
            if isinstance(arrival.event, ReactionEvent)
        }
        if not targets:
            return set()
        stmt, ids = _bot_replies_statement(dialect_of(session))
        result = await session.exec(stmt, params=ids.params(targets))
        return {(person_id, target) for person_id, target in result if target is not None}

    async def _hand_on(self, batch: list[Arrival]) -> None:
        """Extract and queue for the learner what the batch decided; the rest through the
        per-event path. People are handled side by side, each person's events in the order
        they came (as the core handles them: adding then removing a reaction to the bot's
        reply must not become removing then adding). One event's failure is logged and
        costs no other event."""
        by_person: dict[Key, list[Arrival]] = {}
        for arrival in batch:
            by_person.setdefault(arrival.key, []).append(arrival)
        await asyncio.gather(*(self._hand_on_in_order(mine) for mine in by_person.values()))

    async def _hand_on_in_order(self, arrivals: list[Arrival]) -> None:
        for arrival in arrivals:
            try:
                await self._hand_on_one(arrival)
            except Exception:
                log.exception("observed event %s dropped", arrival.event.event_id)

    async def _hand_on_one(self, arrival: Arrival) -> None:
        event = arrival.event
        if arrival.per_event:
            self.per_event += 1
            try:
                if isinstance(event, ReactionEvent):
                    assert self.reactions is not None
                    await self.reactions.reaction_one(event)
                else:
                    await self.observe_one(event, arrival.text)
            except DatabaseUnavailable as exc:
                await self._journal([arrival], exc)
            return
        if arrival.person is None:
            return
        if isinstance(event, ReactionEvent):
            assert self.reactions is not None and arrival.author_id is not None
            await self.reactions.learn_elsewhere(
                arrival.person, event, arrival.text, arrival.author_id
            )
        elif arrival.context is not None:
            await self.observe.channel(arrival.person, event, arrival.text, arrival.context)

    async def _journal(self, batch: list[Arrival], exc: DatabaseUnavailable) -> None:
        """The database is away (or busy): the messages wait in the outage journal,
        replayed once it answers (through Core.handle, so through here again)."""
        self.services.learner.journal_events(
            [arrival.event for arrival in batch], busy=is_busy(exc)
        )


@functools.lru_cache(maxsize=2)
def _bot_replies_statement(dialect: str) -> tuple[Any, AnyOf]:
    """Built once per dialect, the targets bound at execution."""
    ids = any_of(dialect, "targets", col(ConversationTurn.platform_message_id))
    return select(ConversationTurn.person_id, ConversationTurn.platform_message_id).where(
        ids.clause, ConversationTurn.role == "assistant"
    ), ids
