"""The discord.py client and the adapter that glues its events to the core.

What the bot answers
--------------------
* every direct message;
* in servers: messages that mention it (``@tailorbot``, or its managed role), replies to
  its own messages, and anything in a thread the bot owns;
* other server messages go to the core *observed only*: it learns from people who
  consented and never answers them (no typing indicator either); empty ones (no
  ``message_content`` intent, image-only) and typed ``/commands`` addressed to nobody are
  not sent at all;
* never: other bots (itself included), webhooks, system messages (joins, pins, boosts...).
* Edits and deletions are deliberately ignored: an edit is not a new message (answering or
  learning again would double-count it), and a deleted message's signals are erased with
  ``/forget``, not per message — the core has no per-message deletion.

Intents (docs/discord.md has the table)
---------------------------------------
Always: ``guilds``, ``guild_messages``, ``dm_messages``, ``guild_reactions``,
``dm_reactions``. Privileged, each optional and each degrading gracefully:

* ``message_content`` — learn from server messages not addressed to the bot, read messages
  in the bot's threads that don't mention it, and the text of a reacted-to message
  (interest signals). Without it DMs, mentions and replies to the bot still work: Discord
  always shows a bot those.
* ``members`` — ``forget_on_leave`` (member removal events, and the member lists that find
  who left while the bot was disconnected: adapters/discord/reconcile.py).
* ``presences`` — device (desktop/mobile/web) and activity as context for the model (used
  by the core only for people who consented).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import build_tree
from adapters.discord.delivery import Delivery, Origin
from adapters.discord.markup import Names, normalise
from adapters.discord.reconcile import Reconciler
from adapters.discord.stream import DEFAULT_INTERVAL, StreamingReply
from adapters.discord.translate import (
    PLATFORM,
    action_event,
    command_event,
    mentioned_names,
    message_event,
    person_ref,
    presence_context,
    reaction_event,
    workspace_for,
)
from adapters.discord.views import ActionButton
from adapters.lru import LRU
from adapters.recent_texts import RecentText, RecentTextEraser
from bot.commands import ACTION_COMMANDS
from bot.config import Settings
from bot.core import Core
from bot.events import AnyEvent, PlatformContext, Reply
from bot.i18n import N_, t

# A text bot never joins voice: without this, every client logs at start that PyNaCl and
# davey (voice libraries) are missing — a warning an operator can do nothing about.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

log = logging.getLogger(__name__)

PRIVILEGED_INTENTS = frozenset({"message_content", "members", "presences"})
RECENT_TEXTS = 2000  # texts of recent messages kept for reactions to them
SOMETHING_WENT_WRONG = N_(  # catalog text, in the person's Discord locale
    "Sorry, something went wrong on my side. Please try again in a moment."
)
SAFE_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=False, replied_user=True)
"""Replies echo people's words and model output: they must never ping @everyone, roles or
users; only the person being answered is notified (the reply ping)."""


def build_intents(privileged: Iterable[str] = ()) -> discord.Intents:
    wanted = set(privileged)
    unknown = wanted - PRIVILEGED_INTENTS
    if unknown:
        raise ValueError(f"unknown privileged intents: {', '.join(sorted(unknown))}")
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    for name in wanted:
        setattr(intents, name, True)
    return intents


def default_privileged(settings: Settings) -> frozenset[str]:
    """Ask for message content (dropped automatically when not approved in the portal) and,
    when the deployment forgets people who leave, for member events."""
    wanted = {"message_content"}
    if settings.forget_on_leave:
        wanted.add("members")
    return frozenset(wanted)


class TailorClient(discord.Client):
    """A plain ``discord.Client``; the adapter hangs itself and the command tree on it."""

    adapter: DiscordAdapter
    tree: app_commands.CommandTree[Any]


class ShardedTailorClient(discord.AutoShardedClient):
    """The same for large deployments: shards in one process; several processes can split
    the shards (``shard_ids``) because all state lives in the database."""

    adapter: DiscordAdapter
    tree: app_commands.CommandTree[Any]


AnyClient = TailorClient | ShardedTailorClient


def build_client(
    core: Core,
    settings: Settings,
    *,
    privileged: Iterable[str] | None = None,
    sharded: bool = False,
    shard_count: int | None = None,
    shard_ids: list[int] | None = None,
    stream_interval: float = DEFAULT_INTERVAL,
    feedback_buttons: bool = True,
) -> AnyClient:
    intents = build_intents(default_privileged(settings) if privileged is None else privileged)
    options: dict[str, Any] = {
        "intents": intents,
        "allowed_mentions": SAFE_MENTIONS,
        # Member lists are read only to find who left while the bot was away, with
        # forget_on_leave, and after READY rather than before it (adapters/discord/reconcile.py).
        "chunk_guilds_at_startup": False,
        # discord.py's own cache of the last 1,000 messages kept a forgotten author's words
        # (and fed them to a colleague's reaction): the adapter keeps the texts it needs
        # itself, where the core's deletion contract reaches them (DiscordAdapter._texts).
        "max_messages": None,
    }
    client: AnyClient
    if sharded or shard_count is not None or shard_ids:
        if shard_ids:
            options["shard_ids"] = shard_ids
        client = ShardedTailorClient(shard_count=shard_count, **options)
    else:
        client = TailorClient(**options)
    DiscordAdapter(core, settings, client, stream_interval=stream_interval,
                   feedback_buttons=feedback_buttons)
    return client


@contextlib.asynccontextmanager
async def typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """The typing indicator while the core works; a channel that refuses it (missing
    permission, closed DM) just gets no indicator."""
    indicator = channel.typing()
    try:
        await indicator.__aenter__()
    except discord.HTTPException as exc:
        log.debug("no typing indicator: %s", exc)
        yield
        return
    try:
        yield
    finally:
        await indicator.__aexit__(None, None, None)


class DiscordAdapter:
    """Translates discord.py events into core events and the core's replies back."""

    def __init__(
        self,
        core: Core,
        settings: Settings,
        client: AnyClient,
        *,
        stream_interval: float = DEFAULT_INTERVAL,
        feedback_buttons: bool = True,
    ) -> None:
        self.core = core
        self.settings = settings
        self.client = client
        self.stream_interval = stream_interval
        self.delivery = Delivery(client, core, feedback_buttons=feedback_buttons)
        # Texts of recent messages, seen or fetched, for reactions to them: a popular old post
        # cost a REST call per reaction (discord.py caches no fetched message), each one
        # counted against Discord's rate limits. Their author's /forget drops them.
        self._texts: LRU[int, RecentText] = LRU(RECENT_TEXTS)
        self._text_eraser = RecentTextEraser(f"discord_texts:{id(self)}", PLATFORM,
                                             self._texts)
        core.services.features.register(self._text_eraser)
        self.reconciler = Reconciler(core, settings, client)
        client.adapter = self
        client.tree = build_tree(client, self.run_command)
        client.add_dynamic_items(ActionButton)
        # A sharded client's shard that starts a new session alone fires no on_ready.
        sharded = isinstance(client, discord.AutoShardedClient)
        for handler in (
            self.on_shard_ready if sharded else self.on_ready,
            self.on_guild_available,
            self.on_guild_unavailable,
            self.on_member_join,
            self.on_message,
            self.on_raw_reaction_add,
            self.on_raw_reaction_remove,
            self.on_raw_member_remove,
            self.on_guild_remove,
            self.on_raw_message_edit,
            self.on_raw_message_delete,
            self.on_raw_bulk_message_delete,
        ):
            client.event(handler)

    # Replies to events replayed after a database outage ----------------------------------
    def install_delivery(self) -> None:
        """Replayed events and scheduled digests for Discord people go out through here."""
        self.core.services.open_outbox(self.delivery)

    def uninstall_delivery(self) -> None:
        """The client is done (the runner builds a new one to reconnect): its outbox closes
        and its fetched texts leave the core's deletion contract with it."""
        self.core.services.close_outbox(self.delivery)
        self.core.services.features.unregister(self._text_eraser.name)
        self.reconciler.close()

    # Messages ------------------------------------------------------------------------------
    def addressed(self, message: discord.Message) -> bool | None:
        """None: not for the core at all. Otherwise whether the bot is addressed: a mention
        (of the bot or its managed role), a reply to one of its messages, or any message in a
        thread the bot owns. DMs are always answered by the core; other server messages are
        only observed (learned from, for people who consented), never answered."""
        me = self.client.user
        if me is None or message.author.bot or message.webhook_id is not None:
            return None
        if message.is_system():
            return None
        if message.guild is None:
            return False
        if me in message.mentions:
            return True
        own_role = message.guild.self_role
        if own_role is not None and own_role in message.role_mentions:
            return True
        reference = message.reference
        resolved = reference.resolved if reference is not None else None
        channel = message.channel
        if (isinstance(resolved, discord.Message) and resolved.author.id == me.id) or (
            isinstance(channel, discord.Thread) and channel.owner_id == me.id
        ):
            # Without the message_content intent Discord blanks what does not mention the
            # bot (a reply with its ping turned off, a thread message): such a message was
            # "addressed" with no text, and its author got "I got an empty message" in DMs.
            return True if message.content or self.client.intents.message_content else None
        return False

    def names_for(self, message: discord.Message) -> Names:
        mentioned = {user.id: user.display_name for user in message.mentions}
        guild = message.guild

        def user(user_id: int) -> str | None:
            if user_id in mentioned:
                return mentioned[user_id]
            member = guild.get_member(user_id) if guild is not None else None
            found = member or self.client.get_user(user_id)
            return found.display_name if found is not None else None

        def channel(channel_id: int) -> str | None:
            found = self.client.get_channel(channel_id)
            return getattr(found, "name", None)

        def role(role_id: int) -> str | None:
            found = guild.get_role(role_id) if guild is not None else None
            return found.name if found is not None else None

        me = self.client.user
        own_role = guild.self_role if guild is not None else None
        return Names(
            bot_id=me.id if me is not None else None, user=user, channel=channel, role=role,
            bot_role_id=own_role.id if own_role is not None else None,
        )

    def message_context(self, message: discord.Message) -> PlatformContext:
        if message.guild is None or not self.client.intents.presences:
            return PlatformContext()
        device, activity = presence_context(message.guild.get_member(message.author.id))
        return PlatformContext(device=device, activity=activity)

    async def on_message(self, message: discord.Message) -> None:
        addressed = self.addressed(message)
        if addressed is None:
            return
        answered = addressed or message.guild is None
        text = normalise(message.content, self.names_for(message))
        self._remember(message, text)
        event = message_event(message, text, mentioned=addressed,
                              context=self.message_context(message))
        if not answered:
            await self.core.handle(event)  # observed only: no typing, no reply
            return
        origin = Origin(message.channel, message.author.id, event.person.workspace,
                        reference=message, in_dm=message.guild is None)
        reference = message.to_reference(fail_if_not_exists=False)

        async def post_preview(preview: str) -> discord.Message:
            return await message.channel.send(preview, reference=reference)

        stream = StreamingReply(post_preview, interval=self.stream_interval)
        try:
            async with typing(message.channel):
                replies = await self.core.handle(event, on_partial=stream.update)
        except Exception:
            # A half-streamed answer stayed as it was, and nobody was told: the failure's
            # words replace the preview, as on Slack and for slash commands.
            log.exception("message %s failed", event.event_id)
            locale = str(message.guild.preferred_locale) if message.guild else None
            replies = [Reply(text=t(SOMETHING_WENT_WRONG, locale), purpose="error")]
        await self.delivery.to_origin(origin, replies, stream=stream)

    # Reactions -----------------------------------------------------------------------------
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload)

    async def _reaction(self, payload: discord.RawReactionActionEvent) -> None:
        """Raw events fire for uncached messages too. On the bot's own reply the core reads
        the reaction as feedback; elsewhere as interest in the message's text, which is read
        from the cache, or fetched for an added reaction when the message is not cached."""
        me = self.client.user
        if me is None or payload.user_id == me.id:
            return
        user = payload.member or self.client.get_user(payload.user_id)
        if user is not None and user.bot:
            return
        added = payload.event_type == "REACTION_ADD"
        author_id = payload.message_author_id
        kept = self._texts.get(payload.message_id)
        if kept is None and added and author_id != me.id and self._can_read_content(payload):
            message = await self._fetch_message(payload)
            if message is not None and message.author.id != me.id and message.content:
                kept = self._remember(message,
                                      normalise(message.content, self.names_for(message)))
        text = None
        names: tuple[str, ...] = ()
        if kept is not None:
            author_id, text, names = int(kept.user), kept.text, kept.mentioned_names
        event = reaction_event(
            payload,
            display_name=user.display_name if user is not None else None,
            target_author_id=author_id,
            target_text=text,
            target_mentioned_names=names,
        )
        await self.core.handle(event)

    def _remember(self, message: discord.Message, text: str) -> RecentText | None:
        """Keep a person's message's text for reactions to it (none of the bot's own)."""
        if not text or message.author.bot:
            return None
        kept = RecentText(workspace_for(message.guild.id if message.guild else None),
                          str(message.author.id), text, mentioned_names(message))
        self._texts.put(message.id, kept)
        return kept

    # An edit or a deletion takes the kept text back: the next reaction reads the message
    # again (fetched, as edited) or finds nothing — never words their author took back.
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        self._texts.pop(payload.message_id)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        self._texts.pop(payload.message_id)

    async def on_raw_bulk_message_delete(
        self, payload: discord.RawBulkMessageDeleteEvent
    ) -> None:
        for message_id in payload.message_ids:
            self._texts.pop(message_id)

    def _can_read_content(self, payload: discord.RawReactionActionEvent) -> bool:
        return payload.guild_id is None or self.client.intents.message_content

    async def _fetch_message(
        self, payload: discord.RawReactionActionEvent
    ) -> discord.Message | None:
        channel = self.client.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        try:
            return await channel.fetch_message(payload.message_id)
        except discord.HTTPException as exc:
            log.debug("reacted-to message %s not readable: %s", payload.message_id, exc)
            return None

    # Members -------------------------------------------------------------------------------
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """Left, kicked or banned: forget that person's data *in this server* when the
        deployment says so (needs the ``members`` intent)."""
        if not self.settings.forget_on_leave or payload.user.bot:
            return
        if await self.core.forget_ref(person_ref(payload.user.id, payload.guild_id)):
            log.info("forgot user %s who left guild %s", payload.user.id, payload.guild_id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was kicked or the server deleted (discord.py fires this for a real removal,
        not an outage): no member-leave event will ever come for its people, so with
        ``forget_on_leave`` they are all forgotten now, as a Slack uninstall does."""
        if not self.settings.forget_on_leave:
            return
        removed = await self.core.forget_workspace(PLATFORM, str(guild.id))
        log.warning("removed from Discord server %s: forgot %d people", guild.id, removed)

    # What was missed while disconnected (adapters/discord/reconcile.py) ---------------------
    async def on_ready(self) -> None:
        await self.reconciler.session_ready(None)

    async def on_shard_ready(self, shard_id: int) -> None:
        await self.reconciler.session_ready(shard_id)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.reconciler.guild_available(guild)

    async def on_guild_unavailable(self, guild: discord.Guild) -> None:
        self.reconciler.guild_unavailable(guild)

    async def on_member_join(self, member: discord.Member) -> None:
        self.reconciler.member_joined(member)

    # Interactions --------------------------------------------------------------------------
    async def run_command(self, interaction: discord.Interaction, name: str, args: str) -> None:
        """A slash command: acknowledge at once (Discord allows three seconds; the core may
        need longer), then answer with ephemeral follow-ups."""
        if not await _acknowledge(interaction.response.defer(ephemeral=True, thinking=True)):
            return
        await self._answer(interaction, command_event(interaction, name, args), thinking=True)

    async def on_action(
        self, interaction: discord.Interaction, action_id: str, value: str, scope: str
    ) -> None:
        """A button press. Buttons that answer a question (consent, forget) are removed from
        the message as the press is acknowledged, so they cannot be pressed twice; feedback
        buttons stay."""
        concluding = action_id in ACTION_COMMANDS and _presser_owns(interaction)
        ack = (
            interaction.response.edit_message(view=None)
            if concluding
            else interaction.response.defer(ephemeral=True, thinking=True)
        )
        if not await _acknowledge(ack):
            return
        event = action_event(interaction, action_id, value, scope)
        await self._answer(interaction, event, thinking=not concluding)

    async def _answer(
        self, interaction: discord.Interaction, event: AnyEvent, *, thinking: bool
    ) -> None:
        try:
            replies = await self.core.handle(event)
        except Exception:
            with contextlib.suppress(discord.HTTPException):
                await interaction.followup.send(
                    t(SOMETHING_WENT_WRONG, str(interaction.locale)), ephemeral=True
                )
            raise
        await self.delivery.to_interaction(
            interaction, replies, scope=event.person.workspace, thinking=thinking
        )


def _presser_owns(interaction: discord.Interaction) -> bool:
    """Whether the presser is the person a question (consent, forget) was asked of, so their
    answer may close it. Ephemeral messages and DMs only reach their owner; a question posted
    in a channel (the fallback when DMs are closed) replies to its owner's message. Someone
    else's press still counts for that someone, but the owner keeps their buttons."""
    message = interaction.message
    if message is None or interaction.guild_id is None or message.flags.ephemeral:
        return True
    reference = message.reference
    resolved = reference.resolved if reference is not None else None
    return isinstance(resolved, discord.Message) and resolved.author.id == interaction.user.id


async def _acknowledge(response: Any) -> bool:
    """False when Discord no longer accepts a response (expired, or a replayed interaction
    that was already answered): nothing more can be said through it."""
    try:
        await response
    except discord.HTTPException as exc:
        log.info("interaction could not be acknowledged: %s", exc)
        return False
    return True


