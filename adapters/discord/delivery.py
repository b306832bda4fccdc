"""Sending the core's replies to Discord, for the three places an event can come from: a
message (:meth:`Delivery.to_origin`), an interaction (:meth:`Delivery.to_interaction`) and a
replay of events kept while the database was down (:meth:`Delivery.from_core`).

Reply kinds
-----------
* ``MESSAGE`` — a Discord reply to the person's message (in its thread or DM); after a slash
  command or button, a follow-up message.
* ``EPHEMERAL`` — after a slash command or button, an ephemeral follow-up ("only you can see
  this"). A plain message cannot be answered ephemerally, so in a server the answer goes to
  the person's DMs instead; in a DM it is simply sent there. If the person's DMs are closed,
  only replies that are safe in public (the consent notice, error notices) are posted in the
  channel; anything personal is replaced by a short public note that asks them to use the
  slash command, which answers privately.
* ``DM`` — a direct message (the ``/export`` file). After a slash command in a server the
  person also gets an ephemeral "sent you a DM"; with DMs closed the file comes as an
  ephemeral follow-up instead. It is never posted in public.
* ``EDIT`` — edits the bot's message ``edit_of`` in the channel of the event.

After a reply with a ``reply_id`` is sent, the core learns the Discord message id
(``Core.bind_reply``) so reactions to it count as feedback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.render import Rendered, render
from adapters.discord.stream import StreamingReply
from adapters.discord.translate import DM_WORKSPACE, PLATFORM
from bot.core import Core
from bot.events import AnyEvent, MessageEvent, Reply, ReplyKind
from bot.i18n import N_, t
from profiles.models import Person

log = logging.getLogger(__name__)

PUBLIC_FALLBACK_PURPOSES = frozenset({"consent_notice", "error"})
# Catalog texts (bot/i18n.py), in the language of the reply they stand for.
DMS_CLOSED = N_(
    "I wanted to answer you privately, but I can't send you direct messages. Allow DMs from "
    "server members, or use the slash command (e.g. /profile), which answers only to you."
)
SENT_BY_DM = N_("I sent it to you in a direct message.")
_EDIT_KEYS = ("embed", "embeds", "view", "allowed_mentions")

Reference = discord.Message | discord.PartialMessage
Channel = discord.abc.Messageable


@dataclass(slots=True)
class Origin:
    """Where an event came from: enough to answer it without the event object itself."""

    channel: Channel
    user_id: int
    scope: str
    reference: Reference | None = None
    in_dm: bool = False


class Delivery:
    """Sends to Discord; also the adapter's :class:`bot.outbox.Outbox` (``reply`` = a
    replayed or deferred answer to an event, ``send`` = a scheduled message to a person)."""

    platform = PLATFORM

    def __init__(
        self, client: discord.Client, core: Core, *, feedback_buttons: bool = True
    ) -> None:
        self.client = client
        self.core = core
        self.feedback_buttons = feedback_buttons

    def render(self, reply: Reply, scope: str) -> Rendered:
        return render(reply, scope=scope, feedback_buttons=self.feedback_buttons)

    # Message events ------------------------------------------------------------------------
    async def to_origin(
        self, origin: Origin, replies: list[Reply], *, stream: StreamingReply | None = None
    ) -> None:
        for reply in replies:
            rendered = self.render(reply, origin.scope)
            if reply.kind is ReplyKind.EDIT:
                await self._edit(origin.channel, reply, rendered)
                continue
            if reply.kind is ReplyKind.MESSAGE:
                channel = await self._channel_for(reply, origin.channel)
                reference = origin.reference if channel is origin.channel else None
                sent = await self._send(channel, rendered, reference=reference, stream=stream)
                stream = None  # the preview becomes the first chat reply, once
            elif origin.in_dm:
                sent = await self._send(origin.channel, rendered)
            else:
                sent = await self._private(origin, reply, rendered)
            await self._bind(reply, sent)

    async def _private(
        self, origin: Origin, reply: Reply, rendered: Rendered
    ) -> list[discord.Message]:
        """EPHEMERAL or DM answer to a message in a server (see the module docstring)."""
        sent = await self.dm(origin.user_id, rendered)
        if sent is not None:
            return sent
        if reply.kind is ReplyKind.EPHEMERAL and reply.purpose in PUBLIC_FALLBACK_PURPOSES:
            return await self._send(origin.channel, rendered, reference=origin.reference)
        notice = self.render(Reply(text=t(DMS_CLOSED, reply.locale), purpose="error"),
                             origin.scope)
        await self._send(origin.channel, notice, reference=origin.reference)
        return []

    # Interactions --------------------------------------------------------------------------
    async def to_interaction(
        self, interaction: discord.Interaction, replies: list[Reply], *, scope: str,
        thinking: bool,
    ) -> None:
        """Follow-ups to an interaction already acknowledged (deferred with ``thinking``, or
        answered by updating the message whose button was pressed)."""
        sent_any = False
        for reply in replies:
            rendered = self.render(reply, scope)
            if reply.kind is ReplyKind.EDIT:
                if interaction.channel is not None:
                    await self._edit(interaction.channel, reply, rendered)  # type: ignore[arg-type]
                continue
            if reply.kind is ReplyKind.DM and interaction.guild_id is not None:
                sent = await self.dm(interaction.user.id, rendered)
                if sent is None:  # DMs closed: the file still reaches only this person
                    sent = await self._followup(interaction, rendered, ephemeral=True)
                else:
                    note = Reply(text=t(SENT_BY_DM, reply.locale))
                    await self._followup(interaction, self.render(note, scope), ephemeral=True)
            else:
                ephemeral = reply.kind is not ReplyKind.MESSAGE
                sent = await self._followup(interaction, rendered, ephemeral=ephemeral)
            sent_any = True
            await self._bind(reply, sent)
        if thinking and not sent_any:  # nothing to say (e.g. a replayed interaction)
            try:
                await interaction.delete_original_response()
            except discord.HTTPException as exc:
                log.debug("could not clear the deferred response: %s", exc)

    async def _followup(
        self, interaction: discord.Interaction, rendered: Rendered, *, ephemeral: bool
    ) -> list[discord.Message]:
        sent: list[discord.Message] = []
        for index, chunk in enumerate(rendered.chunks):
            extras = rendered.last_extras() if index == len(rendered.chunks) - 1 else {}
            if not chunk and not extras:
                continue
            kwargs: dict[str, Any] = {"ephemeral": ephemeral, "wait": True, **extras}
            if chunk:
                kwargs["content"] = chunk
            sent.append(await interaction.followup.send(**kwargs))
        return sent

    # Replays -------------------------------------------------------------------------------
    async def from_core(self, event: AnyEvent, replies: list[Reply]) -> None:
        """``Core.deliver``: replies to events that were kept while the database was away.
        Interaction tokens may have expired by then, so private answers go to DMs."""
        user_id = int(event.person.user_id)
        in_dm = event.person.workspace == DM_WORKSPACE
        channel: Channel | None
        if in_dm:
            channel = await self._dm_channel(user_id)
        else:
            channel_id = getattr(event, "thread_id", None) or event.channel_id
            channel = await self._channel(int(channel_id)) if channel_id else None
        if channel is None:
            log.warning("no channel to deliver the replies to %s", event.event_id)
            return
        reference = None
        if isinstance(event, MessageEvent) and event.message_id and hasattr(
            channel, "get_partial_message"
        ):
            reference = channel.get_partial_message(int(event.message_id))
        origin = Origin(channel, user_id, event.person.workspace, reference, in_dm)
        await self.to_origin(origin, replies)

    async def to_person(self, person: Person, replies: list[Reply]) -> None:
        """Scheduled messages (digests) for a person: always to their DMs."""
        for reply in replies:
            sent = await self.dm(int(person.user_id), self.render(reply, person.workspace))
            if sent:
                await self._bind(reply, sent)

    # Plumbing ------------------------------------------------------------------------------
    async def dm(self, user_id: int, rendered: Rendered) -> list[discord.Message] | None:
        """Send to the person's DMs; None when Discord refuses (DMs closed, no shared server)."""
        try:
            channel = await self._dm_channel(user_id)
            if channel is None:
                return None
            return await self._send(channel, rendered)
        except discord.Forbidden as exc:
            log.info("cannot DM user %s: %s", user_id, exc)
            return None

    async def _dm_channel(self, user_id: int) -> discord.DMChannel | None:
        user = self.client.get_user(user_id)
        try:
            if user is None:
                user = await self.client.fetch_user(user_id)
            return user.dm_channel or await user.create_dm()
        except discord.HTTPException as exc:
            log.info("no DM channel with user %s: %s", user_id, exc)
            return None

    async def _channel(self, channel_id: int) -> Channel | None:
        channel = self.client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(channel_id)
            except discord.HTTPException as exc:
                log.info("channel %s is not reachable: %s", channel_id, exc)
                return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def _channel_for(self, reply: Reply, default: Channel) -> Channel:
        """``Reply.channel_id`` sends elsewhere; ``Reply.thread_id`` counts only when it names a
        thread we know (the core also uses the id of the message that started a conversation
        as a thread id, which on Discord is simply a reply to that message)."""
        default_id = getattr(default, "id", None)
        if reply.thread_id and reply.thread_id.isdecimal() and int(reply.thread_id) != default_id:
            thread = self.client.get_channel(int(reply.thread_id))
            if isinstance(thread, discord.Thread):
                return thread
        channel_id = reply.channel_id
        if channel_id and channel_id.isdecimal() and int(channel_id) != default_id:
            return await self._channel(int(channel_id)) or default
        return default

    async def _send(
        self,
        channel: Channel,
        rendered: Rendered,
        *,
        reference: Reference | None = None,
        stream: StreamingReply | None = None,
    ) -> list[discord.Message]:
        sent: list[discord.Message] = []
        for index, chunk in enumerate(rendered.chunks):
            last = index == len(rendered.chunks) - 1
            extras = rendered.last_extras() if last else {}
            if not chunk and not extras:
                continue
            if index == 0 and stream is not None and stream.message is not None:
                edited = await self._replace_preview(stream.message, chunk, extras)
                if edited is not None:
                    sent.append(edited)
                    continue
            kwargs: dict[str, Any] = dict(extras)
            if index == 0 and reference is not None:
                kwargs["reference"] = reference.to_reference(fail_if_not_exists=False)
            sent.append(await channel.send(chunk or None, **kwargs))
        return sent

    async def _replace_preview(
        self, preview: discord.Message, chunk: str, extras: dict[str, Any]
    ) -> discord.Message | None:
        kwargs: dict[str, Any] = {k: v for k, v in extras.items() if k in _EDIT_KEYS}
        if "file" in extras:
            kwargs["attachments"] = [extras["file"]]
        try:
            return await preview.edit(content=chunk, **kwargs)
        except discord.HTTPException as exc:
            log.warning("could not finish the streamed message, sending it anew: %s", exc)
            return None

    async def _edit(self, channel: Channel, reply: Reply, rendered: Rendered) -> None:
        if not reply.edit_of or not reply.edit_of.isdecimal() or not hasattr(
            channel, "get_partial_message"
        ):
            log.warning("cannot edit message %r", reply.edit_of)
            return
        message = channel.get_partial_message(int(reply.edit_of))
        extras = rendered.last_extras()
        kwargs: dict[str, Any] = {k: v for k, v in extras.items() if k in _EDIT_KEYS}
        await message.edit(content=rendered.chunks[0][:2000], **kwargs)

    async def _bind(self, reply: Reply, sent: list[discord.Message]) -> None:
        if reply.reply_id and sent:
            await self.core.bind_reply(reply.reply_id, str(sent[-1].id))


    # Outbox (bot/outbox.py) --------------------------------------------------------------
    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        await self.from_core(event, replies)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        await self.to_person(person, replies)
