"""The raw limit of the database, measured in the same process as the pipeline.

What fraction of the database's own speed does the product reach? Absolute figures on a
shared machine say little; a ratio measured in one run, against the same database, through
the same driver and event loop, does. Two limits, both writing exactly the rows one learned
message writes (evidence rows in ``signal``; interest, trait and style upserts with the
decay arithmetic in SQL) and both with hand-written SQL, no ORM, no statement building:

* **raw batched upserts** — ``BATCH`` messages per transaction, one ``executemany`` per
  table: what batching can reach;
* **raw event-shaped transactions** — one transaction per message (claim of the event id,
  then the same four writes): the ceiling of any one-transaction-per-event design.

Both count signal rows (the unit of the pipeline's figure) per second of wall time.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Any

from bench.workload import TOPICS
from profiles.db import Database
from profiles.decay import DAY_SECONDS

HALF_LIFE = 14 * DAY_SECONDS
LASTING_HALF_LIFE = 365 * DAY_SECONDS
BATCH = 1_000

SIGNAL = (
    "INSERT INTO signal (person_id, kind, value, weight, excerpt, event_id, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
INTEREST = (
    "INSERT INTO interest (person_id, topic, weight, lasting_weight, updated_ts, evidence_count, "
    "positive_feedback, negative_feedback, first_seen_at) "
    "VALUES (%s, %s, %s, %s, %s, 1, 0, 0, %s) ON CONFLICT (person_id, topic) DO UPDATE SET "
    f"weight = interest.weight * power(0.5, (excluded.updated_ts - interest.updated_ts) / "
    f"{HALF_LIFE}) + excluded.weight, "
    "lasting_weight = interest.lasting_weight * power(0.5, (excluded.updated_ts - "
    f"interest.updated_ts) / {LASTING_HALF_LIFE}) + excluded.lasting_weight, "
    "updated_ts = excluded.updated_ts, "
    "evidence_count = interest.evidence_count + 1"
)
TRAIT = (
    "INSERT INTO trait (person_id, kind, key, weight, updated_ts) VALUES (%s, %s, %s, 1.0, %s) "
    "ON CONFLICT (person_id, kind, key) DO UPDATE SET "
    f"weight = trait.weight * power(0.5, abs(excluded.updated_ts - trait.updated_ts) / "
    f"{HALF_LIFE}) + 1.0, updated_ts = excluded.updated_ts"
)
STYLE = (
    "INSERT INTO style_profile (person_id, messages_seen, avg_length, formality, emoji_rate, "
    "liked_replies, disliked_replies, liked_reply_chars, disliked_reply_chars, updated_at) "
    "VALUES (%s, 1, %s, %s, 0, 0, 0, 0, 0, %s) ON CONFLICT (person_id) DO UPDATE SET "
    "messages_seen = style_profile.messages_seen + 1, "
    "avg_length = style_profile.avg_length + (excluded.avg_length - style_profile.avg_length)"
    " * 0.1, formality = style_profile.formality + (excluded.formality - style_profile.formality)"
    " * 0.1, updated_at = excluded.updated_at"
)
CLAIM = (
    "INSERT INTO processed_event (person_id, platform, workspace, event_id, processed_at) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (platform, workspace, event_id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class RawLimits:
    batched_signals_per_s: float
    event_signals_per_s: float
    event_tx_per_s: float


@dataclass(frozen=True, slots=True)
class _Message:
    person_id: int
    topics: tuple[str, ...]
    hour: str
    length: int


def _sql(db: Database, statement: str) -> str:
    return statement.replace("%s", "?") if db.sqlite else statement


def _messages(person_ids: list[int], count: int, seed: int) -> list[_Message]:
    rng = random.Random(seed)
    return [
        _Message(
            rng.choice(person_ids),
            tuple(dict.fromkeys(rng.sample(TOPICS, 3))),
            f"{rng.randrange(24):02d}",
            rng.randrange(10, 400),
        )
        for _ in range(count)
    ]


def _rows(
    db: Database, messages: list[_Message], at: dt.datetime, tag: str
) -> tuple[list[tuple[Any, ...]], ...]:
    when: Any = at.strftime("%Y-%m-%d %H:%M:%S.%f") if db.sqlite else at
    ts = at.timestamp()
    signals: list[tuple[Any, ...]] = []
    interests: list[tuple[Any, ...]] = []
    traits: list[tuple[Any, ...]] = []
    styles: list[tuple[Any, ...]] = []
    claims: list[tuple[Any, ...]] = []
    for i, m in enumerate(messages):
        event = f"{tag}-{i}"
        for t in m.topics:
            signals.append((m.person_id, "topic", t, 1.0, "raw", event, when))
            interests.append((m.person_id, t, 1.0, 1.0, ts, when))
        signals.append((m.person_id, "style", f"chars={m.length}", 1.0, None, event, when))
        signals.append((m.person_id, "language", "en", 1.0, None, event, when))
        signals.append((m.person_id, "active_hour", m.hour, 1.0, None, event, when))
        traits.append((m.person_id, "hour", m.hour, ts))
        traits.append((m.person_id, "language", "en", ts))
        styles.append((m.person_id, float(m.length), 0.1, when))
        claims.append((m.person_id, "bench", "raw", event, when))
    return signals, interests, traits, styles, claims


def _dedupe(rows: list[tuple[Any, ...]], key: slice) -> list[tuple[Any, ...]]:
    """One row per conflict key within one statement (PostgreSQL refuses to update a row
    twice in one INSERT … ON CONFLICT; executemany runs rows one by one, but a batch is
    combined the way the product's batch path combines it)."""
    return list({row[key]: row for row in rows}.values())


async def raw_batched(db: Database, person_ids: list[int], n_messages: int) -> float:
    """Signal rows/s with ``BATCH`` messages per transaction, one executemany per table."""
    messages = _messages(person_ids, n_messages, seed=31)
    at = dt.datetime.now(dt.UTC)
    written = 0
    started = time.perf_counter()
    for start in range(0, len(messages), BATCH):
        chunk = messages[start : start + BATCH]
        signals, interests, traits, styles, _ = _rows(db, chunk, at, f"rb{start}")
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(_sql(db, SIGNAL), signals)
            await conn.exec_driver_sql(_sql(db, INTEREST), _dedupe(interests, slice(0, 2)))
            await conn.exec_driver_sql(_sql(db, TRAIT), _dedupe(traits, slice(0, 3)))
            await conn.exec_driver_sql(_sql(db, STYLE), _dedupe(styles, slice(0, 1)))
        written += len(signals)
    return written / (time.perf_counter() - started)


async def raw_event_shaped(
    db: Database, person_ids: list[int], n_messages: int
) -> tuple[float, float]:
    """(signal rows/s, transactions/s) with one transaction per message: claim, evidence,
    interests, traits, style — the writes of one observed message, nothing else."""
    messages = _messages(person_ids, n_messages, seed=37)
    at = dt.datetime.now(dt.UTC)
    written = 0
    started = time.perf_counter()
    for i, message in enumerate(messages):
        signals, interests, traits, styles, claims = _rows(db, [message], at, f"re{i}")
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(_sql(db, CLAIM), claims[0])
            await conn.exec_driver_sql(_sql(db, SIGNAL), signals)
            await conn.exec_driver_sql(_sql(db, INTEREST), interests)
            await conn.exec_driver_sql(_sql(db, TRAIT), traits)
            await conn.exec_driver_sql(_sql(db, STYLE), styles[0])
        written += len(signals)
    elapsed = time.perf_counter() - started
    return written / elapsed, len(messages) / elapsed


async def raw_limits(
    db: Database, person_ids: list[int], *, batched_messages: int = 10_000, events: int = 1_000
) -> RawLimits:
    batched = await raw_batched(db, person_ids, batched_messages)
    event_rows, event_tx = await raw_event_shaped(db, person_ids, events)
    return RawLimits(batched, event_rows, event_tx)
