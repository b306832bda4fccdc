"""A PostgreSQL learning batch's writes go out together, as one statement of data-modifying
``WITH`` parts (profiles/write_queue.py): they learn exactly what the same writes sent one by
one learn, a failure among them undoes the whole batch, and their rows come back once they
were sent."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.ingest import SIGNAL_COLUMNS, BatchIngestor, Claim, Observation
from profiles.learning_sql import style_upsert
from profiles.models import ProcessedEvent, Signal, table_of
from profiles.upsert import many_rows
from profiles.write_queue import queue_of
from tests.bot.test_db_hang import NEVER, HangAt
from tests.bot.test_db_hang import hung_core as hung_core  # a fixture
from tests.profiles.test_ingest import T0, people, relabel, state, workload
from tests.support.helpers import count, grant, message, person, person_id, replays_by_hand
from tests.support.statements import statements_sent

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def claimed(
    observations: list[Observation], workspace: str = "W1"
) -> list[tuple[Observation, Claim | None]]:
    return [(ob, Claim("test", workspace, ob.event_id or "")) for ob in observations]


@POSTGRES_ONLY
@pytest.mark.parametrize("messages", [3, 40])
async def test_a_batch_sends_its_writes_after_the_claims_as_one_statement_and_learns_the_same(
    make_core, database_url, messages
):
    """Three people: 3 messages are one each, 40 are ~13 each, whose style rounds each need a
    statement of their own (a row is written once per statement)."""
    core = await make_core()
    db, ingestor = core.services.db, BatchIngestor(core.services.engine)
    one_by_one = await people(core, ["a1", "a2", "a3"])
    together = await people(core, ["b1", "b2", "b3"])
    async with db.session() as session:  # no queue: each write a statement of its own
        assert queue_of(session) is None
        await ingestor.claim_and_apply(session, claimed(workload(one_by_one, messages)))
    queued = workload(together, messages)
    rounds = max(Counter(ob.person_id for ob in queued).values())
    with statements_sent(db) as sent:  # the same events, claimed in another workspace
        await db.in_one_call(lambda s: ingestor.claim_and_apply(s, claimed(queued, "W2")))
    seen = [" ".join(statement.split()) for statement in sent]
    # The claims' answer decides what is learned: sent alone; what follows, together.
    claims, first, *more = seen
    assert claims.startswith("INSERT INTO processed_event")
    assert first.startswith("WITH w0 AS (INSERT INTO signal")
    for part in ("w1 AS (INSERT INTO interest", "w2 AS (INSERT INTO trait"):
        assert part in first
    assert " INSERT INTO style_profile" in first and first.count("INSERT INTO") == 4
    assert len(more) == rounds - 1 and all(m.startswith("INSERT INTO style_profile") for m in more)
    assert relabel(await state(core, together), dict(zip(together, one_by_one, strict=True))) \
        == relabel(await state(core, one_by_one), {p: p for p in one_by_one})


@POSTGRES_ONLY
async def test_a_failure_among_the_queued_writes_undoes_the_whole_batch(make_core, database_url):
    """One part's error fails the statement; the transaction is rolled back whole (the
    claims sent before it too), and the connection serves the next batch."""
    core = await make_core()
    db, ingestor = core.services.db, BatchIngestor(core.services.engine)
    [pid] = await people(core, ["alice"])
    good = workload([pid], 5)
    stranger = workload([pid + 1000], 1, seed=9)[0]  # nobody: its rows break a foreign key

    async def batch(session: AsyncSession) -> Any:
        await ingestor.claim(session, [(pid, Claim("test", "W1", "first"))], at=T0)
        return await ingestor.apply(session, [*good[:3], stranger, *good[3:]])

    with pytest.raises(IntegrityError):
        await db.in_one_call(batch)
    assert await count(core, ProcessedEvent) == 0
    assert await count(core, Signal) == 0
    for _ in range(3):  # the pool's connections are all usable again
        await db.in_one_call(lambda s: ingestor.claim_and_apply(s, claimed(good)))
    assert await count(core, ProcessedEvent) == len(good)


async def test_a_queued_statements_rows_are_read_once_it_was_sent(make_core):
    """The style upsert's RETURNING comes back typed, after the queue was sent on PostgreSQL
    (not before) and at once on SQLite, which has no queue."""
    core = await make_core()
    db = core.services.db
    [pid] = await people(core, ["alice"])
    row = {"person_id": pid, "messages_seen": 1, "avg_length": 40.0, "formality": 0.1,
           "emoji_rate": 0.0, "updated_at": T0}

    async def upsert(session: AsyncSession) -> list[tuple[Any, ...]]:
        later = await style_upsert(session).send_later(session, [row])
        queue = queue_of(session)
        if queue is not None:
            with pytest.raises(RuntimeError):
                later.all()
            await queue.send(session)
        return later.all()

    assert await db.in_one_call(upsert) == [(pid, 1)]
    assert await db.in_one_call(upsert) == [(pid, 2)]



@pytest.mark.postgres
async def test_a_batch_whose_writes_are_sent_into_a_hang_is_journaled_and_learned_once(
    hung_core,
):
    """The combined statement waits within the bound as any does: the batch goes to the
    outage journal and is learned once the database thaws."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        alice = person()
        await grant(core, alice)
        asked = message(alice, "I have been restoring an old espresso machine this winter")
        with HangAt(core, proxy, "WITH w0 AS (INSERT INTO signal") as hang:
            hang.armed = True
            assert [r.purpose for r in await core.handle(asked)] == ["chat"]
            await asyncio.wait_for(core.services.learner.flush(), NEVER)
        assert not hang.armed and hang.seen  # it hung as the batch's writes went out
        assert core.backlog_size == 1
        proxy.thaw()
        assert await core.drain_backlog() == 1
        await core.services.learner.flush()
        pid = await person_id(core, alice)
        assert await count(core, Signal, person_id=pid, event_id=asked.event_id, kind="style") \
            == 1


@POSTGRES_ONLY
async def test_rows_queued_one_message_at_a_time_go_out_as_one_insert(make_core, database_url):
    """A plain insert queued once per message (the digest's channel activity) merges its
    rows: one part of the statement, not one per message, and every row stored."""
    core = await make_core()
    db = core.services.db
    ids = await people(core, ["alice", "bob"])
    rows = BatchIngestor(core.services.engine).evidence_rows(workload(ids, 6))
    statement = many_rows("postgresql", table_of(Signal), SIGNAL_COLUMNS)

    async def one_at_a_time(session: AsyncSession) -> None:
        for row in rows:
            await statement.send_later(session, [row], merges=True)

    with statements_sent(db) as sent:
        await db.in_one_call(one_at_a_time)
    assert [s.split(" (")[0] for s in sent] == ["INSERT INTO signal"]
    assert await count(core, Signal) == len(rows)
