"""Profile learning on real SQLite and PostgreSQL: decay, O(1) updates, precedence, cold start."""

import datetime as dt

import pytest

from profiles.decay import DAY_SECONDS
from profiles.engine import PersonKey
from profiles.models import ConsentStatus, Interest, Source
from profiles.signals import MessageSignals
from tests.support.helpers import count
from tests.support.statements import statements_sent

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def signals(
    *topics: str,
    formality: float = 0.0,
    emoji: int = 0,
    length: int = 80,
    language: str | None = "en",
) -> MessageSignals:
    return MessageSignals(
        topics=tuple((t, 1.0) for t in topics),
        language=language,
        length=length,
        word_count=length // 5,
        formality=formality,
        emoji_count=emoji,
    )


async def new_person(core, user="alice", workspace="W1", consent=True):
    async with core.services.db.session() as session:
        person = await core.services.engine.person(session, PersonKey("test", workspace, user))
        if consent:
            await core.services.engine.set_consent(session, person.id, ConsentStatus.GRANTED, T0)
        return person


async def observe(core, person_id, sig, at):
    async with core.services.db.session() as session:
        await core.services.engine.observe_message(
            session, person_id, sig, at=at, local_hour=at.hour, event_id=None, excerpt="x"
        )


async def interests(core, person_id, now):
    async with core.services.db.session() as session:
        return {
            i.topic: i
            for i in await core.services.engine.interests(session, person_id, now, limit=None)
        }


async def test_interest_weights_decay_with_half_life(make_core):
    core = await make_core(interest_half_life_days=10)
    person = await new_person(core)
    await observe(core, person.id, signals("jazz"), T0)
    await observe(core, person.id, signals("jazz"), T0 + dt.timedelta(days=10))
    found = await interests(core, person.id, T0 + dt.timedelta(days=20))
    # 1 decayed for 20 days (0.25) + 1 decayed for 10 days (0.5)
    assert found["jazz"].lately == pytest.approx(0.75, rel=1e-6)
    # the lasting part: the same with a year's half-life, on the fading part's scale
    lasting = (0.5 ** (20 / 365) + 0.5 ** (10 / 365)) * 10 / 365
    assert found["jazz"].lasting == pytest.approx(lasting, rel=1e-6)
    assert found["jazz"].weight == pytest.approx(0.75 + lasting, rel=1e-6)
    assert found["jazz"].evidence_count == 2


async def test_recent_interest_overtakes_stale_one(make_core):
    core = await make_core(interest_half_life_days=7)
    person = await new_person(core)
    for day in range(5):
        await observe(core, person.id, signals("chess"), T0 + dt.timedelta(days=day))
    await observe(core, person.id, signals("climbing"), T0 + dt.timedelta(days=60))
    await observe(core, person.id, signals("climbing"), T0 + dt.timedelta(days=61))
    async with core.services.db.session() as session:
        top = await core.services.engine.interests(session, person.id, T0 + dt.timedelta(days=62))
    assert [i.topic for i in top] == ["climbing", "chess"]


async def test_one_row_per_topic_and_constant_statements_per_signal(make_core, database_url):
    """O(1) per signal: the number of SQL statements for one message does not grow with the
    person's history (no rescans)."""
    core = await make_core()
    person = await new_person(core)
    async def measure(at):
        with statements_sent(core.services.db) as sent:
            await observe(core, person.id, signals("go", "rust", "zig"), at)
        return len(sent)

    first = await measure(T0)
    for i in range(1, 120):
        if i in (50, 100):
            continue  # message counts that trigger the amortised prune
        await observe(core, person.id, signals("go", "rust", "zig"), T0 + dt.timedelta(hours=i))
    later = await measure(T0 + dt.timedelta(days=30))
    assert later == first
    assert await count(core, Interest, person_id=person.id) == 3


async def test_pruning_keeps_only_the_strongest(make_core):
    core = await make_core(max_interests_per_person=10)
    person = await new_person(core)
    for i in range(50):
        await observe(core, person.id, signals(f"topic {i:02d}"), T0 + dt.timedelta(minutes=i))
    assert await count(core, Interest, person_id=person.id) == 10
    found = await interests(core, person.id, T0 + dt.timedelta(hours=1))
    assert "topic 49" in found and "topic 00" not in found


async def test_explicit_preference_beats_inferred_and_platform(make_core):
    core = await make_core()
    person = await new_person(core)
    for i in range(4):
        await observe(
            core, person.id, signals("x", formality=-0.9, emoji=2), T0 + dt.timedelta(minutes=i)
        )
    async with core.services.db.session() as session:
        prefs = await core.services.engine.preferences(session, person.id, T0)
        assert (prefs.get("tone"), prefs.source("tone")) == ("casual", "inferred")
        assert prefs.get("emoji") == "on"
        await core.services.engine.set_preference(
            session, person.id, "timezone", "Asia/Tokyo", source=Source.PLATFORM, at=T0
        )
        await core.services.engine.set_preference(session, person.id, "tone", "formal", at=T0)
    async with core.services.db.session() as session:
        prefs = await core.services.engine.preferences(session, person.id, T0)
        assert (prefs.get("tone"), prefs.source("tone")) == ("formal", "explicit")
        assert prefs.values["tone"].set_at is not None
        assert (prefs.get("timezone"), prefs.source("timezone")) == ("Asia/Tokyo", "platform")
        await core.services.engine.set_preference(
            session, person.id, "timezone", "Europe/Paris", at=T0
        )
    async with core.services.db.session() as session:
        prefs = await core.services.engine.preferences(session, person.id, T0)
        assert (prefs.get("timezone"), prefs.source("timezone")) == ("Europe/Paris", "explicit")
        assert await core.services.engine.reset_preferences(session, person.id, "tone") == 1
    async with core.services.db.session() as session:
        prefs = await core.services.engine.preferences(session, person.id, T0)
        assert prefs.source("tone") == "inferred"


async def test_cold_start_uses_popular_interests_of_the_same_workspace_only(make_core):
    core = await make_core()
    for user in ("a", "b", "c"):
        member = await new_person(core, user, "W1")
        await observe(core, member.id, signals("kubernetes", f"only {user}"), T0)
    outsider = await new_person(core, "z", "W2")
    await observe(core, outsider.id, signals("knitting"), T0)
    await observe(core, (await new_person(core, "y", "W2")).id, signals("knitting"), T0)
    unconsented = [await new_person(core, u, "W1", consent=False) for u in ("p", "q", "r")]
    for member in unconsented:  # rows of people who did not consent must not count
        await observe(core, member.id, signals("gossip"), T0)
    newcomer = await new_person(core, "new", "W1")
    async with core.services.db.session() as session:
        snap = await core.services.engine.snapshot(session, newcomer, T0 + dt.timedelta(days=1))
    assert snap.interests == []
    assert snap.workspace_popular == ["kubernetes"]


async def test_style_running_average_and_languages(make_core):
    core = await make_core()
    person = await new_person(core)
    await observe(core, person.id, signals("a", length=100, language="en"), T0)
    await observe(core, person.id, signals("b", length=300, language="fr"), T0)
    await observe(core, person.id, signals("c", length=200, language="fr"), T0)
    async with core.services.db.session() as session:
        style = await core.services.engine.style(session, person.id, T0)
    assert style.messages_seen == 3
    assert style.avg_length == pytest.approx(200.0)
    assert style.languages[0][0] == "fr"
    assert style.languages[0][1] == pytest.approx(2 / 3)


def test_half_life_setting_maps_to_seconds():
    from profiles.engine import ProfileEngine

    assert ProfileEngine(half_life_days=2).half_life == 2 * DAY_SECONDS
