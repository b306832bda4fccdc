"""Storage limitation: how long the words and records the bot keeps about people may live.

Aggregates (interests, style, traits, preferences, consent) are what the bot *learned*; they
carry no one's words and stay. What quotes a person or records what they did — message
excerpts, conversation turns, signal evidence, digest items, model-call records — is deleted
once older than its configured age. A purge is idempotent and safe to run from any worker
at any time; it deletes in bounded batches so it never holds the database for long.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Table, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import (
    ChannelActivity,
    ConversationTurn,
    DigestItem,
    LLMCall,
    Signal,
    table_of,
)

BATCH = 5_000


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Maximum ages in days; 0 keeps that kind of record for ever."""

    conversation_days: int = 90
    signal_evidence_days: int = 180
    channel_excerpt_days: int = 14
    digest_item_days: int = 180
    model_call_days: int = 30

    def rules(self) -> list[tuple[str, Table, int]]:
        """(what people read it as, table, days) for every kind of record with a limit."""
        return [
            ("conversation turns", table_of(ConversationTurn), self.conversation_days),
            ("signal evidence", table_of(Signal), self.signal_evidence_days),
            ("channel message excerpts", table_of(ChannelActivity), self.channel_excerpt_days),
            ("digest items", table_of(DigestItem), self.digest_item_days),
            ("model-call records", table_of(LLMCall), self.model_call_days),
        ]

    def describe(self) -> str:
        """One sentence for /profile and the README's promise."""
        kept = [
            f"{label} {days} days" if days else f"{label} for ever"
            for label, _table, days in self.rules()
        ]
        return (
            "What I keep and for how long: "
            + ", ".join(kept)
            + "; learned interests, style and preferences stay until you change or erase them."
        )


async def purge(session: AsyncSession, now: dt.datetime, policy: RetentionPolicy) -> dict[str, int]:
    """Delete every record older than its limit; returns rows removed per table."""
    removed: dict[str, int] = {}
    for _label, table, days in policy.rules():
        if days <= 0:
            continue
        cutoff = now - dt.timedelta(days=days)
        total = 0
        while True:
            ids = select(table.c.id).where(table.c.created_at < cutoff).limit(BATCH)
            result = await session.exec(
                delete(table).where(table.c.id.in_(ids.scalar_subquery()))
            )
            count = int(result.rowcount or 0)
            total += count
            if count < BATCH:
                break
        removed[table.name] = total
    return removed
