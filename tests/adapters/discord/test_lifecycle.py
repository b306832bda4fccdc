"""Members leaving, missing privileged intents, presence context, threads, and buttons that
outlive the process that sent them."""

from __future__ import annotations

import discord
import pytest

from adapters.discord.client import build_client
from adapters.recent_texts import RecentText, RecentTextEraser
from bot.events import MessageEvent, PersonRef, Reply, ReplyKind, Surface
from bot.llm import ScriptedBackend
from profiles.models import ConversationTurn, Person
from tests.adapters.discord.conftest import MakeWorld, World

pytestmark = pytest.mark.asyncio_loop  # SimCord (conftest.py) needs asyncio's loop


async def test_member_leaving_forgets_them_when_configured(make_world: MakeWorld) -> None:
    world = await make_world(core_options={"forget_on_leave": True})
    await world.grant(world.alice)
    await world.alice.user.send_dm("my DM identity is separate")
    assert await world.person(world.alice.id, str(world.guild.id)) is not None

    world.guild.remove_member(world.alice)
    await world.env.settle()

    assert await world.person(world.alice.id, str(world.guild.id)) is None
    assert await world.person(world.alice.id, "dm") is not None  # other scopes untouched


async def test_the_bot_removed_from_a_server_forgets_its_people_when_configured(
    make_world: MakeWorld,
) -> None:
    """Kicked from a server, the bot never hears of its members leaving: with forget_on_leave
    they were kept for good (a Slack uninstall forgot them). A server outage ("unavailable")
    forgets nothing."""
    world = await make_world(core_options={"forget_on_leave": True})
    await world.grant(world.alice)
    await world.alice.user.send_dm("my DM identity is separate")
    guild = str(world.guild.id)

    world.env.backend.emit("GUILD_DELETE", {"id": guild, "unavailable": True})
    await world.env.settle()
    assert await world.person(world.alice.id, guild) is not None

    await world.bob.send(world.channel, "Bob never consented: zanzibarquux telemetry")
    await world.env.settle()
    [eraser] = [f for f in world.core.services.features if isinstance(f, RecentTextEraser)]
    texts = eraser._texts

    def kept() -> list[RecentText]:
        keys = texts.keys()  # an LRU, not a dict: no iteration of its own
        return [text for key in keys if (text := texts.get(key)) is not None]

    assert any("zanzibarquux" in text.text for text in kept())

    world.env.backend.emit("GUILD_DELETE", {"id": guild})
    await world.env.settle()
    assert await world.person(world.alice.id, guild) is None
    assert await world.person(world.alice.id, "dm") is not None  # other scopes untouched
    # the words of people without a row, kept for reactions to them, go with the server
    assert not any(text.workspace == guild for text in kept())


async def test_member_leaving_keeps_data_by_default(world: World) -> None:
    await world.grant(world.alice)

    world.guild.remove_member(world.alice)
    await world.env.settle()

    assert await world.person(world.alice.id, str(world.guild.id)) is not None


async def test_without_privileged_intents_dms_and_mentions_still_work(
    make_world: MakeWorld,
) -> None:
    world = await make_world(privileged=(), approved=discord.Intents.default())
    assert not world.client.intents.message_content

    await world.alice.user.send_dm("hello from a DM")
    await world.alice.send(world.channel, f"{world.bot_mention} hello from the server")

    dm = [m.content for m in world.bot_messages(world.dm(world.alice))]
    assert "(scripted) you said: hello from a DM" in dm
    assert world.bot_messages(world.channel)[0].content.endswith("hello from the server")
    result = await world.alice.slash(world.channel, "profile")
    assert result.response is not None and result.ephemeral


async def test_without_message_content_a_blank_reply_to_the_bot_is_left_alone(
    make_world: MakeWorld,
) -> None:
    """A reply to the bot with its ping turned off arrives blank without the message_content
    intent: it was "addressed", and its author got "I got an empty message" in their DMs."""
    from simcord.backend.models.message import AllowedMentions

    world = await make_world(privileged=(), approved=discord.Intents.default())
    await world.alice.send(world.channel, f"{world.bot_mention} first")
    [answer] = world.bot_messages(world.channel)
    backend = world.env.backend
    reference = backend.normalize_message_reference(
        world.channel.id, {"channel_id": str(world.channel.id), "message_id": str(answer.id)})
    quiet = AllowedMentions(replied_user=False)  # the reply's ping turned off
    backend.create_message(world.channel.id, world.alice.id, "and a follow-up",
                           reference=reference, allowed_mentions=quiet)
    await world.env.settle()

    assert len(world.bot_messages(world.channel)) == 1
    # (the DMs hold the consent question of the first mention, and nothing more)
    assert not any("empty" in m.content for m in world.bot_messages(world.dm(world.alice)))


async def test_presence_gives_device_and_activity_to_the_model(make_world: MakeWorld) -> None:
    llm = ScriptedBackend()
    world = await make_world(llm)
    await world.grant(world.alice)
    world.env.backend.emit("PRESENCE_UPDATE", {
        "user": {"id": str(world.alice.id)}, "guild_id": str(world.guild.id),
        "status": "online", "client_status": {"mobile": "online"},
        "activities": [{"name": "Minecraft", "type": 0}],
    })
    await world.env.settle()

    await world.alice.send(world.channel, f"{world.bot_mention} what should I build?")

    system = llm.requests[-1].system
    assert '"mobile"' in system
    assert '"playing Minecraft"' in system


async def test_messages_in_a_thread_the_bot_owns_need_no_mention(world: World) -> None:
    parent = world.client.get_channel(world.channel.id)
    assert isinstance(parent, discord.TextChannel)
    await parent.create_thread(name="tailorbot chat", type=discord.ChannelType.public_thread)
    await world.env.settle()
    (thread,) = world.channel.threads
    await world.grant(world.alice)

    await world.alice.send(thread, "no mention needed in here")

    (answer,) = world.bot_messages(thread)
    assert answer.content == "(scripted) you said: no mention needed in here"
    async with world.core.services.db.session() as session:
        turn = await session.get(ConversationTurn, 1)
    assert turn is not None and turn.thread_id == str(thread.id)
    assert turn.channel_id == str(thread.id)


async def test_buttons_keep_working_after_a_restart(world: World) -> None:
    await world.alice.user.send_dm("hello")
    notice = world.bot_messages(world.dm(world.alice))[-1]

    fresh = build_client(world.core, world.core.services.settings)
    await world.env.restart_bot(fresh)
    pressed = await world.alice.user.click(notice, label="Allow here only")

    assert pressed.followups[0].content.startswith("Thanks!")
    assert await world.consent(world.alice.id, "dm") == "granted"
    assert await world.count(Person) == 1


async def test_auto_sharded_client_answers_on_any_shard(make_world: MakeWorld) -> None:
    world = await make_world(sharded=True, shard_count=2, guild_shard=1)
    assert isinstance(world.client, discord.AutoShardedClient)
    assert world.client.get_guild(world.guild.id).shard_id == 1  # type: ignore[union-attr]

    await world.alice.send(world.channel, f"{world.bot_mention} hello shard")
    await world.alice.user.send_dm("hello from a DM")

    assert world.bot_messages(world.channel)[0].content.endswith("hello shard")
    dm = [m.content for m in world.bot_messages(world.dm(world.alice))]
    assert "(scripted) you said: hello from a DM" in dm


async def test_replies_replayed_after_a_database_outage_reach_discord(world: World) -> None:
    """The Discord deliverer (used when events kept during an outage are processed later)
    answers the original message; interaction tokens may be gone, so private answers go to
    DMs."""
    sent = await world.alice.send(world.channel, "kept while the database was away")
    world.client.adapter.install_delivery()
    deliver = world.core.services.deliverers["discord"]
    event = MessageEvent(
        event_id=str(sent.id),
        person=PersonRef("discord", str(world.guild.id), str(world.alice.id)),
        channel_id=str(world.channel.id), text=sent.content, surface=Surface.CHANNEL,
        message_id=str(sent.id), mentioned=True,
    )

    await deliver(event, [Reply(text="late answer"),
                                     Reply(text="just for you", kind=ReplyKind.EPHEMERAL)])
    await world.env.settle()

    (answer,) = world.bot_messages(world.channel)
    assert answer.content == "late answer"
    assert answer.reference is not None and answer.reference.message_id == sent.id
    assert world.bot_messages(world.dm(world.alice))[-1].content == "just for you"
    world.client.adapter.uninstall_delivery()
    assert "discord" not in world.core.services.deliverers
