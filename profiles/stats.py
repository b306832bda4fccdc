"""Aggregates over the tables for the operator (``/metrics`` and the operator page): counts
by status, kind and day — never a row about one person, never any text a person wrote."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import Consent, ConsentStatus, Person


async def people_by_consent(session: AsyncSession) -> dict[str, int]:
    """People per consent status; people without a consent row count as ``unknown``."""
    result = await session.exec(
        select(func.coalesce(Consent.status, ConsentStatus.UNKNOWN.value), func.count())  # type: ignore[call-overload]
        .select_from(Person)
        .outerjoin(Consent, col(Consent.person_id) == col(Person.id))
        .group_by(func.coalesce(Consent.status, ConsentStatus.UNKNOWN.value))
    )
    counts = {status.value: 0 for status in ConsentStatus}
    for status, count in result.all():
        counts[str(status)] = int(count)
    return counts
