"""Conversations: DMs and mentions reach the core, replies land where Discord users expect."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from simcord.enums import MessageType

from adapters.discord.invite import required_permissions
from bot.events import MessageEvent
from bot.features import FeatureBase
from profiles.models import Person, Signal
from tests.adapters.discord.conftest import World

pytestmark = pytest.mark.asyncio_loop  # SimCord (conftest.py) needs asyncio's loop


async def test_dm_reaches_core_and_reply_arrives(world: World) -> None:
    sent = await world.alice.user.send_dm("hello there")

    replies = world.bot_messages(world.dm(world.alice))
    assert replies[0].content == "(scripted) you said: hello there"
    assert replies[0].reference is not None and replies[0].reference.message_id == sent.id
    person = await world.person(world.alice.id, "dm")
    assert person is not None and person.display_name == "Alice"
    assert any(r.path.endswith("/typing") for r in world.env.http_requests)  # while it works


async def test_first_dm_gets_the_consent_notice_with_buttons(world: World) -> None:
    await world.alice.user.send_dm("hi")

    notice = world.bot_messages(world.dm(world.alice))[-1]
    assert notice.content.startswith("Hi! I can adapt to you")
    labels = [c.label for row in notice.components for c in row.children]  # type: ignore[attr-defined]
    assert labels == ["Allow in every server", "Allow here only", "Not now"]


async def test_guild_mention_is_answered_in_channel_as_a_reply(world: World) -> None:
    sent = await world.alice.send(world.channel, f"{world.bot_mention} what is a monad?")

    answer = world.bot_messages(world.channel)[0]
    assert answer.content == "(scripted) you said: what is a monad?"
    assert answer.reference is not None and answer.reference.message_id == sent.id
    assert await world.person(world.alice.id, str(world.guild.id)) is not None
    assert await world.person(world.alice.id, "dm") is None  # guild scope, not DM scope


async def test_reply_to_the_bot_counts_as_addressing_it(world: World) -> None:
    await world.alice.send(world.channel, f"{world.bot_mention} first")
    answer = world.bot_messages(world.channel)[0]

    await world.alice.send(world.channel, "and a follow-up", reply_to=answer)

    assert world.bot_messages(world.channel)[-1].content == "(scripted) you said: and a follow-up"


async def test_other_bots_are_ignored(world: World) -> None:
    other_bot = world.guild.add_member(world.env.create_user("otherbot", bot=True))
    await other_bot.send(world.channel, f"{world.bot_mention} beep boop, tell me about rust")
    await other_bot.user.send_dm("hello from a bot")

    assert world.bot_messages(world.channel) == []
    assert world.bot_messages(world.dm(other_bot)) == []
    assert await world.count(Person) == 0


async def test_unaddressed_messages_are_learned_from_but_never_answered(world: World) -> None:
    await world.grant(world.alice)
    await world.alice.send(world.channel, "kubernetes operators make cluster upgrades painless")
    await world.bob.send(world.channel, "sourdough starters need feeding twice a day")

    assert world.bot_messages(world.channel) == []
    alice = await world.person(world.alice.id, str(world.guild.id))
    assert alice is not None
    assert await world.count(Signal, Signal.person_id == alice.id) > 0  # consented
    assert await world.count(Signal, Signal.person_id != alice.id) == 0  # Bob did not
    # No typing indicator for messages the bot does not answer.
    assert not [r for r in world.env.http_requests if r.path.endswith("/typing")]


async def test_system_messages_are_ignored(world: World) -> None:
    await world.alice.send(world.channel, f"{world.bot_mention} hi")
    answer = world.bot_messages(world.channel)[0]
    # "Alice pinned a message": a system message that even references the bot's reply.
    world.guild.create_system_message(
        world.channel, MessageType.PINS_ADD, author=world.alice, referenced_message=answer
    )
    await world.env.settle()

    assert len(world.bot_messages(world.channel)) == 1


async def test_markup_is_normalised_before_the_core_sees_it(world: World) -> None:
    text = (
        f"{world.bot_mention} ask {world.bob.mention} about {world.channel.mention} "
        "<:partyblob:123456789012345678> at <t:1700000000:R>, not `<@42>`"
    )
    await world.alice.send(world.channel, text)

    assert world.bot_messages(world.channel)[0].content == (
        "(scripted) you said: ask @Bob about #general :partyblob: at 2023-11-14 22:13 UTC, "
        "not `<@42>`"
    )


async def test_the_invite_permissions_are_enough(world: World) -> None:
    """In a channel where the bot has exactly what the invite URL asks for and nothing
    else, conversations, typing and streaming still work (SimCord checks permissions)."""
    allowed = required_permissions()
    denied = discord.Permissions(discord.Permissions.all().value & ~allowed.value)
    me = world.guild.me
    assert me is not None
    strict = world.guild.create_text_channel(
        "strict", overwrites={me: discord.PermissionOverwrite.from_pair(allowed, denied)}
    )
    await world.grant(world.alice)

    sent = await world.alice.send(strict, f"{world.bot_mention} are you allowed to answer?")

    (answer,) = world.bot_messages(strict)
    assert answer.reference is not None and answer.reference.message_id == sent.id
    assert answer.components  # feedback buttons need no permission


async def test_private_answers_never_go_public_when_dms_are_closed(world: World) -> None:
    dm = world.dm(world.alice)
    world.env.inject_error("POST", f"/channels/{dm.id}/messages", status=403, code=50007,
                           message="Cannot send messages to this user", times=None)

    await world.alice.send(world.channel, f"{world.bot_mention} hi")
    await world.alice.send(world.channel, f"{world.bot_mention} /profile")

    public = [m.content for m in world.bot_messages(world.channel)]
    assert public[0] == "(scripted) you said: hi"
    assert public[1].startswith("Hi! I can adapt to you")  # the consent notice is not personal
    assert public[2].startswith("I wanted to answer you privately")  # the profile is
    assert len(public) == 3
    assert world.bot_messages(dm) == []


async def test_a_command_typed_to_nobody_is_not_run(world: World) -> None:
    await world.grant(world.alice)

    await world.alice.send(world.channel, "/forget confirm")  # quoted, not addressed to the bot

    assert await world.person(world.alice.id, str(world.guild.id)) is not None
    await world.alice.send(world.channel, f"{world.bot_mention} /consent")
    assert "Consent: granted" in world.bot_messages(world.dm(world.alice))[-1].content


async def test_observed_messages_say_whether_the_channel_is_private(world: World) -> None:
    seen: list[MessageEvent] = []

    class Observer(FeatureBase):
        name = "observer"

        async def observe(
            self, session: Any, person: Any, event: MessageEvent, signals: Any
        ) -> None:
            seen.append(event)

    world.core.services.features.register(Observer())
    hidden = world.guild.create_text_channel("staff", overwrites={
        world.guild.default_role: discord.PermissionOverwrite(view_channel=False),
        world.alice: discord.PermissionOverwrite(view_channel=True),
    })
    await world.grant(world.alice)

    await world.alice.send(world.channel, "public talk about gardening tomatoes")
    await world.alice.send(hidden, "private talk about salary negotiations")

    assert [(e.text.split()[0], e.channel_private, e.mentioned) for e in seen] == [
        ("public", False, False), ("private", True, False),
    ]


async def test_a_press_by_someone_else_leaves_the_prompt_for_its_owner(world: World) -> None:
    """With DMs closed the consent notice goes into the channel; Bob pressing "Allow" on
    Alice's notice decides for Bob only, and Alice's buttons stay."""
    dm = world.dm(world.alice)
    world.env.inject_error("POST", f"/channels/{dm.id}/messages", status=403, code=50007,
                           message="Cannot send messages to this user", times=None)
    await world.alice.send(world.channel, f"{world.bot_mention} hi")
    notice = next(m for m in world.bot_messages(world.channel) if m.components)

    await world.bob.click(notice, label="Allow here only")

    refreshed = next(m for m in world.bot_messages(world.channel) if m.id == notice.id)
    assert refreshed.components, "Alice's question lost its buttons to Bob's press"
    assert await world.consent(world.bob.id, str(world.guild.id)) == "granted"
    assert await world.consent(world.alice.id, str(world.guild.id)) != "granted"

    await world.alice.click(refreshed, label="Allow here only")
    done = next(m for m in world.bot_messages(world.channel) if m.id == notice.id)
    assert not done.components  # the owner's answer closes the question
    assert await world.consent(world.alice.id, str(world.guild.id)) == "granted"
