"""Slash commands: ephemeral answers, /prefs with autocomplete, /export's file, /forget's
confirmation buttons — asserted on what the person sees and on the database."""

from __future__ import annotations

import json

import discord
import pytest
from sqlalchemy import select

from bot.commands import REGISTRY, CommandContext, CommandSpec
from bot.events import Reply
from profiles.models import Interest, Person, Preference, Signal
from tests.adapters.discord.conftest import MakeWorld, World

pytestmark = pytest.mark.asyncio_loop  # SimCord (conftest.py) needs asyncio's loop


async def test_commands_are_synced_for_servers_and_dms(world: World) -> None:
    in_guild = set(world.alice.available_commands(world.channel))
    in_dm = set(world.alice.user.available_commands())

    expected = {"profile", "consent", "export", "forget", "help",
                "prefs show", "prefs set", "prefs reset"}
    assert expected <= in_guild
    assert expected <= in_dm


async def test_profile_is_ephemeral_in_a_server_and_answers_in_dms(world: World) -> None:
    result = await world.alice.slash(world.channel, "profile")

    assert result.ephemeral
    assert result.response is not None
    assert "haven't allowed me to learn" in result.response.content
    assert world.channel.history(viewer=world.bob) == []  # nobody else sees it

    in_dm = await world.alice.user.slash("profile")
    assert in_dm.response is not None and "How I'll answer you" in in_dm.response.content


async def test_prefs_autocomplete_offers_valid_keys_and_values(world: World) -> None:
    keys = await world.alice.autocomplete(world.channel, "prefs set", "key", "to")
    assert [choice["value"] for choice in keys] == ["tone", "avoid_topics"]
    assert keys[0]["name"] == "tone — how I sound"

    values = await world.alice.autocomplete(world.channel, "prefs set", "value", "", key="tone")
    assert [choice["value"] for choice in values] == ["casual", "neutral", "formal"]

    digests = await world.alice.autocomplete(world.channel, "prefs set", "value", "week",
                                             key="digest")
    assert [choice["value"] for choice in digests] == ["weekdays", "weekly"]

    zones = await world.alice.autocomplete(world.channel, "prefs set", "value", "paris",
                                           key="timezone")
    assert [choice["value"] for choice in zones] == ["Europe/Paris"]


async def test_prefs_set_saves_an_explicit_preference(world: World) -> None:
    result = await world.alice.slash(world.channel, "prefs set", key="tone", value="casual")

    assert result.ephemeral
    assert result.response is not None
    assert result.response.content.startswith("Saved: tone = casual")
    person = await world.person(world.alice.id, str(world.guild.id))
    assert person is not None
    async with world.core.services.db.session() as session:
        rows = (await session.exec(select(Preference).where(
            Preference.person_id == person.id))).scalars().all()
    assert [(r.key, r.value, r.source) for r in rows] == [("tone", "casual", "explicit")]

    shown = await world.alice.slash(world.channel, "prefs show")
    assert shown.response is not None and "• tone: casual — set by you" in shown.response.content


async def test_prefs_set_with_a_value_with_spaces_and_quotes(world: World) -> None:
    result = await world.alice.slash(world.channel, "prefs set", key="avoid_topics",
                                     value="crypto, the 80's")
    assert result.response is not None
    assert result.response.content.startswith("Saved: avoid_topics = crypto, the 80's")


async def test_export_sends_the_file_by_dm_and_says_so_ephemerally(world: World) -> None:
    await world.grant(world.alice)
    result = await world.alice.slash(world.channel, "export")

    assert result.ephemeral
    assert result.response is not None and "direct message" in result.response.content
    dm = world.bot_messages(world.dm(world.alice))[-1]
    assert dm.content.startswith("Here is everything I store about you")
    (attachment,) = dm.attachments
    assert attachment.filename == f"tailorbot-export-discord-{world.alice.id}.json"
    data = json.loads(await attachment.read())
    assert data["person"]["workspace"] == str(world.guild.id)


async def test_export_in_a_dm_comes_as_the_answer_itself(world: World) -> None:
    result = await world.alice.user.slash("export")

    assert result.response is not None
    (attachment,) = result.response.attachments
    assert attachment.filename.endswith(".json")


async def test_forget_asks_with_buttons_and_confirm_deletes_the_rows(world: World) -> None:
    await world.grant(world.alice)
    await world.alice.send(world.channel, f"{world.bot_mention} I love rust and compilers")
    assert await world.count(Signal) > 0

    asked = await world.alice.slash(world.channel, "forget")
    assert asked.ephemeral and asked.response is not None
    labels = [c["label"] for row in asked.response.components for c in row["components"]]
    assert labels == ["Delete everything", "Cancel"]

    pressed = await world.alice.click(asked.response, label="Delete everything")

    assert "I deleted everything about you" in pressed.followups[0].content
    assert pressed.followups[0].ephemeral
    assert asked.response.components == []  # the question cannot be answered twice
    assert await world.person(world.alice.id, str(world.guild.id)) is None
    assert await world.count(Signal) == 0
    assert await world.count(Interest) == 0


async def test_forget_cancel_keeps_everything(world: World) -> None:
    await world.grant(world.alice)
    asked = await world.alice.slash(world.channel, "forget")
    assert asked.response is not None

    pressed = await world.alice.click(asked.response, label="Cancel")

    assert pressed.followups[0].content == "Okay, nothing was deleted."
    assert await world.count(Person) == 1


async def test_commands_added_to_the_core_later_appear_generically(
    make_world: MakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def echo(ctx: CommandContext, args: list[str]) -> list[Reply]:
        return [ctx.reply(f"args={args}")]

    monkeypatch.setitem(REGISTRY, "echo", CommandSpec(
        "echo", "repeat things", ["/echo", "/echo say <words>"], echo, subcommands=("say",)
    ))
    monkeypatch.setitem(REGISTRY, "shout", CommandSpec(
        "shout", "say it loud", ["/shout <words>"], echo
    ))
    world = await make_world()

    said = await world.alice.slash(world.channel, "echo", action="say", args="hello world")
    bare = await world.alice.slash(world.channel, "echo")
    shout = await world.alice.slash(world.channel, "shout", args="hey")

    assert said.response is not None and said.response.content == "args=['say', 'hello', 'world']"
    assert bare.response is not None and bare.response.content == "args=[]"
    assert shout.response is not None and shout.response.content == "args=['hey']"


async def test_admin_is_recognised_from_manage_server(world: World) -> None:
    """Discord's own permission decides: a member with Manage Server may use /admin, and the
    exclusion stops learning in that channel; others are refused."""
    from bot.commands.admin import NOT_ADMIN
    from profiles.admin_models import ChannelPolicy

    mods = world.guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
    carol = world.guild.add_member(world.env.create_user("carol", global_name="Carol"),
                                   roles=[mods])
    await world.env.settle()

    refused = await world.alice.slash(world.channel, "admin", action="exclude",
                                      args="learning here")
    assert refused.response is not None and refused.response.content == NOT_ADMIN
    assert await world.count(ChannelPolicy) == 0

    done = await carol.slash(world.channel, "admin", action="exclude", args="learning here")
    assert done.ephemeral and done.response is not None
    assert "excluded from learning" in done.response.content
    assert await world.count(ChannelPolicy, ChannelPolicy.channel_id == str(world.channel.id)) == 1

    await world.grant(world.alice)
    await world.alice.send(world.channel, "Kubernetes operators make cluster automation calm")
    await world.env.settle()
    assert await world.count(Signal) == 0


async def test_admin_sets_workspace_defaults_from_discord(world: World) -> None:
    """The same /admin (one registry) sets a server's defaults on Discord, for Manage Server
    holders only, and names a channel by Discord's mention markup."""
    from profiles.admin_models import AdminAudit, ChannelPolicy, WorkspaceDefault

    mods = world.guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
    carol = world.guild.add_member(world.env.create_user("carol", global_name="Carol"),
                                   roles=[mods])
    await world.env.settle()

    refused = await world.alice.slash(world.channel, "admin", action="set",
                                      args="retention conversations 30")
    assert refused.response is not None and "Only workspace admins" in refused.response.content
    done = await carol.slash(world.channel, "admin", action="set",
                             args="retention conversations 30")
    assert done.response is not None
    assert "retention of conversations: 30 days (set for this workspace)" in (
        done.response.content)
    assert await world.count(WorkspaceDefault) == 1
    assert await world.count(AdminAudit, AdminAudit.action == "default.set") == 1

    mention = f"<#{world.channel.id}>"
    excluded = await carol.slash(world.channel, "admin", action="exclude",
                                 args=f"digest {mention}")
    assert excluded.response is not None and "excluded from digests" in excluded.response.content
    assert await world.count(ChannelPolicy, ChannelPolicy.channel_id == str(world.channel.id)) == 1


async def test_memory_and_prefs_keep_apostrophes_and_quotes(world: World) -> None:
    """The core keeps free text as typed (input audit): /memory's args with an apostrophe
    were refused as an unclosed quote, and /prefs set sent a shell-quoted value."""
    result = await world.alice.slash(world.channel, "memory", action="add",
                                     args="I'm vegetarian, see \"centro\"")
    assert result.response is not None
    assert "“I'm vegetarian, see \"centro\"”" in result.response.content
    result = await world.alice.slash(world.channel, "prefs set", key="avoid_topics",
                                     value="rock'n'roll, politique")
    assert result.response is not None
    assert result.response.content.startswith("Saved: avoid_topics = rock'n'roll, politique.")
