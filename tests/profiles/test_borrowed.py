"""An author's erasure takes back, exactly, what reactions to their messages taught others
(real SQLite and PostgreSQL)."""

import asyncio
import datetime as dt

import psycopg
import pytest
from sqlalchemy import delete, select, update

from profiles import ingest, retention
from profiles.decay import decayed, to_ts
from profiles.engine import PersonKey
from profiles.ingest import BatchIngestor, Observation
from profiles.models import ConsentStatus, Interest, Signal
from profiles.retention import RetentionPolicy, purge
from profiles.signals import MessageSignals
from tests.support.helpers import count, until_one_waits_for_a_lock

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def said(person_id: int, topics: dict[str, float], at: dt.datetime) -> Observation:
    signals = MessageSignals(
        topics=tuple(topics.items()), language="en", length=40, word_count=8,
        formality=0.0, emoji_count=0,
    )
    return Observation.of_message(
        person_id, signals, at=at, local_hour=at.hour, event_id=None, excerpt="x"
    )


def reacted(person_id: int, author: int, topics: dict[str, float], at: dt.datetime):
    return Observation.of_reaction(
        person_id, list(topics.items()), at=at, emoji="🔥", event_id=None, author_id=author
    )


async def consenting(core, *names: str) -> list[int]:
    """People of one workspace who allow learning, by their user ids."""
    ids = []
    async with core.services.db.session() as session:
        for name in names:
            person = await core.services.engine.person(session, PersonKey("test", "W1", name))
            await core.services.engine.set_consent(
                session, person.id, ConsentStatus.GRANTED, T0
            )
            ids.append(person.id)
    return ids


async def learn(core, observations):
    async with core.services.db.session() as session:
        await BatchIngestor(core.services.engine).apply(session, observations)


async def interests(core, person_id):
    async with core.services.db.session() as session:
        rows = (await session.exec(select(Interest).where(Interest.person_id == person_id)))
        return {
            r.topic: (r.weight, r.lasting_weight, r.updated_ts, r.evidence_count)
            for r in rows.scalars()
        }


async def test_an_authors_share_is_subtracted_and_what_else_was_learned_stays(make_core):
    core = await make_core()
    engine = core.services.engine
    reader, control, carol, dave = await consenting(core, "reader", "control", "carol", "dave")
    # Both read the same, except the reader also reacted to Carol's message.
    for who in (reader, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0)])
    await learn(core, [reacted(reader, carol, {"jazz": 1.0, "hyperdrive": 1.0,
                                               "chess": 1.0, "film": 1.0}, T0 + HOUR)])
    for who in (reader, control):
        await learn(core, [reacted(who, dave, {"jazz": 1.0}, T0 + 2 * HOUR)])
    async with core.services.db.session() as session:
        # "chess" was judged in a reply too: the judgement stays with the reader
        await session.exec(update(Interest).where(
            Interest.person_id == reader, Interest.topic == "chess"
        ).values(positive_feedback=1))
        # "film" was pruned, then learned again from the reader's own words: the new row
        # holds nothing of what came before it
        await session.exec(delete(Interest).where(
            Interest.person_id == reader, Interest.topic == "film"
        ))
    await learn(core, [said(reader, {"film": 1.0}, T0 + 3 * HOUR),
                       said(control, {"film": 1.0}, T0 + 3 * HOUR)])

    async with core.services.db.session() as session:
        removed = await engine.withdraw_words_of(session, carol)
    assert removed == 4

    mine, theirs = await interests(core, reader), await interests(core, control)
    assert "hyperdrive" not in mine
    for topic in ("jazz", "film"):
        weight, lasting, updated_ts, evidence = mine[topic]
        c_weight, c_lasting, c_updated_ts, c_evidence = theirs[topic]
        assert abs(weight - c_weight) < 1e-9 and abs(lasting - c_lasting) < 1e-9
        assert (updated_ts, evidence) == (c_updated_ts, c_evidence)
    weight, lasting, _, evidence = mine["chess"]
    assert evidence == 0 and abs(weight) < 1e-9 and abs(lasting) < 1e-9
    async with core.services.db.session() as session:
        left = (await session.exec(select(Signal.source_person_id).where(
            Signal.person_id == reader, Signal.kind == "reaction"
        ))).all()
    assert [source for (source,) in left] == [dave]  # Dave's message still taught the reader "jazz"


async def test_nothing_lent_removes_nothing(make_core):
    core = await make_core()
    async with core.services.db.session() as session:
        person = await core.services.engine.person(session, PersonKey("test", "W1", "solo"))
    await learn(core, [said(person.id, {"jazz": 1.0}, T0)])
    async with core.services.db.session() as session:
        assert await core.services.engine.withdraw_words_of(session, person.id) == 0
    assert set(await interests(core, person.id)) == {"jazz"}


async def purged(core) -> dict[str, int]:
    """The retention purge of evidence past 180 days, run 181 days after T0, taking back
    lent shares with the engine's half-lives."""
    engine = core.services.engine
    return await purge(
        core.services.db.session,
        T0 + dt.timedelta(days=181),
        RetentionPolicy(signal_evidence_days=180),
        half_lives=(engine.half_life, engine.lasting_half_life),
    )


async def test_expired_evidence_from_someone_elses_words_takes_its_share_with_it(make_core):
    """Past the evidence's retention nothing would tell the author's words from the
    reader's, and the author's /forget could not find them: they go when it expires."""
    core = await make_core()
    engine = core.services.engine
    reader, control, carol = await consenting(core, "reader", "control", "carol")
    for who in (reader, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0)])
    await learn(core, [reacted(reader, carol, {"jazz": 1.0, "hyperdrive": 1.0}, T0 + HOUR)])
    removed = await purged(core)
    assert removed["signal"] == 10  # two messages: topic, style, language, hour; two lent
    mine, theirs = await interests(core, reader), await interests(core, control)
    assert set(mine) == {"jazz"}
    now = to_ts(T0 + 2 * HOUR)  # the rows were stored at different times: compare now
    for half_life, column in ((engine.half_life, 0), (engine.lasting_half_life, 1)):
        assert abs(
            decayed(mine["jazz"][column], mine["jazz"][2], now, half_life)
            - decayed(theirs["jazz"][column], theirs["jazz"][2], now, half_life)
        ) < 1e-9
    assert mine["jazz"][3] == theirs["jazz"][3] == 1


async def test_a_reaction_learned_after_a_later_message_is_taken_back_too(make_core):
    """Reactions wait in the intake in front of the learner, so one can be applied after a
    later message of the reader's own on the same topic: the row's ``first_seen_at`` must
    be the earliest evidence, or the author's share looked older than the row (review)."""
    core = await make_core()
    engine = core.services.engine
    bob, control, carol = await consenting(core, "bob", "control", "carol")
    for who in (bob, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0 + dt.timedelta(seconds=2))])
    await learn(core, [reacted(bob, carol, {"jazz": 1.0}, T0)])
    async with core.services.db.session() as session:
        assert await engine.withdraw_words_of(session, carol) == 1
    mine, theirs = await interests(core, bob), await interests(core, control)
    assert mine["jazz"][3] == theirs["jazz"][3] == 1
    assert abs(mine["jazz"][0] - theirs["jazz"][0]) < 1e-9


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_evidence_kept_back_for_a_reader_being_forgotten_does_not_end_the_pass(
    make_core, database_url, monkeypatch
):
    """A batch of the purge that keeps back a reader's lent rows goes on to the next batch,
    without them: one such row ended the table's pass, and every expired row after its batch
    stayed a whole purge interval past its retention (review)."""
    monkeypatch.setattr(retention, "BATCH", 2)
    core = await make_core()
    bob, control, carol = await consenting(core, "bob", "control", "carol")
    # Bob's lent rows first, so that the first batch is theirs
    await learn(core, [reacted(bob, carol, {"hyperdrive": 1.0, "warp": 1.0}, T0)])
    for who in (bob, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0 + HOUR)])
    erasure = await psycopg.AsyncConnection.connect(database_url)  # Bob's, held
    try:
        await erasure.execute("SELECT 1 FROM person WHERE id = %s FOR UPDATE", (bob,))
        removed = await purged(core)
    finally:
        await erasure.rollback()
        await erasure.close()
    assert removed["signal"] == 8  # both messages' rows; Bob's lent two wait
    assert await count(core, Signal, source_person_id=carol) == 2


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_expiring_evidence_of_a_reader_being_forgotten_waits_for_the_next_purge(
    make_core, database_url
):
    """The purge skips a reader being forgotten at the same moment (never waits for an
    erasure): it also kept their evidence of Carol's words, or deleted it with her share
    left in, and an erasure that then rolled back kept that share untraceably (review). Kept,
    it goes with its share at the next purge."""
    core = await make_core()
    engine = core.services.engine
    bob, control, carol = await consenting(core, "bob", "control", "carol")
    for who in (bob, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0)])
    await learn(core, [reacted(bob, carol, {"jazz": 1.0, "hyperdrive": 1.0}, T0 + HOUR)])

    erasure = await psycopg.AsyncConnection.connect(database_url)  # Bob's, held, then failing
    try:
        await erasure.execute("SELECT 1 FROM person WHERE id = %s FOR UPDATE", (bob,))
        assert (await purged(core))["signal"] == 8  # two messages: topic, style, language, hour
    finally:
        await erasure.rollback()
        await erasure.close()
    assert set(await interests(core, bob)) == {"jazz", "hyperdrive"}
    assert (await purged(core))["signal"] == 2
    mine, theirs = await interests(core, bob), await interests(core, control)
    assert set(mine) == {"jazz"} and mine["jazz"][3] == theirs["jazz"][3] == 1
    now = to_ts(T0 + 2 * HOUR)
    for half_life, column in ((engine.half_life, 0), (engine.lasting_half_life, 1)):
        gap = decayed(mine["jazz"][column], mine["jazz"][2], now, half_life) - decayed(
            theirs["jazz"][column], theirs["jazz"][2], now, half_life
        )
        assert abs(gap) < 1e-9


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_batch_pruning_a_readers_interests_while_an_author_is_forgotten_never_deadlocks(
    make_core, database_url, monkeypatch
):
    """A learning batch has written Bob's "zulu" and prunes his weakest interest, "alpha",
    which only Carol's words taught him; meanwhile her erasure, taking her share back, has
    locked "alpha" and waits for "zulu". The prune waited for "alpha": a deadlock, which
    PostgreSQL broke after a second by aborting one of them (review). Now a prune leaves a
    row another transaction holds for the next one: the batch commits, then the erasure
    takes her share back, and "alpha" goes with it."""
    monkeypatch.setattr(ingest, "PRUNE_EVERY", 1)
    core = await make_core()
    engine = core.services.engine
    engine.max_interests = 1
    bob, carol = await consenting(core, "bob", "carol")
    await learn(core, [reacted(bob, carol, {"alpha": 1.0, "zulu": 1.0}, T0)])
    prune = engine.prune_interests
    written, go = asyncio.Event(), asyncio.Event()

    async def pausing(session, person_id, at):  # the batch's interests written, held
        written.set()
        await go.wait()
        return await prune(session, person_id, at)

    engine.prune_interests = pausing
    batch = asyncio.ensure_future(learn(core, [said(bob, {"zulu": 2.0}, T0 + HOUR)]))
    await written.wait()

    async def erase():
        async with core.services.db.session() as session:
            return await engine.withdraw_words_of(session, carol)

    erasure = asyncio.ensure_future(erase())
    await until_one_waits_for_a_lock(core)  # for "zulu", "alpha" locked
    go.set()
    await batch
    assert await erasure == 2
    assert set(await interests(core, bob)) == {"zulu"}
