"""Batched ingestion learns exactly what the per-message path learns (real SQLite and
PostgreSQL), with a fixed number of statements per batch."""

import asyncio
import datetime as dt
import random

import pytest
from sqlalchemy import event, func, select

from profiles.db import CONFLICT_ATTEMPTS, DatabaseBusy, DatabaseUnavailable
from profiles.engine import PersonKey
from profiles.ingest import BUSY_PARTS, BatchIngestor, Claim, Observation, WriteBehind
from profiles.models import ConsentStatus, Interest, ProcessedEvent, Signal, StyleProfile, Trait
from profiles.signals import MessageSignals

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TOPICS = ["jazz piano", "rust async", "sourdough", "climbing", "film noir", "chess"]


def workload(people: list[int], n: int, seed: int = 5) -> list[Observation]:
    rng = random.Random(seed)
    obs = []
    for i in range(n):
        sig = MessageSignals(
            topics=tuple((t, round(1 - 0.15 * k, 3)) for k, t in enumerate(rng.sample(TOPICS, 2))),
            language=rng.choice(["en", "fr", None]),
            length=rng.randint(5, 600),
            word_count=rng.randint(1, 100),
            formality=rng.uniform(-1, 1),
            emoji_count=rng.randint(0, 3),
        )
        at = T0 + dt.timedelta(hours=3 * i + rng.random())
        obs.append(
            Observation.of_message(
                rng.choice(people), sig, at=at, local_hour=at.hour, event_id=f"e{i}", excerpt="x"
            )
        )
    return obs


async def people(core, names):
    ids = []
    async with core.services.db.session() as session:
        for name in names:
            person = await core.services.engine.person(session, PersonKey("test", "W1", name))
            await core.services.engine.set_consent(session, person.id, ConsentStatus.GRANTED, T0)
            ids.append(person.id)
    return ids


async def state(core, ids):
    async with core.services.db.session() as session:
        interests = {
            (r.person_id, r.topic): (
                round(r.weight, 6),
                round(r.lasting_weight, 6),
                r.updated_ts,
                r.evidence_count,
            )
            for r in (await session.exec(select(Interest))).scalars()
            if r.person_id in ids
        }
        traits = {
            (r.person_id, r.kind, r.key): (round(r.weight, 6), r.updated_ts)
            for r in (await session.exec(select(Trait))).scalars()
            if r.person_id in ids
        }
        styles = {
            r.person_id: (
                r.messages_seen,
                round(r.avg_length, 6),
                round(r.formality, 6),
                round(r.emoji_rate, 6),
            )
            for r in (await session.exec(select(StyleProfile))).scalars()
            if r.person_id in ids
        }
        signals = sorted(
            (r.person_id, r.kind, r.value, r.weight, r.event_id)
            for r in (await session.exec(select(Signal))).scalars()
            if r.person_id in ids
        )
    return interests, traits, styles, signals


def relabel(snapshot, mapping):
    interests, traits, styles, signals = snapshot
    return (
        {(mapping[p], t): v for (p, t), v in interests.items()},
        {(mapping[p], k, key): v for (p, k, key), v in traits.items()},
        {mapping[p]: v for p, v in styles.items()},
        sorted((mapping[s[0]], *s[1:]) for s in signals),
    )


async def test_batch_equals_sequential_observe_message(make_core):
    core = await make_core()
    sequential = await people(core, ["a1", "a2", "a3"])
    batched = await people(core, ["b1", "b2", "b3"])
    obs = workload(sequential, 40)  # < 50 messages a person: no pruning in either path
    for ob in obs:
        async with core.services.db.session() as session:
            assert ob.message is not None and ob.local_hour is not None
            await core.services.engine.observe_message(
                session,
                ob.person_id,
                ob.message,
                at=ob.at,
                local_hour=ob.local_hour,
                event_id=ob.event_id,
                excerpt=ob.excerpt or "",
            )
    to_b = dict(zip(sequential, batched, strict=True))
    moved = [
        Observation(
            **{**{f: getattr(ob, f) for f in ob.__slots__}, "person_id": to_b[ob.person_id]}
        )
        for ob in obs
    ]
    # Batches arrive in time order (a write-behind queue flushes in arrival order); the order
    # inside a batch does not matter.
    first, second = moved[:25], moved[25:]
    random.Random(1).shuffle(first)
    random.Random(2).shuffle(second)
    ingestor = BatchIngestor(core.services.engine)
    async with core.services.db.session() as session:
        stats = await ingestor.apply(session, first)
    async with core.services.db.session() as session:
        await ingestor.apply(session, second)
    assert stats.observations == 25 and stats.style_rounds >= 1
    expected = relabel(await state(core, set(sequential)), to_b)
    got = await state(core, set(batched))
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[2] == expected[2]
    assert got[3] == expected[3]


async def test_statement_count_is_fixed_per_batch(make_core):
    core = await make_core()
    ids = await people(core, [f"p{i}" for i in range(30)])
    statements = []

    def count(_conn, _cursor, statement, _params, _context, executemany):
        statements.append((statement.split(" (")[0], executemany))

    event.listen(core.services.db.engine.sync_engine, "before_cursor_execute", count)
    async with core.services.db.session() as session:
        stats = await BatchIngestor(core.services.engine).apply(session, workload(ids, 300))
    event.remove(core.services.db.engine.sync_engine, "before_cursor_execute", count)
    # signal + interest + trait inserts, style rounds and the prune check: not 5 per message
    assert stats.signal_rows > 300
    assert len(statements) < 300 // 3
    if not core.services.db.sqlite:
        # one execution per statement whatever the rows (one array per column), not
        # psycopg's executemany, which is one prepared execution, and its Python, per row
        assert ("INSERT INTO signal", False) in statements
        assert [s for s, many in statements if many] == []


async def test_text_survives_the_batch_as_it_was_written(make_core):
    """On PostgreSQL a batch's text goes as array literals, where quotes, backslashes,
    braces, commas, 'NULL' and empty strings all have meanings; they must arrive as written."""
    core = await make_core()
    (pid,) = await people(core, ["quoting"])
    texts = [
        'say "hi"', "back\\slash", "{braces}", "a, b", "NULL", "null", "", " padded ",
        "new\nline", "émoji 🎷 עברית", "e\u0301 combined", "'single'", "tab\there",
    ]
    observations = [
        Observation(pid, T0 + dt.timedelta(seconds=i), topics=((text or "empty", 1.0),),
                    excerpt=text, event_id=text)
        for i, text in enumerate(texts)
    ] + [Observation(pid, T0 + dt.timedelta(minutes=1), topics=(("no excerpt", 1.0),))]
    async with core.services.db.session() as session:
        await BatchIngestor(core.services.engine).claim_and_apply(
            session, [(ob, Claim("test", "W1", f"claim {ob.event_id}")) for ob in observations]
        )
    async with core.services.db.session() as session:
        rows = (await session.exec(select(Signal).where(Signal.person_id == pid))).scalars()
        stored = sorted((r.value, r.excerpt, r.event_id) for r in rows)
        learned = await core.services.engine.interests(session, pid, T0, limit=None)
    topics = {interest.topic for interest in learned}
    assert stored == sorted(
        [(text or "empty", text, text) for text in texts] + [("no excerpt", None, None)]
    )
    assert topics == {text or "empty" for text in texts} | {"no excerpt"}


async def test_item_engagement_is_evidence_and_interest(make_core):
    core = await make_core()
    (pid,) = await people(core, ["m"])
    ob = Observation(pid, T0, topics=(("drama", 1.0), ("war", 1.0)), item="ml:42", excerpt="Ran")
    async with core.services.db.session() as session:
        await BatchIngestor(core.services.engine).apply(session, [ob])
    async with core.services.db.session() as session:
        kinds = sorted((r.kind, r.value) for r in (await session.exec(select(Signal))).scalars())
        found = await core.services.engine.interests(session, pid, T0, limit=None)
    assert kinds == [("item", "ml:42"), ("topic", "drama"), ("topic", "war")]
    assert {i.topic for i in found} == {"drama", "war"}


async def test_claims_make_retried_events_harmless(make_core):
    core = await make_core()
    (pid,) = await people(core, ["r"])
    ob = Observation(pid, T0, topics=(("jazz", 1.0),), event_id="ev-1")
    claim = Claim("test", "W1", "ev-1")
    ingestor = BatchIngestor(core.services.engine)
    async with core.services.db.session() as session:
        # a duplicate inside one batch and a retry in the next batch both count once
        first = await ingestor.claim_and_apply(session, [(ob, claim), (ob, claim)])
    async with core.services.db.session() as session:
        again = await ingestor.claim_and_apply(session, [(ob, claim)])
    assert (first.observations, again.observations) == (1, 0)
    async with core.services.db.session() as session:
        (jazz,) = await core.services.engine.interests(session, pid, T0, limit=None)
    assert jazz.evidence_count == 1


async def test_write_behind_batches_and_flushes(make_core):
    core = await make_core()
    ids = await people(core, [f"w{i}" for i in range(5)])
    queue = WriteBehind(
        core.services.db, BatchIngestor(core.services.engine).claim_and_apply, max_batch=64,
        max_delay=0.01,
    )
    obs = workload(ids, 200)
    for i, ob in enumerate(obs):
        await queue.submit((ob, Claim("test", "W1", f"wb-{i}")))
    await queue.flush()
    assert queue.applied == 200 and queue.pending == 0
    await queue.submit((obs[0], Claim("test", "W1", "wb-0")))  # a retry: claimed already
    await queue.aclose()
    assert queue.applied == 200
    async with core.services.db.session() as session:
        rows = (await session.exec(select(Signal))).all()
    assert len(rows) == queue.signal_rows


async def test_both_paths_learn_the_decay_rule_computed_by_hand(make_core):
    """The per-event methods and batches share one implementation, so comparing them with
    each other could not catch a wrong rule: this checks both against the rule itself."""
    core = await make_core()
    one, batch, author = await people(core, ["hand-1", "hand-2", "hand-author"])
    hl, lasting = core.services.engine.half_life, core.services.engine.lasting_half_life
    later = T0 + dt.timedelta(seconds=hl)  # exactly one (fading) half-life apart

    def signals(length):
        return MessageSignals(
            topics=(("jazz", 1.0),), language="fr", length=length, word_count=3,
            formality=0.5, emoji_count=0,
        )

    for at, length in ((T0, 10), (later, 30)):
        async with core.services.db.session() as session:
            await core.services.engine.observe_message(
                session, one, signals(length), at=at, local_hour=9, event_id=None, excerpt="x"
            )
    async with core.services.db.session() as session:
        await core.services.engine.observe_reaction_elsewhere(
            session, one, [("jazz", 0.5)], at=later, emoji="👍", event_id=None,
            author_id=author,
        )
    async with core.services.db.session() as session:
        await BatchIngestor(core.services.engine).apply(session, [
            Observation.of_message(batch, signals(10), at=T0, local_hour=9, event_id=None,
                                   excerpt="x"),
            Observation.of_message(batch, signals(30), at=later, local_hour=9, event_id=None,
                                   excerpt="x"),
            Observation.of_reaction(batch, [("jazz", 0.5)], at=later, emoji="👍", event_id=None,
                                    author_id=author),
        ])
    got = await state(core, {one, batch})
    for pid in (one, batch):
        weight, lasting_weight, updated_ts, evidence = got[0][(pid, "jazz")]
        # 1.0 decays by half over one half-life, then 1.0 (message) and 0.2 (reaction) add
        assert weight == round(1.0 * 0.5 + 1.0 + 0.4 * 0.5, 6)
        assert lasting_weight == round(0.5 ** (hl / lasting) + 1.0 + 0.2, 6)
        assert (updated_ts, evidence) == (later.timestamp(), 3)
        assert got[1][(pid, "language", "fr")] == (round(0.5 + 1.0, 6), later.timestamp())
        assert got[2][pid] == (2, 20.0, 0.5, 0.0)  # running mean of two lengths
    kinds = sorted((s[1], s[2], s[3]) for s in got[3] if s[0] == batch)
    assert ("reaction", "jazz", 0.2) in kinds and ("active_hour", "09", 1.0) in kinds


async def test_discarded_items_are_never_applied_queued_or_gathered(make_core):
    """``discard`` (what /forget uses) reaches items still queued and items already gathered
    into the batch being formed, and nothing submitted after it."""
    core = await make_core()
    keep, drop = await people(core, ["stays", "forgotten"])
    queue = WriteBehind(
        core.services.db, BatchIngestor(core.services.engine).claim_and_apply,
        max_batch=64, max_delay=3600.0,  # nothing is applied before the flush below
    )
    for i, pid in enumerate([drop, keep, drop]):
        ob = Observation(pid, T0, topics=(("jazz", 1.0),))
        await queue.submit((ob, Claim("t", "W", f"d{i}")))
    queue.discard(lambda item: item[0].person_id == drop)
    await queue.submit((Observation(drop, T0, topics=(("chess", 1.0),)), Claim("t", "W", "d3")))
    await queue.flush()
    await queue.aclose()
    async with core.services.db.session() as session:
        found = (await session.exec(select(Interest))).scalars()
        rows = sorted((r.person_id, r.topic) for r in found)
    assert rows == sorted([(keep, "jazz"), (drop, "chess")])


async def test_a_flush_waits_only_for_what_was_submitted_before_it(make_core):
    """Under steady load the queue is never empty: a flush (a command settling a person's
    waiting learning, bot/learning.py) returns once what was submitted before it is applied,
    and what arrives meanwhile is neither waited for nor hurried — it is gathered for
    ``max_delay`` as usual. (Waiting for the queue to empty made commands wait seconds at
    maximum ingest, and every batch of that time went at once, small.)"""
    core = await make_core()
    (pid,) = await people(core, ["flusher"])
    entered: list[asyncio.Event] = [asyncio.Event()]
    release: list[asyncio.Event] = []

    async def after(items):  # runs once a batch committed: holds it until released
        gate = asyncio.Event()
        release.append(gate)
        entered[-1].set()
        await gate.wait()

    queue = WriteBehind(
        core.services.db, BatchIngestor(core.services.engine).claim_and_apply,
        max_batch=64, max_delay=3600.0, after=after,
    )

    def item(i):
        return (Observation(pid, T0, topics=(("jazz", 1.0),)), Claim("t", "W", f"f{i}"))

    await queue.submit(item(0))
    flush = asyncio.create_task(queue.flush())
    await asyncio.wait_for(entered[0].wait(), 10)  # the flush sent the gathered batch at once
    await queue.submit(item(1))  # after the flush began
    release[0].set()
    await asyncio.wait_for(flush, 10)
    await asyncio.sleep(0.05)  # were it hurried, its batch would be in `after` by now
    assert len(release) == 1 and queue.applied == 1

    entered.append(asyncio.Event())
    await queue.submit(item(2))
    second = asyncio.create_task(queue.flush())  # covers 1 and 2: hurries them
    await asyncio.wait_for(entered[1].wait(), 10)
    release[1].set()
    await asyncio.wait_for(second, 10)
    assert queue.applied == 3
    await queue.aclose()


async def test_a_failing_journal_keeps_the_batch_until_the_database_answers(make_core):
    """The database is away and handing the batch on fails too (the journal's disk is full):
    the batch is kept and retried until the database answers, not lost."""
    core = await make_core()
    (pid,) = await people(core, ["journal-full"])
    ingest = BatchIngestor(core.services.engine).claim_and_apply
    away = [1]  # the first attempt finds the database away
    handed_on: list[int] = []

    async def apply(session, items):
        if away[0]:
            away[0] -= 1
            raise DatabaseUnavailable("database away")
        return await ingest(session, items)

    async def journal(items, _exc):
        handed_on.append(len(items))
        raise OSError(28, "No space left on device")

    queue = WriteBehind(core.services.db, apply, max_delay=0.01, on_unavailable=journal)
    for i in range(3):
        ob = Observation(pid, T0, topics=(("jazz", 1.0),))
        await queue.submit((ob, Claim("t", "W", f"j{i}")))
    await asyncio.wait_for(queue.flush(), 10)
    await queue.aclose()
    assert handed_on == [3] and queue.applied == 3
    async with core.services.db.session() as session:
        (jazz,) = await core.services.engine.interests(session, pid, T0, limit=None)
    assert jazz.evidence_count == 3


async def test_a_batch_cut_busy_is_applied_again_one_person_at_a_time(make_core):
    """A lock on one person's rows (a /forget's, an operator's) cut the whole batch as busy,
    and every item went to the outage journal with that person's. Now the batch is applied
    again one part per ``apart`` key: only the part that meets the lock is handed on, as
    busy. A lock on many people's rows (a workspace's erasure) costs a lock wait per part
    cut busy: past ``BUSY_PARTS`` of them, the rest is tried as one part, and handed on."""
    core = await make_core()
    pids = await people(core, ["a", "b", "c", "d", "e"])
    ingest = BatchIngestor(core.services.engine).claim_and_apply
    locked: set[int] = set()
    tries: list[list[int]] = []
    handed_on: list[tuple[list[int], bool]] = []

    async def apply(session, items):
        whose = [ob.person_id for ob, _ in items]
        tries.append(whose)
        if locked & set(whose):
            raise DatabaseBusy("canceling statement due to lock timeout")
        return await ingest(session, items)

    async def journal(items, exc):
        handed_on.append(([ob.person_id for ob, _ in items], isinstance(exc, DatabaseBusy)))

    queue = WriteBehind(
        core.services.db, apply, max_delay=3600.0, on_unavailable=journal,
        apart=lambda item: item[0].person_id,
    )

    async def batch(tag: str) -> None:
        for pid in pids:
            ob = Observation(pid, T0, topics=(("jazz", 1.0),))
            await queue.submit((ob, Claim("t", "W", f"{tag}-{pid}")))
        await asyncio.wait_for(queue.flush(), 10)

    a, b, c, d, e = pids
    locked = {a}
    await batch("one")
    assert tries == [pids, [a], [b], [c], [d], [e]]
    assert handed_on == [([a], True)] and queue.applied == 4
    tries.clear()
    handed_on.clear()
    locked = {a, b, c}  # many people's rows
    await batch("many")
    assert BUSY_PARTS == 2 and tries == [pids, [a], [b], [c, d, e]]
    assert handed_on == [([a], True), ([b], True), ([c, d, e], True)]
    await queue.aclose()


async def test_a_failing_callback_or_predicate_does_not_stall_the_queue(make_core):
    """A defect in the caller's ``left`` callback or in a ``discard`` predicate costs at most
    its batch: the background task goes on, so the next batches are applied and a flush
    waiting for them returns."""
    core = await make_core()
    keep, odd = await people(core, ["kept", "odd"])
    calls: list[int] = []

    def left(items):
        calls.append(len(items))
        if len(calls) == 1:
            raise RuntimeError("a counter's defect")

    queue = WriteBehind(
        core.services.db, BatchIngestor(core.services.engine).claim_and_apply,
        max_batch=1, max_delay=3600.0, left=left,
    )

    def item(pid, i):
        return (Observation(pid, T0, topics=(("jazz", 1.0),)), Claim("t", "W", f"c{i}"))

    def broken(item):
        if item[0].person_id == odd:
            raise KeyError("a predicate's defect")
        return False

    for i, pid in enumerate([keep, keep, odd, odd]):
        await queue.submit(item(pid, i))
    queue.discard(broken)
    await queue.submit(item(keep, 4))
    await asyncio.wait_for(queue.flush(), 10)
    await queue.aclose()
    assert calls == [1] * 5
    assert queue.applied == 3  # the odd person's two batches were dropped, nothing else


async def test_a_stop_is_not_held_forever_by_a_batch_nobody_takes(make_core):
    """The database is away and the journal fails on every try: the batch is kept and
    retried while the process runs, but a graceful stop drops it (logged) instead of waiting
    for the database forever."""
    core = await make_core()
    (pid,) = await people(core, ["nobody-takes"])
    tries: list[str] = []
    failed_once = asyncio.Event()

    async def apply(session, items):
        tries.append("database")
        raise DatabaseUnavailable("database away")

    async def journal(items, _exc):
        tries.append("journal")
        failed_once.set()
        raise OSError(28, "No space left on device")

    queue = WriteBehind(core.services.db, apply, max_delay=0.01, on_unavailable=journal)
    await queue.submit((Observation(pid, T0, topics=(("jazz", 1.0),)), Claim("t", "W", "s0")))
    await asyncio.wait_for(failed_once.wait(), 10)  # the first attempt failed both ways
    await asyncio.wait_for(queue.aclose(), 10)
    assert queue.applied == 0 and tries.count("journal") == 2


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_processes_batches_of_the_same_people_in_opposite_orders_never_deadlock(
    make_core, database_url
):
    """Two processes apply batches about the same people at the same moment, each in an
    order of its own: a message of everyone's each, about topics (the same interest rows
    first) or about none (the same habit and style rows first), or the same redelivered
    events (the same claims first). Each upsert locked its rows, and the claims their keys,
    in the order it was given them: each could hold one the other's statement waited for,
    and PostgreSQL broke the deadlock after a second by aborting one. Now every statement
    sends its rows in its key's order: both commit, and every event is learned once, by
    whichever claimed it."""
    core = await make_core()
    ids = await people(core, [f"p{i:03d}" for i in range(400)])
    ingestor = BatchIngestor(core.services.engine)
    rounds = 24

    def batch(round_, process):
        topics = (("jazz", 1.0), ("chess", 0.5)) if round_ % 3 == 0 else ()
        signals = MessageSignals(topics=topics, language="en", length=40, word_count=8,
                                 formality=0.0, emoji_count=0)
        at = T0 + dt.timedelta(hours=round_)
        event_id = f"r{round_}" if round_ % 3 == 2 else f"r{round_}-{process}"
        return [
            (Observation.of_message(pid, signals, at=at, local_hour=at.hour,
                                    event_id=f"{event_id}-{pid}", excerpt="x"),
             Claim("test", "W1", f"{event_id}-{pid}"))
            for pid in (ids if process == 0 else ids[::-1])
        ]

    async def apply(items):
        async with core.services.db.session() as session:
            await ingestor.claim_and_apply(session, items)

    for round_ in range(rounds):
        await asyncio.gather(apply(batch(round_, 0)), apply(batch(round_, 1)))

    learned = sum(1 if round_ % 3 == 2 else 2 for round_ in range(rounds))  # per person
    async with core.services.db.session() as session:
        events = (
            await session.exec(select(func.count()).select_from(ProcessedEvent))
        ).scalar_one()
        seen = set((await session.exec(select(StyleProfile.messages_seen))).scalars())
    assert (events, seen) == (learned * len(ids), {learned})


# A real conflict, as PostgreSQL reports one it broke (SQLSTATE 40P01), raised by the database.
DEADLOCK = "DO $$ BEGIN RAISE EXCEPTION 'staged' USING ERRCODE = 'deadlock_detected'; END $$"


async def conflicting_queue(core, size, conflicts):
    """A write-behind queue of ``size`` people's claimed observations whose run ``n`` (from
    1) PostgreSQL aborts with a deadlock, after its statements, when ``conflicts(n, items)``;
    returns the queue once closed, and the size of each run."""
    ids = await people(core, [f"conflicted{i}" for i in range(size)])
    ingestor = BatchIngestor(core.services.engine)
    runs: list[int] = []

    async def apply(session, items):
        runs.append(len(items))
        stats = await ingestor.claim_and_apply(session, items)
        if conflicts(len(runs), items):
            await (await session.connection()).exec_driver_sql(DEADLOCK)
        return stats

    queue = WriteBehind(core.services.db, apply, max_delay=0.05)
    for i, pid in enumerate(ids):
        await queue.submit(
            (Observation(pid, T0, topics=(("jazz", 1.0),)), Claim("t", "W1", f"c{i}"))
        )
    await asyncio.wait_for(queue.aclose(), 10)
    return queue, runs


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize("size", [1, 3])
async def test_a_batch_aborted_by_a_conflict_is_applied_again_whole(
    make_core, database_url, size
):
    """PostgreSQL aborts a batch's first run over a conflict with another transaction
    (nothing of it was kept): the batch is run again whole and everything learned once.
    Before, it was split as if an item were broken, and a lone item was dropped."""
    core = await make_core()
    queue, runs = await conflicting_queue(core, size, lambda run, _items: run == 1)
    assert runs == [size, size]
    assert queue.applied == size
    async with core.services.db.session() as session:
        claimed = (await session.exec(select(func.count()).select_from(ProcessedEvent)))
        evidence = (await session.exec(select(Interest.evidence_count))).scalars().all()
    assert (claimed.scalar_one(), evidence) == (size, [1] * size)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_batch_that_conflicts_on_every_run_is_split_after_its_attempts(
    make_core, database_url
):
    """The runs again are bounded (profiles.db.CONFLICT_ATTEMPTS): a batch aborted every
    time it runs whole is then applied item by item, as any other failure."""
    core = await make_core()
    queue, runs = await conflicting_queue(core, 3, lambda _run, items: len(items) > 1)
    assert runs == [3] * CONFLICT_ATTEMPTS + [1, 1, 1]
    assert queue.applied == 3
