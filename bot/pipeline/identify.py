"""Stage 1: who sent this event, and is it the first time we see it (dedupe)."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.events import Event, MessageEvent, Surface
from bot.journal import Erased, Owed
from bot.services import Services
from profiles.db import DatabaseUnavailable
from profiles.driver_statements import RowsInsert, RowUpdate, Write, insert_of
from profiles.engine import PersonKey
from profiles.models import ConsentStatus, Person, ProcessedEvent, table_of
from profiles.preload import (
    ReadAhead,
    Sender,
    read_sender,
    sender_claiming_statement,
    sender_from_rows,
    sender_statement_now,
    sender_values,
)
from profiles.upsert import dialect_of


class SteadyClaim(enum.Enum):
    """What :meth:`Identify.claim_if_steady` did."""

    CLAIMED = "claimed"  # a steady sender's message, claimed: nothing else to write
    DUPLICATE = "duplicate"  # claimed before: a retried or repeated delivery
    NOT_STEADY = "not steady"  # nothing written: the claim's session does it all
    # Claimed with the read (PostgreSQL), but the sender needs more written: the claim's
    # session does the rest, without claiming again
    CLAIMED_NOT_STEADY = "claimed, not steady"


def key_of(event: Event) -> PersonKey:
    return PersonKey(event.person.platform, event.person.workspace, event.person.user_id)


@dataclass(slots=True)
class ClaimAttempt:
    """One attempt to claim an event: the time its claim is stamped with (``processed_at``)
    and whether the claim was sent. A claim sent to a database that then failed may have
    committed (a COMMIT, or a statement in autocommit, sent into a hang takes effect when
    the server thaws: profiles/db_timeout.py), and that time tells the replay whether the
    claim it finds is this attempt's (bot/journal.py ``Owed.claims``)."""

    at: dt.datetime
    sent: bool = False
    erased: tuple[Erased, ...] = ()
    """Who this attempt's transaction erased (a ``/forget``): owed their erasure's work
    after the commit if that transaction committed unseen (bot/journal.py ``Erased``)."""


class ClaimUnsure(DatabaseUnavailable):
    """The database failed after an event's claim was sent and before it answered (a hang
    past the database timeout, a lost connection): the claim may have committed, at the
    failure or when a frozen server thawed — for a command, with its effect. The core keeps
    the event with the times of the claims sent for it (``claims``, bot/journal.py
    ``Owed.claims``): its replay claims it, and answers it as owed if the claim it finds is
    one of these — not as a duplicate (a message: bot/pipeline/chat.py; a command:
    bot/handlers/commands.py). ``erased``: who those attempts erased (a command's)."""

    def __init__(
        self, message: str, claims: tuple[dt.datetime, ...], erased: tuple[Erased, ...] = ()
    ) -> None:
        super().__init__(message)
        self.claims = claims
        self.erased = erased

    @property
    def owed(self) -> Owed:
        """How the event is kept: a message owing its answer and its learning if one of
        ``claims`` committed (a command reads ``claims`` and ``erased`` only)."""
        return Owed(answer=True, learning=True, claims=self.claims, erased=self.erased)


class Identify:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def person(self, session: AsyncSession, event: Event) -> Person:
        """The sender, created on first contact, marked as seen now."""
        engine = self.services.engine
        now = self.services.clock()
        person = await engine.person(
            session, key_of(event), display_name=event.person.display_name, at=now
        )
        await engine.touch(session, person, now)
        return person

    async def sender(self, session: AsyncSession, event: MessageEvent) -> Sender:
        """:meth:`person` for a message to answer, with consent, identity link, preference
        rows and the channel's policy read in the same statement (profiles/preload.py): the
        reply path's later stages find them without another round trip."""
        services = self.services
        key = key_of(event)
        channel = event.channel_id if event.surface != Surface.DM else ""
        found = await read_sender(session, key.platform, key.workspace, key.user_id, channel)
        if found is None:  # first contact: created here, the rest read where needed
            person = await services.engine.person(
                session, key, display_name=event.person.display_name, at=services.clock()
            )
            found = Sender(person, None, None, None, read_ahead=False)
        elif event.person.display_name and found.person.display_name != event.person.display_name:
            found.person.display_name = event.person.display_name
        await services.engine.touch(session, found.person, services.clock())
        return found

    async def claim_if_steady(
        self,
        event: MessageEvent,
        steady: Callable[[Sender, ReadAhead], bool],
        attempt: ClaimAttempt | None = None,
    ) -> SteadyClaim:
        """:meth:`sender` and :meth:`claim` straight on the driver
        (:meth:`Database.read_then_write`), for a known sender whom ``steady`` —
        given their rows, called while the transaction holds the writer, so plain Python —
        finds needing no other write. As :meth:`sender` does, it writes their new display
        name and the last-seen mark when due, and the claim. ``attempt``: its time stamps the
        claim, and it is marked sent as the claim goes.

        On PostgreSQL the claim goes *with* the read, in the same statement
        (:func:`profiles.preload.sender_claiming_statement`): one round trip, not two. A
        sender found not steady has then been claimed already
        (:attr:`SteadyClaim.CLAIMED_NOT_STEADY`): the rest goes through the claim's session
        without claiming again. Unknown senders are claimed by neither statement.
        On SQLite the claim is written only for a steady sender, after the read, in the
        same quick transaction (no round trips there)."""
        services = self.services
        key = key_of(event)
        channel = event.channel_id if event.surface != Surface.DM else ""
        now = attempt.at if attempt is not None else services.clock()
        values: dict[str, Any] = sender_values(key.platform, key.workspace, key.user_id, channel)
        with_read = not services.db.single_writer
        outcome: list[SteadyClaim] = []

        def writes(rows: list[tuple[Any, ...]]) -> list[Write]:
            claimed_with_read = with_read and bool(rows) and bool(rows[0][-1])
            found = sender_from_rows(
                [row[:-1] for row in rows] if with_read else rows,
                key.platform, key.workspace, channel,
            )
            if found is None:
                outcome.append(SteadyClaim.NOT_STEADY)
                return []
            if with_read and not claimed_with_read:
                outcome.append(SteadyClaim.DUPLICATE)
                return []
            if not steady(*found):
                outcome.append(
                    SteadyClaim.CLAIMED_NOT_STEADY if with_read else SteadyClaim.NOT_STEADY
                )
                return []
            person = found[0].person
            planned: list[Write] = []
            name = event.person.display_name
            renamed = bool(name) and person.display_name != name
            seen = services.engine.touch_due(person, now)
            if renamed:
                person.display_name = name
            if seen:
                person.last_seen_at = now
            if renamed or seen:
                planned.append((_SEEN, _SEEN.values({
                    "id": person.id,
                    "display_name": person.display_name,
                    "last_seen_at": person.last_seen_at,
                })))
            outcome.append(SteadyClaim.CLAIMED)  # SQLite's: unless its claim finds one
            if with_read:
                return planned
            planned.append((_CLAIM_NOW, _CLAIM_NOW.values([{
                "person_id": person.id,
                "platform": event.person.platform,
                "workspace": event.person.workspace,
                "event_id": event.event_id,
                "processed_at": now,
            }])))
            if attempt is not None:
                attempt.sent = True  # sent when this returns
            return planned

        if with_read:
            statement = sender_claiming_statement()
            values = {**values, "claim_event_id": event.event_id, "claim_at": now}
            if attempt is not None:
                attempt.sent = True  # the claim goes with the read
        else:
            statement = sender_statement_now()
        written = await services.db.read_then_write(statement, values, writes)
        [found] = outcome
        if found is SteadyClaim.CLAIMED and not with_read and not written[-1]:
            return SteadyClaim.DUPLICATE  # SQLite's claim, written after the read, found one
        return found

    async def learning_person(self, session: AsyncSession, event: Event) -> Person | None:
        """The sender only if they allow learning (see ProfileEngine.learning_person): for
        events that must leave no trace of people who have not consented. Person, consent,
        preference rows and the channel's policy come in one statement (profiles/preload.py),
        so observing a channel message reads no more of them."""
        engine = self.services.engine
        key = key_of(event)
        found = await read_sender(
            session, key.platform, key.workspace, key.user_id, event.channel_id
        )
        if found is None:  # unknown here: only an "everywhere" grant lets the bot start
            return await engine.learning_person(session, key, at=self.services.clock())
        person, consent = found.person, found.consent
        assert person.id is not None
        if consent is None or consent.status == ConsentStatus.UNKNOWN.value:
            consent = await engine.consent(session, person.id)  # may take such a grant
        return person if await engine.may_learn_in(session, person, consent) else None

    async def claim(
        self,
        session: AsyncSession,
        person: Person,
        event: Event,
        attempt: ClaimAttempt | None = None,
    ) -> bool:
        """True the first time this platform event id is seen; False for retries.
        ``attempt``: as for :meth:`claim_if_steady` (sent with the session's COMMIT)."""
        if attempt is not None:
            attempt.sent = True
        result = await session.exec(
            _claim(dialect_of(session)),
            params={
                "person_id": person.id,
                "platform": event.person.platform,
                "workspace": event.person.workspace,
                "event_id": event.event_id,
                "processed_at": attempt.at if attempt is not None else self.services.clock(),
            },
        )
        return result.first() is not None

    async def claimed_by(
        self,
        event: Event,
        claims: tuple[dt.datetime, ...],
        session: AsyncSession | None = None,
    ) -> bool:
        """Whether ``event`` is claimed by one of ``claims`` (their times): attempts whose
        claims were sent to a database that failed before answering (:class:`ClaimAttempt`).
        Asked only by the replay of such an event that found it claimed; in ``session``
        when given (a command's, which goes on in it), else in a read of its own."""
        query = select(ProcessedEvent.processed_at).where(
            ProcessedEvent.platform == event.person.platform,
            ProcessedEvent.workspace == event.person.workspace,
            ProcessedEvent.event_id == event.event_id,
        )
        if session is not None:
            found = (await session.exec(query)).first()
        else:
            async with self.services.db.read() as reading:
                found = (await reading.exec(query)).first()
        return found is not None and _utc(found) in {_utc(claim) for claim in claims}


def _utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC time (SQLite hands timestamps back naive, in UTC)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


# What identifying a steady sender may write besides the claim (see claim_if_steady)
_SEEN = RowUpdate(table_of(Person), ("display_name", "last_seen_at"))
_CLAIM_NOW = RowsInsert(
    table_of(ProcessedEvent),
    ("person_id", "platform", "workspace", "event_id", "processed_at"),
    rows=1,
    returning=("id",),
    unless_exists=("platform", "workspace", "event_id"),
)


@functools.lru_cache(maxsize=2)
def _claim(dialect: str) -> Any:
    """The claim of every reply, built once per dialect (building it and its cache key cost
    ~0.1 ms a time); its values are bound at execution."""
    table = table_of(ProcessedEvent)
    return (
        insert_of(dialect, table)
        .on_conflict_do_nothing(index_elements=["platform", "workspace", "event_id"])
        .returning(table.c.id)
    )
