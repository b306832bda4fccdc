"""Channel messages the bot only observes are learned in batches (bot/learning.py): the same
learning as the per-event rule, consent and /forget checked again in the batch, retries
counted once, and the in-process cache never outliving a change it can see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import select

from bot.core import Core
from bot.events import MessageEvent, PlatformContext, Surface
from profiles.models import Interest, Person, Preference, Signal, StyleProfile, Trait
from tests.support.helpers import command, count, grant, next_id, person, person_id

TEXTS = [
    "I'm learning Rust async programming and reading about distributed systems",
    "Sourdough bread again this weekend, the starter finally behaves",
    "Anyone into jazz piano voicings? I keep practising rootless chords",
    "More distributed systems reading: Raft and consensus papers",
]
AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def channel(who: Any, text: str, *, at: dt.datetime = AT, **kw: Any) -> MessageEvent:
    return MessageEvent(
        event_id=kw.pop("event_id", None) or next_id("chan"),
        person=who,
        text=text,
        surface=Surface.CHANNEL,
        channel_id="C1",
        occurred_at=at,
        context=kw.pop("context", PlatformContext()),
        **kw,
    )


async def profile_rows(core: Core, pid: int) -> dict[str, Any]:
    await core.flush()
    async with core.db.session() as session:
        interests = sorted(
            (i.topic, round(i.weight, 9), i.evidence_count)
            for i in await session.exec(select(Interest).where(Interest.person_id == pid))
        )
        traits = sorted(
            (t.kind, t.key, round(t.weight, 9))
            for t in await session.exec(select(Trait).where(Trait.person_id == pid))
        )
        style = await session.get(StyleProfile, pid)
        signals = sorted(
            (s.kind, s.value)
            for s in await session.exec(select(Signal).where(Signal.person_id == pid))
        )
    assert style is not None
    return {
        "interests": interests,
        "traits": traits,
        "style": (style.messages_seen, round(style.avg_length, 9), round(style.formality, 9)),
        "signals": signals,
    }


async def test_batched_channel_learning_equals_the_per_event_path(core: Core) -> None:
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    batched = core.learning.message

    async def per_event_for_bob(event: MessageEvent, key: Any, text: str) -> bool:
        return False if event.person.user_id == "bob" else await batched(event, key, text)

    core.learning.message = per_event_for_bob  # type: ignore[method-assign]
    for i, text in enumerate(TEXTS):
        at = AT + dt.timedelta(hours=i)
        await core.handle(channel(alice, text, at=at))
        await core.handle(channel(bob, text, at=at))
    a = await profile_rows(core, await person_id(core, alice) or 0)
    b = await profile_rows(core, await person_id(core, bob) or 0)
    assert a["interests"] and a == b
    assert core.learning.queue.applied == len(TEXTS)  # alice's went through the batch


async def test_a_retried_event_teaches_once(core: Core) -> None:
    alice = person("alice")
    await grant(core, alice)
    event = channel(alice, TEXTS[0], event_id="same-id")
    await core.handle(event)
    await core.handle(event)
    await core.flush()
    await core.handle(event)  # a retry after the first batch committed
    pid = await person_id(core, alice)
    rows = await profile_rows(core, pid or 0)
    assert rows["style"][0] == 1
    assert all(n == 1 for _, _, n in rows["interests"])


async def test_consent_revoked_while_queued_wins(core: Core) -> None:
    alice = person("alice")
    await grant(core, alice)
    core.learning.queue.max_delay = 30.0  # hold the batch open while she revokes
    core.learning.queue.max_batch = 10_000
    await core.handle(channel(alice, TEXTS[0]))
    await core.handle(command(alice, "consent", "revoke"))
    core.learning.queue.max_delay = 0.0
    await core.flush()
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid) == 0
    assert await count(core, Interest, person_id=pid) == 0


async def test_forgotten_while_queued_leaves_nothing_and_the_queue_goes_on(core: Core) -> None:
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    core.learning.queue.max_delay = 30.0
    core.learning.queue.max_batch = 10_000
    await core.handle(channel(alice, TEXTS[0]))
    await core.handle(command(alice, "forget", "confirm"))
    await core.handle(channel(bob, TEXTS[1]))
    core.learning.queue.max_delay = 0.0
    await core.flush()
    assert await person_id(core, alice) is None
    assert await count(core, Signal, person_id=await person_id(core, bob)) > 0
    assert core.learning.queue.dropped == 0


async def test_a_grant_takes_effect_at_once_not_after_the_cache_expires(core: Core) -> None:
    alice = person("alice")
    await core.handle(command(alice, "consent", "decline"))
    await core.handle(channel(alice, TEXTS[0]))  # cached: not allowed
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid) == 0
    await grant(core, alice)
    await core.handle(channel(alice, TEXTS[1]))
    assert await count(core, Signal, person_id=pid) > 0


async def test_last_seen_is_updated_in_the_batch(core: Core) -> None:
    alice = person("alice")
    await grant(core, alice)
    later = dt.datetime(2031, 1, 2, 3, 4, tzinfo=dt.UTC)
    core.clock = lambda: later
    await core.handle(channel(alice, TEXTS[0]))
    await core.flush()
    async with core.db.session() as session:
        found = await session.get(Person, await person_id(core, alice))
    assert found is not None
    assert found.last_seen_at.replace(tzinfo=dt.UTC) == later


async def test_a_new_platform_timezone_is_stored_by_the_per_event_path(core: Core) -> None:
    alice = person("alice")
    await grant(core, alice)
    await core.handle(channel(alice, TEXTS[0], context=PlatformContext(timezone="Asia/Tokyo")))
    await core.handle(channel(alice, TEXTS[1], context=PlatformContext(timezone="Asia/Tokyo")))
    await core.flush()
    pid = await person_id(core, alice)
    async with core.db.session() as session:
        rows = list(await session.exec(select(Preference).where(Preference.person_id == pid)))
    assert [(p.key, p.value, p.source) for p in rows] == [("timezone", "Asia/Tokyo", "platform")]
    assert core.learning.queue.applied == 1  # the second message: known, batched
    hours = sorted(
        k for kind, k, _ in (await profile_rows(core, pid or 0))["traits"] if kind == "hour"
    )
    assert hours == ["18"]  # 09:30 UTC is 18:30 in Tokyo, for both messages
