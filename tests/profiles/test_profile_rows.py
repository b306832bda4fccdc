"""A reply's profile in one statement (profiles/profile_rows.py), on SQLite and PostgreSQL:
exactly what the rows hold, read back through JSON — every digit of a float, timestamps as
the ORM gives them, the latest turns oldest first — and nothing for someone without rows."""

from __future__ import annotations

import datetime as dt
import random

from sqlmodel import col, select

from profiles.models import ConversationTurn, Interest, ProfileSummary, StyleProfile, Trait
from profiles.profile_rows import (
    INTEREST_COLUMNS,
    TRAIT_COLUMNS,
    read_profile,
    read_profile_now,
)
from tests.conftest import MakeCore
from tests.support.helpers import people
from tests.support.statements import statements_sent

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def awkward_floats(rng: random.Random, n: int) -> list[float]:
    """Values whose every digit matters: 15 significant digits would change all of them."""
    return [0.1 + 0.2, 1764758400.1234567, 1e-7 / 3] + [
        rng.random() * 10 ** rng.randint(-6, 10) for _ in range(n - 3)
    ]


async def test_one_statement_reads_exactly_what_the_rows_hold(make_core: MakeCore) -> None:
    core = await make_core()
    alice, bob = await people(core, "alice", "bob")
    rng = random.Random(16)
    floats = iter(awkward_floats(rng, 60))
    async with core.services.db.session() as session:
        for i in range(12):
            session.add(Interest(
                person_id=alice, topic=f"topic {i} ☕" if i % 3 else f"sujet {i} é",
                weight=next(floats), lasting_weight=next(floats), updated_ts=next(floats),
                evidence_count=i, positive_feedback=i % 2, negative_feedback=i % 3,
                first_seen_at=T0 + dt.timedelta(days=i, microseconds=i),
            ))
        for kind, key in [("language", "en"), ("language", "fr"), ("hour", "09")]:
            session.add(Trait(
                person_id=alice, kind=kind, key=key, weight=next(floats),
                updated_ts=next(floats),
            ))
        session.add(StyleProfile(
            person_id=alice, messages_seen=7, avg_length=next(floats), formality=-0.25,
            updated_at=T0,
        ))
        session.add(ProfileSummary(
            person_id=alice, summary={"likes": ["jazz"]}, model="m", created_at=T0,
        ))
        for i in range(9):
            session.add(ConversationTurn(
                person_id=alice, role="user" if i % 2 == 0 else "assistant",
                text=f"turn {i} 'quoted' \"twice\" \\ 🎷", channel_id="D1",
                created_at=T0 + dt.timedelta(minutes=i),
            ))
        session.add(ConversationTurn(
            person_id=bob, role="user", text="not alice's", channel_id="D1", created_at=T0
        ))

    async with core.services.db.read() as session:
        with statements_sent(core.services.db) as sent:
            rows = await read_profile(session, alice, turns=4)
        stored = list(await session.exec(select(Interest).where(Interest.person_id == alice)))
        traits = list(await session.exec(select(Trait).where(Trait.person_id == alice)))
        turns = list(await session.exec(
            select(ConversationTurn)
            .where(ConversationTurn.person_id == alice)
            .order_by(col(ConversationTurn.id))
        ))
        style = await session.get(StyleProfile, alice)
        summary = await session.get(ProfileSummary, alice)

    assert len(sent) == 1  # everything, in one statement
    by_topic = {row.topic: row for row in rows.interests}
    assert sorted(by_topic) == sorted(i.topic for i in stored)
    for interest in stored:
        got = by_topic[interest.topic]
        for name in INTEREST_COLUMNS:
            assert getattr(got, name) == getattr(interest, name), name
            assert type(getattr(got, name)) is type(getattr(interest, name)), name
    assert sorted((t.kind, t.key, t.weight, t.updated_ts) for t in rows.traits) == sorted(
        tuple(getattr(t, name) for name in TRAIT_COLUMNS) for t in traits
    )
    assert rows.history == [(t.role, t.text) for t in turns[-4:]]  # the latest, oldest first
    assert rows.style is style and rows.summary is summary
    assert rows.style is not None and rows.style.avg_length == style.avg_length  # type: ignore[union-attr]

    async with core.services.db.read() as session:
        nothing = await read_profile(session, bob)  # no turns asked for: none read
        assert (nothing.style, nothing.summary, nothing.traits, nothing.interests) == (
            None, None, [], [])
        assert nothing.history == []
        assert (await read_profile(session, bob, turns=3)).history == [("user", "not alice's")]
        missing = await read_profile(session, 10**9, turns=3)
        assert (missing.style, missing.interests, missing.history) == (None, [], [])


async def test_read_on_the_driver_gives_what_the_session_reads(make_core: MakeCore) -> None:
    """A reply reads its profile straight on the driver (``read_profile_now``): the same
    values and types as through the session — style and summary as objects of the same
    columns, an interest's every float digit, the timestamps' form — for someone with every
    kind of row, someone with only turns, and no one."""
    core = await make_core()
    alice, bob = await people(core, "alice", "bob")
    rng = random.Random(7)
    floats = iter(awkward_floats(rng, 20))
    async with core.services.db.session() as session:
        for i in range(4):
            session.add(Interest(
                person_id=alice, topic=f"sujet {i} é", weight=next(floats),
                lasting_weight=next(floats), updated_ts=next(floats), evidence_count=i,
                first_seen_at=T0 + dt.timedelta(days=i, microseconds=i),
            ))
        session.add(Trait(person_id=alice, kind="language", key="fr", weight=next(floats),
                          updated_ts=next(floats)))
        session.add(StyleProfile(person_id=alice, messages_seen=3, avg_length=next(floats),
                                 formality=0.5, emoji_rate=next(floats), updated_at=T0))
        session.add(ProfileSummary(person_id=alice, summary={"likes": ["jazz", "é"]},
                                   model="m", based_on_turns=5, created_at=T0))
        for who in (alice, bob):
            session.add(ConversationTurn(person_id=who, role="user", text="hi 🎷",
                                         channel_id="D1", created_at=T0))
    db = core.services.db
    for who, turns in ((alice, 4), (alice, 0), (bob, 3), (10**9, 3)):
        async with db.read() as session:
            through_session = await read_profile(session, who, turns=turns)
        with statements_sent(db) as sent:
            on_driver = await read_profile_now(db, who, turns=turns)
        assert len(sent) == 1
        for part in ("style", "summary"):
            mine, theirs = getattr(on_driver, part), getattr(through_session, part)
            assert (mine is None) == (theirs is None), (who, part)
            if mine is not None:
                assert mine.model_dump() == theirs.model_dump(), (who, part)
                assert {k: type(v) for k, v in mine.model_dump().items()} == {
                    k: type(v) for k, v in theirs.model_dump().items()}
        assert on_driver.interests == through_session.interests, who
        assert on_driver.traits == through_session.traits, who
        assert on_driver.history == through_session.history, who
