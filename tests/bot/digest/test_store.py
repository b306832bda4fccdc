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


async def test_a_run_left_building_is_taken_over_once_stale_and_no_other(database_url):
    """A worker that crashed while building a digest (nothing delivered yet) leaves its run
    in ``building``: a later claim takes it over once it is older than ``stale_after``, and
    keeps its id; a run another worker claimed moments ago is not taken, and one that reached
    ``delivering`` never is (it may have been sent). Runs of another period are no one's."""
    from profiles.models import DigestRun

    db = Database(database_url)
    stale = dt.timedelta(minutes=5)
    try:
        async with db.session() as session:
            people = [Person(platform="test", workspace="w", user_id=u) for u in "abcd"]
            session.add_all(people)
            await session.flush()
            pids = [p.id for p in people]
            first = await store.claim_runs(
                session, [store.RunClaim(pid, "2026-03-02", NOW) for pid in pids[:3]],
                now=NOW, stale_after=stale,
            )
        async with db.session() as session:
            delivering = await session.get(DigestRun, first[pids[2]])
            delivering.status = "delivering"
            session.add(delivering)
        later = NOW + dt.timedelta(minutes=10)
        async with db.session() as session:
            # pids[0]'s run was claimed 10 minutes ago: stale. pids[1]'s is claimed again
            # just now by another worker. pids[2]'s is delivering; pids[3] has none yet.
            await store.claim_runs(
                session, [store.RunClaim(pids[1], "2026-03-02", NOW)], now=later - stale / 5,
                stale_after=stale,
            )
            owned = await store.claim_runs(
                session, [store.RunClaim(pid, "2026-03-02", NOW) for pid in pids],
                now=later, stale_after=stale,
            )
        assert owned[pids[0]] == first[pids[0]]  # taken over, the same run
        assert pids[1] not in owned and pids[2] not in owned
        assert pids[3] in owned and owned[pids[3]] not in first.values()  # a new run
    finally:
        await db.dispose()


async def test_on_sqlite_a_stale_run_is_found_by_the_person_and_period_index(sqlite_url):
    """With (person, period) pairs as one list SQLite scanned every run ever recorded: the
    takeover as sent, asked for its plan, searches the (person, period) index."""
    import contextlib
    import sqlite3

    from sqlalchemy import event

    db = Database(sqlite_url)
    sent: list[tuple[str, object]] = []

    def record(_c, _cur, statement, parameters, *_args):
        if statement.startswith("UPDATE digest_run"):
            sent.append((statement, parameters))

    try:
        async with db.session() as session:
            people = [Person(platform="test", workspace="w", user_id=u) for u in "ab"]
            session.add_all(people)
            await session.flush()
            claims = [store.RunClaim(p.id, "2026-03-02", NOW) for p in people]
            await store.claim_runs(session, claims, now=NOW, stale_after=dt.timedelta(0))
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        async with db.session() as session:
            await store.claim_runs(session, claims, now=NOW + dt.timedelta(hours=1),
                                   stale_after=dt.timedelta(minutes=5))
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    finally:
        await db.dispose()
    [(statement, parameters)] = sent
    with contextlib.closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as raw:
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert plan and all(step.startswith("SEARCH digest_run USING") for step in plan), plan
