"""Sending the core's replies to Slack.

``Reply.kind`` decides the Slack call:

* ``MESSAGE`` — ``chat.postMessage`` into the origin channel, in ``Reply.thread_id`` when set
  (or the in-progress streamed message is finalised). For slash commands it goes through the
  command's ``response_url`` instead, because the bot need not be a member of that channel.
* ``EPHEMERAL`` — only the person sees it: the ``response_url`` of a slash command or button
  (replacing the ephemeral message whose button was pressed, e.g. the consent notice), else
  ``chat.postEphemeral``.
* ``DM`` — ``conversations.open`` then a post; an ``attachment`` (``/export``) is uploaded as a
  file with ``files_upload_v2``, falling back to messages in the DM if the upload fails.
* ``EDIT`` — ``chat.update`` of ``Reply.edit_of``.

A reply longer than one Slack message is several (:func:`adapters.slack.render.message_payloads`),
sent in order the same way; the last carries the buttons. After a reply with a ``reply_id`` is
posted, ``Core.bind_reply`` learns the ``ts`` of that last message so that reactions to it count
as feedback.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.lru import LRU
from adapters.slack.errors import CALL_ERRORS
from adapters.slack.markup import escape, split_text, to_mrkdwn
from adapters.slack.render import message_payloads
from adapters.slack.stream import ReplyStream
from adapters.slack.translate import Origin
from bot.core import Core
from bot.events import Reply, ReplyKind
from bot.i18n import N_, t

log = logging.getLogger(__name__)

SENT_TO_DM = N_("I've sent it to you in a direct message with me.")  # catalog text
RESPONSE_URL_USES = 5  # what Slack allows one response_url
EXPORT_CHUNK = 3500
EXPORT_MAX_MESSAGES = 20


class Deliverer:
    """Turns replies into Web API / ``response_url`` calls for one workspace connection."""

    def __init__(
        self,
        client: AsyncWebClient,
        core: Core,
        *,
        retry_handlers: list[AsyncRetryHandler] | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.client = client
        self.core = core
        self.retry_handlers = retry_handlers
        self.session = session
        # posts made to each recent response_url (Slack takes five per URL)
        self._url_uses: LRU[str, int] = LRU(1000)

    async def deliver(
        self, origin: Origin, replies: list[Reply], stream: ReplyStream | None = None
    ) -> bool:
        """Send every reply; returns True when something was posted into the conversation
        (the assistant status then clears by itself). One failing reply does not stop the
        others: the consent notice still goes out if the answer could not be posted."""
        posted = False
        replaced = False
        for reply in replies:
            try:
                if reply.kind == ReplyKind.MESSAGE:
                    await self._message(origin, reply, stream)
                    stream = None  # only the first message finalises the streamed one
                    posted = True
                elif reply.kind == ReplyKind.EPHEMERAL:
                    done = await self._ephemeral(origin, reply, replace=not replaced)
                    replaced = replaced or done
                elif reply.kind == ReplyKind.DM:
                    await self._dm(origin, reply)
                elif reply.kind == ReplyKind.EDIT:
                    await self._edit(origin, reply)
            except CALL_ERRORS as exc:
                log.warning("could not deliver %s reply (%s) to %s: %s", reply.kind,
                            reply.purpose, origin.channel_id, exc)
        if stream is not None and stream.started:
            await stream.abandon()
        return posted

    # Kinds ------------------------------------------------------------------------------------
    async def _message(self, origin: Origin, reply: Reply, stream: ReplyStream | None) -> None:
        channel = reply.channel_id or origin.channel_id
        parts = message_payloads(reply)
        ts = await stream.finish(reply, parts) if stream is not None else None
        if ts is not None:
            parts = parts[1:]  # the first is the streamed (or placeholder) message
        elif origin.from_command and origin.response_url and not reply.channel_id:
            parts = await self._respond_each(origin.response_url, parts,
                                             response_type="in_channel")
            if not parts:
                return  # else (refused, or its five uses spent) the rest posted as any message
        if not channel:
            await self._dm(origin, reply, parts)
            return
        for part in parts:
            response = await self.client.chat_postMessage(
                channel=channel, thread_ts=reply.thread_id, **part
            )
            ts = str(response["ts"])
        if stream is not None:
            await stream.discard()  # posted anew: the unfinished message goes
        await self._bind(reply, ts)

    async def _ephemeral(self, origin: Origin, reply: Reply, *, replace: bool) -> bool:
        """Returns True when it replaced the pressed button's ephemeral message. Slack takes
        five posts to a ``response_url``: the rest (a digest preview is seven replies) go by
        ``chat.postEphemeral``, and where that is refused (a channel the bot is not in) to
        the person's DM — they were lost."""
        replaced = False
        by_dm: list[dict[str, Any]] = []
        channel = reply.channel_id or origin.channel_id
        for index, part in enumerate(message_payloads(reply)):
            replace_original = replace and index == 0 and origin.ephemeral_container
            if origin.response_url and await self._respond(
                origin.response_url, part, response_type="ephemeral",
                replace_original=replace_original,
            ):
                replaced = replaced or replace_original
            elif not channel:
                by_dm.append(part)
            else:
                try:
                    await self.client.chat_postEphemeral(
                        channel=channel,
                        user=origin.user_id,
                        thread_ts=reply.thread_id or origin.thread_ts,
                        **part,
                    )
                except SlackApiError as exc:
                    log.info("ephemeral refused in %s (%s): sent by DM", channel,
                             exc.response.get("error"))
                    by_dm.append(part)
        if by_dm:
            await self._dm(origin, reply, by_dm)
        return replaced

    async def _dm(
        self, origin: Origin, reply: Reply, parts: list[dict[str, Any]] | None = None
    ) -> None:
        """``parts``: the messages of ``reply`` still to send (all of them by default)."""
        opened = await self.client.conversations_open(users=origin.user_id)
        channel = str(opened["channel"]["id"])
        if reply.attachment is not None:
            await self._upload(channel, reply)
        else:
            ts: str | None = None
            for part in message_payloads(reply) if parts is None else parts:
                response = await self.client.chat_postMessage(channel=channel, **part)
                ts = str(response["ts"])
            await self._bind(reply, ts)
        if origin.from_command and not origin.is_dm and origin.response_url:
            await self._respond_each(origin.response_url,
                                     message_payloads(Reply(text=t(SENT_TO_DM, reply.locale))),
                                     response_type="ephemeral")

    async def _upload(self, channel: str, reply: Reply) -> None:
        assert reply.attachment is not None
        filename, content = reply.attachment
        try:
            await self.client.files_upload_v2(
                channel=channel, filename=filename, title=filename, content=content,
                initial_comment=to_mrkdwn(reply.text),
            )
            return
        except (SlackApiError, SlackClientError) as exc:
            log.warning("file upload to %s failed (%s); sending the file as messages",
                        channel, exc)
        # Fallback: still private (it is the person's DM with the bot), just less convenient.
        text = content.decode("utf-8", errors="replace")
        pieces = split_text(text, EXPORT_CHUNK)
        head = f"{reply.text}\n(I couldn't attach {filename}, so here it is as text.)"
        if len(pieces) > EXPORT_MAX_MESSAGES:
            head = (f"{reply.text}\n{filename} is too large to send as messages and the upload "
                    "failed; please try /export again later.")
            pieces = []
        await self.client.chat_postMessage(channel=channel, text=to_mrkdwn(head))
        for piece in pieces:  # escaped as any text: the file holds people's words
            await self.client.chat_postMessage(channel=channel, text=f"```{escape(piece)}```")

    async def _edit(self, origin: Origin, reply: Reply) -> None:
        channel = reply.channel_id or origin.channel_id
        if not channel or not reply.edit_of:
            log.warning("edit reply without channel or target ignored")
            return
        first, *rest = message_payloads(reply)
        await self.client.chat_update(channel=channel, ts=reply.edit_of, **first)
        for part in rest:  # what the edited message cannot hold follows it
            await self.client.chat_postMessage(channel=channel, thread_ts=reply.thread_id, **part)

    # Helpers ----------------------------------------------------------------------------------
    async def _respond_each(
        self, url: str, parts: list[dict[str, Any]], *, response_type: str
    ) -> list[dict[str, Any]]:
        """Post ``parts`` in order to a ``response_url``; returns those it could not take."""
        for index, part in enumerate(parts):
            if not await self._respond(url, part, response_type=response_type):
                return parts[index:]
        return []

    async def _respond(
        self, url: str, payload: dict[str, Any], *, response_type: str,
        replace_original: bool = False,
    ) -> bool:
        """POST to a ``response_url`` (valid 30 minutes, 5 uses). False if Slack refused or
        would refuse (its five uses spent), so the caller can fall back to the Web API."""
        uses = self._url_uses.get(url) or 0
        if uses >= RESPONSE_URL_USES:
            return False
        self._url_uses.put(url, uses + 1)
        body: dict[str, Any] = {
            "response_type": response_type,
            "replace_original": replace_original,
            **payload,
        }
        webhook = AsyncWebhookClient(url, session=self.session, retry_handlers=self.retry_handlers)
        try:
            response = await webhook.send_dict(body)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url post failed: %s", exc)
            return False
        if response.status_code != 200:
            log.warning("response_url refused (%s): %s", response.status_code, response.body)
            return False
        return True

    async def _bind(self, reply: Reply, ts: str | None) -> None:
        if not reply.reply_id or not ts:
            return
        await self.core.bind_reply(reply.reply_id, ts)  # kept by the core until it is written
