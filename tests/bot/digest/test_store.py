"""Digest rows written and read back over real SQLite and PostgreSQL connections."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from bot.digest import store
from profiles.db import Database
from profiles.models import DigestItem, Person

NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def item(pid: int, run_id: int, key: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "person_id": pid,
        "run_id": run_id,
        "item_key": key,
        "fingerprint": f"url:{key}",
        "position": 1,
        "title": "Ünïcode title — with “quotes”",
        "url": None,
        "source": "rss",
        "topics": [],
        "reason": "new",
        "score": 0.25,
        "feedback": 0,
        "created_at": NOW,
    }
    row.update(extra)
    return row


async def test_items_of_many_runs_go_in_at_once_and_come_back_as_written(database_url):
    """PostgreSQL writes them as one array per column (one statement for any number of
    rows), SQLite row by row: both give every field back, skip an item already sent to the
    same person, and return the ids of what they inserted."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            people = [Person(platform="test", workspace="w", user_id=u) for u in ("a", "b")]
            session.add_all(people)
            await session.flush()
            pids = [p.id for p in people]
            claims = [store.RunClaim(pid, "2026-03-02", NOW) for pid in pids]
            runs = await store.claim_runs(
                session, claims, now=NOW, stale_after=dt.timedelta(minutes=5)
            )
        rows = [
            item(pid, runs[pid], f"k{n}", position=n, topics=["rust", "async io"][: n % 3],
                 url=f"https://ex.com/{n}" if n % 2 else None, score=n / 3)
            for pid in pids
            for n in range(1, 1201)  # more than one VALUES page of 1,000 rows
        ]
        async with db.session() as session:
            inserted = await store.record_items(session, rows)
        assert set(inserted) == {(r["person_id"], r["item_key"]) for r in rows}
        async with db.session() as session:
            again = await store.record_items(
                session, [item(pids[0], runs[pids[0]], "k7"), item(pids[0], runs[pids[0]], "new")]
            )
        assert list(again) == [(pids[0], "new")]
        async with db.session() as session:
            stored = {
                (i.person_id, i.item_key): i for i in await session.exec(select(DigestItem))
            }
        for row in rows:
            found = stored[(row["person_id"], row["item_key"])]
            assert found.id == inserted[(row["person_id"], row["item_key"])]
            for name in ("run_id", "fingerprint", "position", "title", "url", "source", "topics",
                         "reason", "score", "feedback"):
                assert getattr(found, name) == row[name], name
            assert store.as_utc(found.created_at) == NOW
    finally:
        await db.dispose()
