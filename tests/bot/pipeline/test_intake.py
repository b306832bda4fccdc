"""The intake (bot/pipeline/intake.py): observed channel messages and reactions resolved a
batch at a time decide exactly as their per-event paths (``Chat.observe_one``,
``Feedback.reaction_one``) decide, case by case — consent granted, revoked, unanswered in an
opt-out and an opt-in workspace, first contact with and without a grant given "everywhere", a
new platform timezone to store, a channel excluded from learning; reactions to the bot's
reply (feedback, added and removed), to other people's messages, negative, without the text
reacted to — and the batch hands to the per-event path only what its rows cannot decide.
Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import select

from bot.core import Core
from bot.events import (
    CommandEvent,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Surface,
)
from profiles.models import ConsentStatus, Feedback, Person, Preference, ProcessedEvent
from profiles.signals import clean_text
from profiles.workspace_defaults import CONSENT_KEY, OPT_IN, set_default
from tests.conftest import MakeCore
from tests.profiles.test_ingest import relabel, state
from tests.support.helpers import action, grant, message, next_id, person, person_id, reaction

AT = dt.datetime(2026, 3, 4, 22, 30, tzinfo=dt.UTC)
TEXTS = [
    "Comparing event sourcing and CQRS for our billing service",
    "The kubernetes operator for postgres replication finally works",
]
# user → (workspace suffix, timezone the platform reports); the cases of the module doc
CASES = {
    "granted": ("W", ""),
    "revoked": ("W", ""),
    "unanswered": ("W", ""),
    "unanswered_opt_in": ("X", ""),
    "stranger": ("W", ""),
    "everywhere": ("Z", ""),  # granted everywhere in W, first seen in Z
    "moved": ("W", "Asia/Tokyo"),
    "excluded": ("W", ""),  # speaks in a channel excluded from learning
}
PER_MESSAGE = {"unanswered", "unanswered_opt_in", "stranger", "everywhere", "moved"}
# reactions: (user, emoji, target, text reacted to, added, its author); "reply" is the bot's
# answer to them
REACTIONS = [
    ("granted", "🔥", "elsewhere", "Comparing tokio and async-std runtimes", True, "moved"),
    ("granted", "👍", "reply", None, True, None),  # feedback on the bot's reply
    ("granted", "👍", "reply", None, False, None),  # ... taken back
    ("granted", "🎉", "reply", None, True, None),  # ... and a celebration that stays
    ("granted", "👎", "elsewhere", "Sourdough starters with rye flour", True, "moved"),
    ("granted", "🔥", "elsewhere", None, True, "moved"),  # the adapter could not tell the text
    ("revoked", "🔥", "elsewhere", "Film noir detectives of the forties", True, "moved"),
    ("unanswered", "🔥", "elsewhere", "Jazz piano voicings for beginners", True, "moved"),
    ("excluded", "🔥", "elsewhere", "Kubernetes operators for postgres", True, "moved"),
    # the author's consent counts too: no row, revoked, unanswered (opt-out: learned), unknown
    ("granted", "🔥", "elsewhere", "Haskell type classes explained", True, "stranger"),
    ("granted", "🔥", "elsewhere", "Rust borrow checker tricks", True, "revoked"),
    ("granted", "🔥", "elsewhere", "Elm architecture for frontends", True, "unanswered"),
    ("granted", "🔥", "elsewhere", "Zig comptime generics", True, None),
]
REACTIONS_PER_EVENT = 5  # the three on the bot's reply and the two unanswered ones


def who(user: str, workspace: str) -> PersonRef:
    return person(user, workspace, "discord" if user == "everywhere" else "test")


async def scenario(core: Core, prefix: str) -> list[MessageEvent | ReactionEvent]:
    """People and channels of every case in workspaces named ``prefix`` + suffix; returns
    their observed messages (not yet delivered)."""
    services = core.services
    ws = {suffix: f"{prefix}{suffix}" for suffix in "WXZ"}
    for user in ("granted", "revoked", "moved", "excluded"):
        await grant(core, person(user, ws["W"]))
    pid = await person_id(core, person("revoked", ws["W"]))
    assert pid is not None
    async with services.db.session() as session:
        await services.engine.set_consent(session, pid, ConsentStatus.REVOKED, AT)
        await set_default(session, "test", ws["X"], CONSENT_KEY, OPT_IN, AT)
    for user in ("unanswered", "unanswered_opt_in"):  # never answer the consent notice
        hello = message(person(user, ws[CASES[user][0]]), "hello", occurred_at=AT,
                        event_id=f"hello-{user}")
        await core.handle(hello)
    # a grant "everywhere" spans the servers of a platform that has them
    assert await core.handle(action(who("everywhere", ws["W"]), "consent.grant_everywhere"))
    await core.handle(CommandEvent(
        event_id=next_id("cmd"), person=person("boss", ws["W"]), name="admin",
        args="exclude learning here", channel_id="CX", surface=Surface.CHANNEL,
        context=PlatformContext(admin=True),
    ))
    answered = await core.handle(message(who("granted", ws["W"]), "tell me about tokio",
                                         occurred_at=AT, event_id="ask-granted"))
    assert answered[0].reply_id
    await core.bind_reply(answered[0].reply_id, f"{prefix}-reply")
    await services.learner.flush()
    reactions: list[ReactionEvent] = []
    for n, (user, emoji, target, text, added, author) in enumerate(REACTIONS):
        reacted = reaction(
            who(user, ws["W"]), f"{prefix}-reply" if target == "reply" else f"m-{n}", emoji,
            added=added, event_id=f"react-{n}", target_text=text, target_author=author,
        )
        reactions.append(replace(reacted, occurred_at=AT,
                                 channel_id="CX" if user == "excluded" else "C1"))
    return reactions + [
        message(
            who(user, ws[suffix]), text, event_id=f"{user}-{n}", surface=Surface.CHANNEL,
            mentioned=False, channel_id="CX" if user == "excluded" else "C1",
            context=PlatformContext(timezone=timezone), occurred_at=AT,
        )
        for user, (suffix, timezone) in CASES.items()
        for n, text in enumerate(TEXTS)
    ]


async def outcome(core: Core, prefix: str) -> tuple:
    """Everything observation can leave, per (workspace suffix, user): people, claims,
    preferences and the learned rows."""
    async with core.services.db.session() as session:
        people = [
            p for p in (await session.exec(select(Person))).all()
            if p.workspace.startswith(prefix)
        ]
        names = {p.id: (p.workspace.removeprefix(prefix), p.user_id) for p in people}
        claims = sorted(
            (names[c.person_id], c.event_id)
            for c in (await session.exec(select(ProcessedEvent))).all()
            if c.person_id in names and not c.event_id.startswith(("msg", "cmd", "act"))
        )
        preferences = sorted(
            (names[p.person_id], p.key, p.value, p.source)
            for p in (await session.exec(select(Preference))).all()
            if p.person_id in names
        )
        feedback = sorted(
            (names[f.person_id], f.value, f.emoji, f.source)
            for f in (await session.exec(select(Feedback))).all()
            if f.person_id in names
        )
    learned = relabel(await state(core, set(names)), names)
    return sorted(names.values()), claims, preferences, feedback, learned


async def test_a_batch_decides_as_the_per_message_path(make_core: MakeCore) -> None:
    core = await make_core(settle=False, consent_mode="opt_out")
    services, intake = core.services, core.chat.intake
    one_by_one = await scenario(core, "A")
    for event in one_by_one:
        if isinstance(event, ReactionEvent):
            await core.feedback.reaction_one(event)
        else:
            await core.chat.observe_one(event, clean_text(event.text, max_chars=4000).strip())
    await services.learner.flush()

    batched = await scenario(core, "B")
    intake.queue.max_delay = 3600.0  # one batch, resolved at the flush
    handed_on = intake.per_event
    for event in batched:
        assert await core.handle(event) == []
    await services.learner.flush()
    assert intake.queue.batches == 1
    assert intake.per_event - handed_on == len(PER_MESSAGE) * len(TEXTS) + REACTIONS_PER_EVENT

    expected, got = await outcome(core, "A"), await outcome(core, "B")
    for part, (want, have) in enumerate(zip(expected, got, strict=True)):
        if isinstance(want, tuple):
            for sub, (w, h) in enumerate(zip(want, have, strict=True)):
                assert h == w, f"learned part {sub}"
        assert have == want, f"part {part}"
    people, claims, preferences, feedback, (interests, *_rest) = got
    learned_from = {who for who, _topic in interests}
    assert learned_from == {
        ("W", "granted"), ("W", "unanswered"), ("Z", "everywhere"), ("W", "moved")
    }
    assert ("W", "stranger") not in people and ("Z", "everywhere") in people
    assert (("W", "excluded"), "excluded-0") in claims  # seen, not learned from
    # nothing at all is kept about people who do not allow learning, not even a claim
    assert not any(event.startswith(("revoked-", "unanswered_opt_in-")) for _, event in claims)
    assert (("W", "moved"), "timezone", "Asia/Tokyo", "platform") in preferences
    # reactions: feedback on the reply (added, then taken back), learning elsewhere
    assert feedback == [(("W", "granted"), 1, "🎉", "reaction")]  # 👍 was taken back
    learned_claims = {event for _, event in claims if event.startswith("react-")}
    # granted elsewhere, an unanswered reactor and an unanswered author (opt-out)
    assert learned_claims == {"react-0", "react-7", "react-11"}


@pytest.mark.parametrize("observe_yield_ms", [1_000, 0])
async def test_an_observed_message_waits_while_a_reply_works(
    make_core: MakeCore, observe_yield_ms: int
) -> None:
    """Replies first (bot/reply_turns.py): while bob's reply does its work (held here in
    its assembly), ann's channel message is not handed to the intake — the CPU goes to the
    person waiting for an answer; once the reply is done the message is queued and learned
    as ever, and her /profile meanwhile waits for it. With ``observe_yield_ms`` 0 it is
    queued at once."""
    core = await make_core(
        settle=False, reply_work_at_once=1, observe_yield_ms=observe_yield_ms
    )
    if observe_yield_ms:
        core.services.reply_turns.observe_yield = 60.0  # no slow machine reaches the bound
    ann, bob = person("ann"), person("bob")
    for who_ in (ann, bob):
        await grant(core, who_)
    stuck, release = asyncio.Event(), asyncio.Event()
    assemble = core.chat.assemble.request

    async def held_assembly(*args: Any, **kwargs: Any) -> Any:
        stuck.set()
        await release.wait()
        return await assemble(*args, **kwargs)

    core.chat.assemble.request = held_assembly  # type: ignore[method-assign]
    reply = asyncio.ensure_future(core.handle(message(bob, "tell me about jazz")))
    await asyncio.wait_for(stuck.wait(), 10)
    observed = asyncio.ensure_future(core.handle(
        message(ann, "Kubernetes operators for postgres", surface=Surface.CHANNEL)
    ))
    await asyncio.sleep(0.3)
    assert observed.done() is (observe_yield_ms == 0)
    # ann's /profile meanwhile waits for her message held back (her events keep their
    # order: bot/core.py), then settles her learning
    shown = asyncio.ensure_future(core.handle(CommandEvent(
        event_id=next_id("cmd"), person=ann, name="profile", args="",
    )))
    await asyncio.sleep(0.1)
    release.set()
    assert (await asyncio.wait_for(reply, 10))[0].purpose == "chat"
    assert await asyncio.wait_for(observed, 10) == []
    assert "kubernetes" in (await asyncio.wait_for(shown, 10))[0].text.lower()
    await core.services.learner.flush()
    async with core.services.db.session() as session:
        views = await core.services.engine.interests(
            session, await person_id(core, ann), core.services.clock()
        )
    assert any("kubernetes" in view.topic for view in views), views
