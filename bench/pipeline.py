"""Helpers shared by the benchmarks: synthetic people with consent, and percentiles.

(The figures themselves are produced by bench/scale.py, bench/eval and bench/digest.py.)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from profiles.db import Database
from profiles.models import Consent, ConsentStatus, Person

WORKSPACE = "bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed_people(db: Database, users: list[str]) -> None:
    """Setup only (not measured): people who granted consent, inserted in bulk."""
    now = dt.datetime.now(dt.UTC)
    async with db.session() as session:
        for start in range(0, len(users), 5000):
            chunk = users[start : start + 5000]
            await session.exec(
                insert(Person).values(
                    [  # type: ignore[call-overload]
                        {
                            "platform": "bench",
                            "workspace": WORKSPACE,
                            "user_id": u,
                            "display_name": u,
                            "created_at": now,
                            "last_seen_at": now,
                        }
                        for u in chunk
                    ]
                )
            )
        ids = list((await session.exec(select(Person.id))).scalars().all())  # type: ignore[call-overload]
        for start in range(0, len(ids), 5000):
            await session.exec(
                insert(Consent).values(
                    [  # type: ignore[call-overload]
                        {"person_id": pid, "status": ConsentStatus.GRANTED.value, "changed_at": now}
                        for pid in ids[start : start + 5000]
                    ]
                )
            )
