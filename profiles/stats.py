"""Aggregates over the tables for the operator (``/metrics`` and the operator page): counts
by status, kind and day — never a row about one person, never any text a person wrote."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import (
    Consent,
    ConsentStatus,
    DigestRun,
    DigestSubscription,
    LLMCall,
    Person,
    ProcessedEvent,
)


async def people_by_consent(session: AsyncSession) -> dict[str, int]:
    """People per consent status; people without a consent row count as ``unknown``."""
    # Grouped by the bare column: a COALESCE with a bound default is two different
    # expressions to PostgreSQL (one parameter each), which it refuses as a GROUP BY.
    result = await session.exec(
        select(col(Consent.status), func.count())  # type: ignore[call-overload]
        .select_from(Person)
        .outerjoin(Consent, col(Consent.person_id) == col(Person.id))
        .group_by(col(Consent.status))
    )
    counts = {status.value: 0 for status in ConsentStatus}
    for status, count in result.all():
        key = ConsentStatus.UNKNOWN.value if status is None else str(status)
        counts[key] += int(count)
    return counts


def _bucket(session: AsyncSession, column: Any, unit: str) -> Any:
    """``column`` truncated to the UTC day or hour, as text ('2026-11-26' or
    '2026-11-26 08:00'), in SQL, on SQLite and PostgreSQL."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        pattern = "YYYY-MM-DD" if unit == "day" else 'YYYY-MM-DD HH24":00"'
        return func.to_char(func.timezone("UTC", column), pattern)
    return func.strftime("%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H:00", column)


@dataclass(frozen=True, slots=True)
class ModelDay:
    day: str
    backend: str
    model: str
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    mean_latency_ms: float | None
    max_latency_ms: float | None


async def model_usage_by_day(session: AsyncSession, since: dt.datetime) -> list[ModelDay]:
    day = _bucket(session, col(LLMCall.created_at), "day")
    result = await session.exec(
        select(  # type: ignore[call-overload]
            day,
            col(LLMCall.backend),
            col(LLMCall.model),
            func.count(),
            func.sum(case((col(LLMCall.ok).is_(False), 1), else_=0)),
            func.coalesce(func.sum(col(LLMCall.input_tokens)), 0),
            func.coalesce(func.sum(col(LLMCall.output_tokens)), 0),
            func.avg(col(LLMCall.latency_ms)),
            func.max(col(LLMCall.latency_ms)),
        )
        .where(col(LLMCall.created_at) >= since)
        .group_by(day, col(LLMCall.backend), col(LLMCall.model))
        .order_by(day)
    )
    return [
        ModelDay(
            str(d), b, m, int(n), int(e or 0), int(i or 0), int(o or 0),
            None if avg is None else float(avg), None if top is None else float(top),
        )
        for d, b, m, n, e, i, o, avg, top in result.all()
    ]


async def events_by_hour(session: AsyncSession, since: dt.datetime) -> list[tuple[str, int]]:
    """Platform events the core processed (one ``processed_event`` row each) per UTC hour."""
    hour = _bucket(session, col(ProcessedEvent.processed_at), "hour")
    result = await session.exec(
        select(hour, func.count())  # type: ignore[call-overload]
        .where(col(ProcessedEvent.processed_at) >= since)
        .group_by(hour)
        .order_by(hour)
    )
    return [(str(h), int(n)) for h, n in result.all()]


@dataclass(frozen=True, slots=True)
class DigestHealth:
    subscriptions: int
    runs_by_status: dict[str, int]
    last_sent_at: dt.datetime | None
    oldest_building_at: dt.datetime | None


async def digest_health(session: AsyncSession, since: dt.datetime) -> DigestHealth:
    subscriptions = (
        await session.exec(select(func.count()).select_from(DigestSubscription))  # type: ignore[call-overload]
    ).scalar_one()
    runs = await session.exec(
        select(col(DigestRun.status), func.count())  # type: ignore[call-overload]
        .where(col(DigestRun.claimed_at) >= since)
        .group_by(col(DigestRun.status))
    )
    last_sent = (
        await session.exec(select(func.max(col(DigestRun.sent_at))))  # type: ignore[call-overload]
    ).scalar_one()
    building = (
        await session.exec(
            select(func.min(col(DigestRun.claimed_at))).where(  # type: ignore[call-overload]
                col(DigestRun.status) == "building"
            )
        )
    ).scalar_one()
    return DigestHealth(
        int(subscriptions), {str(s): int(n) for s, n in runs.all()}, last_sent, building
    )


async def experiment_names(session: AsyncSession) -> list[str]:
    """Experiments with stored assignments (some may no longer be configured)."""
    from profiles.experiment_models import ExperimentAssignment

    result = await session.exec(select(col(ExperimentAssignment.experiment)).distinct())  # type: ignore[call-overload]
    return sorted(str(name) for name in result.scalars())
