"""Stage 3: learn from a message of a person who allows it.

The seam where messages teach the profile, through one learning rule
(:class:`profiles.ingest.BatchIngestor`), applied by the write-behind learner
(bot/learning.py), which no reply waits for: a message addressed to the bot (``message``) is
claimed by its reply, which queues what it teaches once its context is read; a channel
message the bot only observes (``channel``) is extracted and queued, to be claimed with its
batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import Policy, policy_for
from bot.context import local_hour
from bot.events import Event, MessageEvent
from bot.learning import Pending
from bot.pipeline.record import TurnRow, turn_row
from bot.services import Services
from bot.written_languages import writer_of
from profiles.ingest import Claim, Observation
from profiles.models import Person, Preference, Source
from profiles.preferences import PreferenceError, validate
from profiles.preload import preference_rows
from profiles.signals import MessageSignals


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What :meth:`Observe.channel_context` read for a channel message."""

    policy: Policy
    timezone: str = "UTC"  # the person's, when the channel learns
    language: str | None = None  # … and the language they write in, if known (a locale)


@dataclass(slots=True)
class Observed:
    """What a chat message addressed to the bot makes, from its signals (Observe.message)."""

    turn: TurnRow  # the message itself, with its topics, for Record.store
    # What it teaches, for the learner once the reply's context is read (None: nothing)
    learning: Pending | None = None


class Observe:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def message_context(
        self, session: AsyncSession, person: Person, event: MessageEvent
    ) -> str:
        """In the claim's transaction of a message addressed to the bot that teaches: the
        timezone and locale the platform reports stored (:meth:`store_platform_context`);
        the timezone to read the message in, for :meth:`message`."""
        assert person.id is not None
        return await self.store_platform_context(
            session, person.id, event, self.services.clock()
        )

    def message(
        self,
        person: Person,
        event: MessageEvent,
        text: str,
        signals: MessageSignals,
        timezone: str | None,
    ) -> Observed:
        """A message addressed to the bot, claimed by its reply: what it teaches, for the
        learner (``timezone`` None: nothing, as for a replay whose learning was done), and
        the message as a history turn — not added here: Record.store writes it with the
        answer, both rows in one statement (issue 16), so a reply whose record fails keeps
        neither half of the exchange. No database work: ``signals`` arrive from an extraction
        worker while the claim's transaction runs, and are read after it (Chat.handle)."""
        assert person.id is not None
        learning: Pending | None = None
        if timezone is not None:
            learning = self.claimed_learning(
                person, event, self.observation(person, event, text, signals, timezone)
            )
        turn = turn_row(
            person.id,
            "user",
            text,
            channel_id=event.channel_id,
            thread_id=event.thread_id,
            platform_message_id=event.message_id,
            topics=[t for t, _ in signals.topics],
            created_at=event.occurred_at,
        )
        return Observed(turn=turn, learning=learning)

    @staticmethod
    def claimed_learning(person: Person, event: MessageEvent, observation: Observation) -> Pending:
        """The learner's item for a message its reply claimed: no claim of its own (the
        batch would find the event processed and learn nothing), no ``last_seen_at`` (the
        reply marked it) and no channel activity (nobody observed it in a channel)."""
        return Pending(event=event, person=person, claim=None, observation=observation)

    def observation(
        self,
        person: Person,
        event: MessageEvent,
        text: str,
        signals: MessageSignals,
        timezone: str,
    ) -> Observation:
        """What a message teaches, read in its author's timezone (for the active hour); its
        language, if named, says how the writer's short messages are read
        (bot/written_languages.py)."""
        assert person.id is not None
        self.services.written.note(writer_of(event), signals.language)
        return Observation.of_message(
            person.id,
            signals,
            at=event.occurred_at,
            local_hour=local_hour(event.occurred_at, timezone),
            event_id=event.event_id,
            excerpt=text,
        )

    async def channel_context(
        self, session: AsyncSession, person: Person, event: MessageEvent
    ) -> ChannelContext:
        """What observing a channel message needs to read first: the channel's policy (admins
        may exclude a channel from learning or from digests) and, when it learns, the
        person's timezone (storing what the platform reports, as for any message)."""
        assert person.id is not None
        policy = await policy_for(session, event)
        if not policy.learn:
            return ChannelContext(policy)
        rows = await preference_rows(session, person.id)  # read ahead with the sender
        timezone = await self.store_platform_context(
            session, person.id, event, self.services.clock()
        )
        return ChannelContext(policy, timezone, writing_language(
            stored_context(rows), event, self.services.written.usual(writer_of(event))
        ))

    async def channel(
        self, person: Person, event: MessageEvent, text: str, context: ChannelContext
    ) -> None:
        """A channel message not addressed to the bot, from a person who allows learning:
        extracted here, then queued for the learner's next batch (bot/learning.py), which
        claims the event, marks the person seen, learns from it unless the channel is
        excluded and lets features (digest channel activity) see it unless the channel is
        kept out of digests."""
        assert person.id is not None
        services = self.services
        policy = context.policy
        observation: Observation | None = None
        signals: MessageSignals | None = None
        if policy.learn or policy.digest:  # a digest's topics never name people either
            signals = await services.extract(
                text, names=event.mentioned_names, usual=context.language
            )
        if policy.learn:
            assert signals is not None
            observation = self.observation(person, event, text, signals, context.timezone)
        ref = event.person
        await services.learner.submit(
            Pending(
                event=event,
                person=person,
                claim=Claim(ref.platform, ref.workspace, event.event_id),
                observation=observation,
                seen_at=services.clock(),
                signals=signals if policy.digest else None,
            )
        )

    async def store_platform_context(
        self, session: AsyncSession, person_id: int, event: Event, now: dt.datetime
    ) -> str:
        """Store timezone and locale the platform reports (source "platform", so an explicit
        preference still wins and /profile can say where a value came from) when they
        changed; return the timezone to use for this event."""
        rows = await preference_rows(session, person_id)  # usually read ahead with the sender
        stored = stored_context(rows)
        for key, clean in reported_changes(stored, event):
            stored[(key, Source.PLATFORM.value)] = await self.services.engine.set_preference(
                session, person_id, key, clean, source=Source.PLATFORM, at=now
            )
        return self.timezone_of(stored)

    def unchanged_timezone(self, rows: Iterable[Preference], event: Event) -> str | None:
        """:meth:`store_platform_context` for a person whose stored ``rows`` already hold what
        the platform reports: the timezone, with nothing to write (None: something to store,
        then that method does)."""
        stored = stored_context(rows)
        return None if reported_changes(stored, event) else self.timezone_of(stored)

    def timezone_of(self, stored: dict[tuple[str, str], str]) -> str:
        """The timezone an event is read in: the person's explicit one, else the platform's,
        else the deployment's default."""
        return (
            stored.get(("timezone", Source.EXPLICIT.value))
            or stored.get(("timezone", Source.PLATFORM.value))
            or self.services.settings.default_timezone
        )


def writing_language(
    stored: dict[tuple[str, str], str], event: Event, written: str | None = None
) -> str | None:
    """The language a person writes in: their explicit language preference, else the locale
    the platform reports now, else the one it reported last, else ``written``, the one their
    longer messages were written in (bot/written_languages.py). Short messages are read
    with its topic rules (profiles/signals.py): a German speaker's "ich liebe analoge
    Fotografie" is too short for any language to be named from it, and was read with the
    English rules, or not at all."""
    return (
        stored.get(("language", Source.EXPLICIT.value))
        or event.context.locale
        or stored.get(("language", Source.PLATFORM.value))
        or written
    )


def stored_context(rows: Iterable[Preference]) -> dict[tuple[str, str], str]:
    """The person's stored timezone and language rows, by (key, source)."""
    return {(p.key, p.source): p.value for p in rows if p.key in ("timezone", "language")}


def reported_changes(
    stored: dict[tuple[str, str], str], event: Event
) -> list[tuple[str, str]]:
    """The (key, value) pairs of timezone and locale the platform reports with ``event``
    that differ from what is stored as the platform's; values we cannot use are ignored."""
    changes: list[tuple[str, str]] = []
    context = event.context
    for key, value in (("timezone", context.timezone), ("language", context.locale)):
        if not value:
            continue
        try:
            clean = validate(key, value)
        except PreferenceError:  # a platform value we cannot use is simply ignored
            continue
        if stored.get((key, Source.PLATFORM.value)) != clean:
            changes.append((key, clean))
    return changes
