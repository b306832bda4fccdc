"""Discord objects → platform-neutral events. No I/O: everything here reads what discord.py
already parsed, so a translation can never block or fail on the network.

Identity and scope
------------------
A person is ``PersonRef("discord", workspace, str(user.id))``. The workspace is the guild id,
so the same human in two servers is two people whose data never meets (the core's rule). A
direct message has no guild: DMs use the single workspace ``"dm"`` — one private identity per
Discord user for everything said to the bot one-to-one. It is deliberately *not* merged with
any guild identity: a DM cannot tell which server the person knows the bot from, and guessing
would move data across guild scopes.

The one exception is a button the bot itself sent into a DM on behalf of a guild conversation
(a private answer to something said in a server, e.g. the consent notice): its ``custom_id``
carries the guild scope, and a press inside that DM counts for the presser's identity in that
guild (only the DM's owner can press it). See :mod:`adapters.discord.views`.

Event ids (the core drops events whose id it has seen, per workspace)
---------------------------------------------------------------------
* message: the message snowflake — a gateway RESUME that replays MESSAGE_CREATE is dropped;
* slash command / button: the interaction snowflake;
* reaction: ``"{message_id}:{user_id}:{emoji}:add|remove"`` — raw reaction events carry no
  id of their own, so a replay of the same add is dropped. Consequence, documented in
  docs/discord.md: toggling the same reaction off and on again counts its first add only.
"""

from __future__ import annotations

import discord

from bot.events import (
    ActionEvent,
    CommandEvent,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Surface,
)

PLATFORM = "discord"
DM_WORKSPACE = "dm"
MAX_ACTIVITY_CHARS = 100


def workspace_for(guild_id: int | None) -> str:
    return str(guild_id) if guild_id is not None else DM_WORKSPACE


def person_ref(
    user_id: int,
    guild_id: int | None,
    display_name: str | None = None,
    *,
    workspace: str | None = None,
) -> PersonRef:
    return PersonRef(PLATFORM, workspace or workspace_for(guild_id), str(user_id), display_name)


_THREAD_TYPES = (
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
)


def surface_of(channel: object) -> Surface:
    if isinstance(channel, discord.Thread):
        return Surface.THREAD
    if isinstance(channel, discord.abc.GuildChannel):
        return Surface.CHANNEL
    if isinstance(channel, discord.PartialMessageable):  # uncached channel of an interaction
        if channel.type in _THREAD_TYPES:
            return Surface.THREAD
        return Surface.CHANNEL if channel.guild_id else Surface.DM
    return Surface.DM


def is_private(channel: object) -> bool:
    """A DM, a private thread, or a channel @everyone cannot see (what a public summary of a
    server must leave out)."""
    if isinstance(channel, discord.Thread):
        if channel.type is discord.ChannelType.private_thread:
            return True
        channel = channel.parent
    if isinstance(channel, discord.abc.GuildChannel):
        return not channel.permissions_for(channel.guild.default_role).view_channel
    return channel is None or isinstance(channel, discord.DMChannel | discord.GroupChannel)


def presence_context(member: discord.Member | None) -> tuple[str | None, str | None]:
    """(device, activity) from a cached member's presence; (None, None) without the
    ``presences`` intent (every member then looks offline and has no activity)."""
    if member is None:
        return None, None
    device = None
    statuses = (
        ("desktop", member.desktop_status),
        ("mobile", member.mobile_status),
        ("web", member.web_status),
    )
    for wanted in (discord.Status.online, discord.Status.idle, discord.Status.dnd):
        device = next((name for name, status in statuses if status == wanted), None)
        if device:
            break
    return device, describe_activity(member.activity)


_VERBS: dict[object, str] = {
    discord.ActivityType.playing: "playing",
    discord.ActivityType.streaming: "streaming",
    discord.ActivityType.listening: "listening to",
    discord.ActivityType.watching: "watching",
    discord.ActivityType.competing: "competing in",
}


def describe_activity(activity: object) -> str | None:
    if activity is None:
        return None
    if isinstance(activity, discord.CustomActivity):
        text = activity.name or ""
    elif isinstance(activity, discord.Spotify):
        text = f"listening to {activity.title} by {activity.artist}"
    else:
        name = getattr(activity, "name", None)
        verb = _VERBS.get(getattr(activity, "type", None))
        text = f"{verb} {name}" if verb and name else (name or "")
    text = " ".join(text.split())
    return text[:MAX_ACTIVITY_CHARS] or None


def message_event(
    message: discord.Message, text: str, *, mentioned: bool, context: PlatformContext
) -> MessageEvent:
    channel = message.channel
    surface = surface_of(channel)
    guild_id = message.guild.id if message.guild is not None else None
    return MessageEvent(
        event_id=str(message.id),
        person=person_ref(message.author.id, guild_id, message.author.display_name),
        channel_id=str(channel.id),
        occurred_at=message.created_at,
        context=context,
        text=text,
        surface=surface,
        message_id=str(message.id),
        thread_id=str(channel.id) if surface is Surface.THREAD else None,
        mentioned=mentioned,
        channel_private=is_private(channel),
        mentioned_names=mentioned_names(message),
    )


def mentioned_names(message: discord.Message) -> tuple[str, ...]:
    """The names a message's mentions appear under, never to be read as its topics."""
    return tuple(
        name for user in message.mentions for name in {user.display_name, user.name} if name
    )


def emoji_text(emoji: discord.PartialEmoji) -> str:
    """Unicode emoji as themselves; custom emoji as ``:name:`` (what the feedback reader and
    people understand; the id means nothing outside this server)."""
    if emoji.is_unicode_emoji():
        return emoji.name
    return f":{emoji.name or 'emoji'}:"


def reaction_event_id(payload: discord.RawReactionActionEvent) -> str:
    emoji = payload.emoji
    key = str(emoji.id) if emoji.id else emoji.name
    action = "add" if payload.event_type == "REACTION_ADD" else "remove"
    return f"{payload.message_id}:{payload.user_id}:{key}:{action}"


def reaction_event(
    payload: discord.RawReactionActionEvent,
    *,
    display_name: str | None,
    target_author_id: int | None,
    target_text: str | None,
    target_mentioned_names: tuple[str, ...] = (),
) -> ReactionEvent:
    return ReactionEvent(
        event_id=reaction_event_id(payload),
        person=person_ref(payload.user_id, payload.guild_id, display_name),
        channel_id=str(payload.channel_id),
        target_message_id=str(payload.message_id),
        emoji=emoji_text(payload.emoji),
        added=payload.event_type == "REACTION_ADD",
        target_author_id=str(target_author_id) if target_author_id is not None else None,
        target_text=target_text,
        target_mentioned_names=target_mentioned_names,
    )


def interaction_context(interaction: discord.Interaction) -> PlatformContext:
    """Interactions carry the person's client language (``en-US``); messages do not. In a
    server they also carry the member's resolved permissions: Manage Server makes an admin."""
    locale = interaction.locale
    admin = interaction.guild_id is not None and bool(
        getattr(interaction.permissions, "manage_guild", False))
    return PlatformContext(locale=str(locale.value) if locale else None, admin=admin)


def interaction_person(
    interaction: discord.Interaction, *, workspace: str | None = None
) -> PersonRef:
    user = interaction.user
    return person_ref(user.id, interaction.guild_id, user.display_name, workspace=workspace)


def command_event(interaction: discord.Interaction, name: str, args: str) -> CommandEvent:
    return CommandEvent(
        event_id=str(interaction.id),
        person=interaction_person(interaction),
        channel_id=str(interaction.channel_id or ""),
        occurred_at=interaction.created_at,
        context=interaction_context(interaction),
        name=name,
        args=args,
        surface=surface_of(interaction.channel),
    )


def action_event(
    interaction: discord.Interaction, action_id: str, value: str, scope: str | None
) -> ActionEvent:
    """``scope`` is the workspace the button was sent for; it only counts inside a DM (see
    the module docstring), anywhere else the interaction's own guild decides."""
    workspace = scope if interaction.guild_id is None and scope else None
    message = interaction.message
    return ActionEvent(
        event_id=str(interaction.id),
        person=interaction_person(interaction, workspace=workspace),
        channel_id=str(interaction.channel_id or ""),
        occurred_at=interaction.created_at,
        context=interaction_context(interaction),
        action_id=action_id,
        value=value,
        target_message_id=str(message.id) if message is not None else None,
    )
