"""Storage limitation: how long the words and records the bot keeps about people may live.

Aggregates (interests, style, traits, preferences, consent) are what the bot *learned*; they
carry no one's words and stay. What quotes a person or records what they did — message
excerpts, conversation turns, signal evidence, digest items, model-call records — is deleted
once older than its configured age. A ``/recommend`` request is the person's words and the
model's profile summary is read from their turns: both go with the conversation's age (they
were kept for ever until a privacy audit found them) — the request blanked, its recommended
title and verdict kept, so nothing is suggested twice and a dislike holds.

Explicit memories are different: a person asked for each one, sees them all in ``/profile``
and removes them with ``/memory``, so by default they stay until removed
(``memory_days = 0``); an operator who must bound every record can set an age. One-time link
codes and link attempts only serve a short-lived code and an hourly rate limit: a day after a
code expired, or after an attempt, they are purged whatever the settings.

A purge is idempotent and safe to run from any worker at any time. It deletes in bounded
batches, each a transaction of its own, so it never holds the database for long: on SQLite
a reply waits for one batch at most, not for the whole purge (which ran as one transaction
until the twenty-sixth session). On PostgreSQL a batch skips rows another transaction has
locked (``SKIP LOCKED``: a ``/forget`` deleting them, or a digest recording them): it never
waits for a lock, so it cannot be half of a deadlock, and what it skipped goes next time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Table, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.borrowed import take_back_expiring
from profiles.memory_models import LinkAttempt, LinkCode, Memory
from profiles.models import (
    ChannelActivity,
    ConversationTurn,
    DigestItem,
    LLMCall,
    Person,
    ProfileSummary,
    Recommendation,
    Signal,
    table_of,
)

BATCH = 5_000
LINK_RECORD_DAYS = 1  # past expiry (codes) or the attempt (rate limits count one hour)


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of record with a maximum age (``days``; 0 keeps it) measured on ``column``;
    ``kept`` is how people read "no limit" for it."""

    label: str
    table: Table
    days: int
    column: str = "created_at"
    kept: str = "for ever"
    # A text column blanked at that age instead of deleting the row: what the row is kept
    # for needs no one's words (a recommendation's title and verdict: never suggested twice,
    # never a disliked one again; the request that asked for it is the person's words).
    redact: str | None = None
    # Rows that may be read from someone else's words: their share of the readers'
    # interests goes with them (profiles/borrowed.py).
    lent: bool = False

    def age(self) -> Column[dt.datetime]:
        return self.table.c[self.column]

    def key(self) -> Column[int]:
        """The row's key (``profile_summary``'s is its person)."""
        [column] = self.table.primary_key.columns
        return column


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Maximum ages in days; 0 keeps that kind of record for ever."""

    conversation_days: int = 90
    signal_evidence_days: int = 180
    channel_excerpt_days: int = 14
    digest_item_days: int = 180
    model_call_days: int = 30
    memory_days: int = 0

    def rules(self) -> list[Rule]:
        """Every kind of record that may have a limit, as people read it."""
        return [
            Rule("conversation turns", table_of(ConversationTurn), self.conversation_days),
            Rule("what you asked me to recommend", table_of(Recommendation),
                 self.conversation_days, redact="request"),
            Rule("my summary of our conversations", table_of(ProfileSummary),
                 self.conversation_days),
            Rule("signal evidence", table_of(Signal), self.signal_evidence_days, lent=True),
            Rule("channel message excerpts", table_of(ChannelActivity), self.channel_excerpt_days),
            Rule("digest items", table_of(DigestItem), self.digest_item_days),
            Rule("model-call records", table_of(LLMCall), self.model_call_days),
            Rule(
                "what you asked me to remember",
                table_of(Memory),
                self.memory_days,
                kept="until you remove it",
            ),
            Rule(
                "one-time link codes", table_of(LinkCode), LINK_RECORD_DAYS, column="expires_at"
            ),
            Rule("link attempts", table_of(LinkAttempt), LINK_RECORD_DAYS, column="at"),
        ]

    def describe(self) -> str:
        """One sentence for /profile and the README's promise."""
        kept = [
            f"{rule.label} {rule.days} day{'s' if rule.days != 1 else ''}"
            if rule.days
            else f"{rule.label} {rule.kept}"
            for rule in self.rules()
        ]
        return (
            "What I keep and for how long: "
            + ", ".join(kept)
            + "; learned interests, style and preferences stay until you change or erase them."
        )


Sessions = Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]


async def purge(
    sessions: Sessions,
    now: dt.datetime,
    policy: RetentionPolicy,
    *,
    workspace: tuple[str, str] | None = None,
    half_lives: tuple[float, float] | None = None,
) -> dict[str, int]:
    """Delete every record older than its limit; returns rows removed per table. Each batch
    of at most :data:`BATCH` rows in a transaction of its own from ``sessions`` (see the
    module doc). ``workspace`` (platform, workspace) limits the purge to records about its
    people: a workspace whose admins chose shorter limits gets this extra pass.
    ``half_lives`` (fading, lasting; the engine's): evidence read from someone else's words
    takes its share of the readers' interests with it (:func:`take_back_expiring`)."""
    removed: dict[str, int] = {}
    people = (
        select(table_of(Person).c.id).where(table_of(Person).c.platform == workspace[0],
                                            table_of(Person).c.workspace == workspace[1])
        if workspace is not None else None
    )
    for rule in policy.rules():
        if rule.days <= 0 or (people is not None and "person_id" not in rule.table.c):
            continue
        table = rule.table
        cutoff = now - dt.timedelta(days=rule.days)
        total = 0
        # Rows a lent batch kept back (a reader being forgotten): left for the next purge,
        # and out of this pass's next batches, which go on (review: one kept row ended the
        # pass, and every expired row past its batch waited a whole purge interval more).
        held: list[object] = []
        while True:
            ids = (
                select(rule.key())
                .where(rule.age() < cutoff)
                .limit(BATCH)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer
            )
            if held:
                ids = ids.where(rule.key().not_in(held))
            fetched: int | None = None  # the rows this batch chose, when named
            if rule.redact is not None:
                ids = ids.where(table.c[rule.redact] != "")
            if people is not None:
                ids = ids.where(table.c.person_id.in_(people.scalar_subquery()))
            change = (
                update(table).values({rule.redact: ""}) if rule.redact is not None
                else delete(table)
            )
            async with sessions() as session:
                if rule.lent and half_lives is not None:
                    # this batch's rows, named: their shares first, then the rows
                    named = await session.exec(ids)  # type: ignore[call-overload]
                    batch = [key for (key,) in named.all()]
                    kept = await take_back_expiring(
                        session, batch, half_life=half_lives[0], lasting_half_life=half_lives[1]
                    )
                    # what it kept (a reader being forgotten) goes next time: never re-read
                    # in this pass (held)
                    held.extend(kept)
                    fetched = len(batch)
                    chosen = rule.key().in_([key for key in batch if key not in kept])
                else:
                    chosen = rule.key().in_(ids.scalar_subquery())
                result = await session.exec(change.where(chosen))
            count = int(result.rowcount or 0)
            total += count
            if (count if fetched is None else fetched) < BATCH:
                break
        removed[table.name] = total
    return removed
