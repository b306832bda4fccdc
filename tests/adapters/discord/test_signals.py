"""Consent, feedback and implicit signals end to end — and that a gateway replay of the same
event never counts twice."""

from __future__ import annotations

import contextlib

import pytest
from simcord.backend import serializers
from sqlalchemy import select

from profiles.models import Feedback, Interest, Signal
from tests.adapters.discord.conftest import World

pytestmark = pytest.mark.asyncio_loop  # SimCord (conftest.py) needs asyncio's loop


async def test_allow_button_grants_consent(world: World) -> None:
    await world.alice.user.send_dm("hello")
    notice = world.bot_messages(world.dm(world.alice))[-1]

    pressed = await world.alice.user.click(notice, label="Allow here only")

    assert await world.consent(world.alice.id, "dm") == "granted"
    assert pressed.followups[0].content.startswith("Thanks! I'll learn from your messages")
    assert pressed.followups[0].ephemeral
    assert world.bot_messages(world.dm(world.alice))[-1].components == []  # buttons gone


async def test_not_now_button_declines(world: World) -> None:
    await world.alice.user.send_dm("hello")
    notice = world.bot_messages(world.dm(world.alice))[-1]

    pressed = await world.alice.user.click(notice, label="Not now")

    assert pressed.followups[0].content.startswith("No problem")
    # a "no", recorded as one (left unanswered, an opt-out workspace would learn from her)
    assert await world.consent(world.alice.id, "dm") == "revoked"


async def test_consent_asked_in_a_server_is_answered_privately_for_that_server(
    world: World,
) -> None:
    await world.alice.send(world.channel, f"{world.bot_mention} hi")

    # The chat answer is public; the consent notice goes to Alice's DMs, not the channel.
    assert [m.content for m in world.bot_messages(world.channel)] == [
        "(scripted) you said: hi"
    ]
    notice = world.bot_messages(world.dm(world.alice))[-1]
    assert notice.content.startswith("Hi! I can adapt to you")

    await world.alice.user.click(notice, label="Allow here only")

    # Pressed in a DM, but it answers the question asked in the server.
    assert await world.consent(world.alice.id, str(world.guild.id)) == "granted"
    assert await world.person(world.alice.id, "dm") is None


async def test_reaction_on_the_bots_reply_is_feedback(world: World) -> None:
    await world.grant(world.alice, in_dm=True)
    await world.alice.user.send_dm("tell me about sourdough bread baking")
    answer = world.bot_messages(world.dm(world.alice))[-1]

    await world.alice.user.set_reaction(answer, "👍", reacted=True)

    async with world.core.services.db.session() as session:
        rows = (await session.exec(select(Feedback))).scalars().all()
    assert [(r.value, r.emoji, r.source) for r in rows] == [(1, "👍", "reaction")]

    await world.alice.user.set_reaction(answer, "👍", reacted=False)
    assert await world.count(Feedback) == 0  # a removed reaction takes back what it gave


async def test_feedback_buttons_on_replies(world: World) -> None:
    await world.grant(world.alice)
    await world.alice.send(world.channel, f"{world.bot_mention} tell me about sourdough baking")
    answer = world.bot_messages(world.channel)[-1]

    pressed = await world.alice.click(answer, label=None, custom_id=_custom_id(answer, "👎"))

    assert pressed.ephemeral
    assert pressed.response is not None
    assert pressed.response.content == "Thanks for the feedback!"
    # Feedback buttons stay (people may change their mind).
    assert world.bot_messages(world.channel)[-1].components
    async with world.core.services.db.session() as session:
        rows = (await session.exec(select(Feedback))).scalars().all()
    assert [(r.value, r.source) for r in rows] == [(-1, "button")]


async def test_reaction_elsewhere_is_an_interest_signal(world: World) -> None:
    await world.grant(world.alice)
    await world.grant(world.bob)  # the author's consent counts too
    post = await world.bob.send(
        world.channel, "Kubernetes operators make cluster upgrades painless"
    )

    await world.alice.react(post, "🔥")

    person = await world.person(world.alice.id, str(world.guild.id))
    assert person is not None
    assert await world.count(Signal, Signal.person_id == person.id) > 0


async def test_a_message_s_text_is_read_once_and_forgotten_with_its_author(
    world: World,
) -> None:
    """A reaction on a message outside discord.py's cache fetched it over REST every time
    (discord.py caches no fetched message): one GET per click on a popular old post. And
    discord.py's own cache kept a forgotten author's words, which a colleague's reaction then
    learned from. The adapter keeps the texts itself (seen or fetched once), and the author's
    /forget drops them."""
    from adapters.discord.translate import person_ref

    await world.grant(world.alice)
    await world.grant(world.bob)
    post = await world.bob.send(world.channel, "Kubernetes operators make upgrades painless")
    assert not world.client.cached_messages  # discord.py keeps no copy

    def fetches() -> int:
        return len([r for r in world.env.http_requests
                    if r.method == "GET" and r.path.endswith(f"/messages/{post.id}")])

    await world.alice.react(post, "🔥")
    assert fetches() == 0  # seen when it was posted
    assert await world.core.forget_ref(person_ref(world.bob.id, world.guild.id))
    await world.env.settle()
    await world.alice.react(post, "🎉")
    await world.alice.react(post, "🚀")
    assert fetches() == 1  # their words were not kept past their /forget; read once again


async def test_an_edit_or_a_deletion_takes_the_kept_text_back(world: World) -> None:
    """The kept text of a message was the first one: a reaction after an edit learned from
    words its author took back, after a deletion from words they removed."""
    await world.grant(world.alice)
    await world.grant(world.bob)
    edited = await world.bob.send(world.channel, "Kubernetes operators are painless")
    deleted = await world.bob.send(world.channel, "Terraform modules everywhere")
    await world.bob.edit(edited, "Sourdough starters are painless")
    await world.bob.delete(deleted)
    await world.env.settle()
    for post in (edited, deleted):
        with contextlib.suppress(Exception):  # reacting to a deleted message may be refused
            await world.alice.react(post, "🔥")
    person = await world.person(world.alice.id, str(world.guild.id))
    assert person is not None
    async with world.core.services.db.session() as session:
        found = await session.exec(select(Signal.value).where(Signal.person_id == person.id))
        learned = " ".join(value for (value,) in found.all())
    assert "sourdough" in learned
    assert "kubernetes" not in learned and "terraform" not in learned


async def test_a_reaction_never_teaches_a_mentioned_colleague_s_name(world: World) -> None:
    """The reacted-to text reads "@Ada Lovelace shipped …": the reactor learned "lovelace"
    (a message's own mentions were never topics; a reaction's target's were)."""
    ada = world.guild.add_member(world.env.create_user("ada", global_name="Ada Lovelace"))
    await world.env.settle()
    await world.grant(world.alice)
    await world.grant(world.bob)
    post = await world.bob.send(
        world.channel, f"<@{ada.id}> shipped the new kubernetes operator for Grafana dashboards"
    )

    await world.alice.react(post, "🔥")

    person = await world.person(world.alice.id, str(world.guild.id))
    assert person is not None
    async with world.core.services.db.session() as session:
        found = await session.exec(select(Interest.topic).where(Interest.person_id == person.id))
        topics = {topic for (topic,) in found.all()}
    assert topics and not any("lovelace" in t or "ada" in t.split() for t in topics), topics


async def test_a_replayed_message_event_is_not_counted_twice(world: World) -> None:
    await world.grant(world.alice)
    sent = await world.alice.send(
        world.channel, f"{world.bot_mention} I love rust programming and compiler design"
    )
    signals = await world.count(Signal)
    evidence = await _evidence(world)
    assert signals > 0 and evidence > 0

    # A gateway RESUME replays MESSAGE_CREATE: discord.py dispatches on_message again.
    stored = world.env.backend.get_message(world.channel.id, sent.id)
    world.env.backend.emit("MESSAGE_CREATE", serializers.message_payload(world.env.backend, stored))
    await world.env.settle()

    assert await world.count(Signal) == signals
    assert await _evidence(world) == evidence
    assert len(world.bot_messages(world.channel)) == 1  # and it is not answered twice


async def test_a_replayed_reaction_is_not_counted_twice(world: World) -> None:
    await world.grant(world.alice)
    await world.alice.send(world.channel, f"{world.bot_mention} explain sourdough starters")
    answer = world.bot_messages(world.channel)[-1]
    await world.alice.react(answer, "👍")
    assert await world.count(Feedback) == 1

    payload = {
        "user_id": str(world.alice.id), "channel_id": str(world.channel.id),
        "message_id": str(answer.id), "guild_id": str(world.guild.id),
        "emoji": {"id": None, "name": "👍"}, "burst": False, "type": 0,
    }
    world.env.backend.emit("MESSAGE_REACTION_ADD", payload)
    await world.env.settle()

    assert await world.count(Feedback) == 1


def _custom_id(message: object, emoji: str) -> str:
    for row in message.components:  # type: ignore[attr-defined]
        for button in row.children:
            if str(button.emoji) == emoji:
                return str(button.custom_id)
    raise AssertionError(f"no {emoji} button")


async def _evidence(world: World) -> int:
    async with world.core.services.db.session() as session:
        rows = (await session.exec(select(Interest.evidence_count))).scalars().all()
    return sum(rows)
