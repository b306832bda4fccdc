"""Showing a chat answer while the model is still writing it.

Two ways, chosen per answer:

* Slack's chat streaming API (``chat.startStream`` / ``appendStream`` / ``stopStream``) when the
  installed ``slack_sdk`` has it and the answer goes into a thread (Slack only streams replies
  to a message: ``thread_ts`` is required). Streamed text is Markdown, which is what models
  write. If the workspace refuses streaming, the adapter stops trying (see ``on_refused``).
* Otherwise a placeholder message, then ``chat.update`` at most once per ``interval`` seconds
  (1 s by default: ``chat.update`` is a Tier 3 method, ~50 calls a minute per workspace).

Either way the final text is the core's :class:`Reply` (shaped, maybe with a truncation note),
and its buttons (feedback 👍/👎) are attached when the message is finalised, because the reply id
they carry only exists once the core has stored the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import extra_blocks, message_payload, placeholder_payload
from bot.events import Reply

log = logging.getLogger(__name__)

STREAMING_SUPPORTED = all(
    hasattr(AsyncWebClient, name) for name in ("chat_startStream", "chat_appendStream",
                                               "chat_stopStream")
)


class ReplyStream:
    """One answer in progress. ``on_partial`` is handed to ``Core.handle``; afterwards
    ``finish`` turns the in-progress message into the final reply (or reports that nothing
    was shown, so the caller posts the reply normally). ``abandoned``: what an answer left
    unfinished says, in the person's language (the adapter words nothing of its own)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str | None,
        team_id: str,
        user_id: str,
        interval: float = 1.0,
        use_streaming_api: bool = True,
        on_refused: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        abandoned: str,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.team_id = team_id
        self.user_id = user_id
        self.interval = interval
        self.streaming = use_streaming_api and STREAMING_SUPPORTED and thread_ts is not None
        self.on_refused = on_refused
        self.clock = clock
        self.abandoned = abandoned
        self.ts: str | None = None
        self._sent = ""  # text the streaming API has already received
        self._last = 0.0
        self._failed = False

    @property
    def started(self) -> bool:
        return self.ts is not None

    async def on_partial(self, text: str) -> None:
        """Called with the whole text so far as chunks arrive; never raises (a display
        problem must not abort the answer)."""
        if self._failed or not text.strip():
            return
        try:
            if self.ts is None:
                await self._start(text)
            elif self.clock() - self._last >= self.interval:
                await self._progress(text)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not show partial answer in %s: %s", self.channel, exc)
            self._failed = self.ts is None

    async def _start(self, text: str) -> None:
        if self.streaming:
            try:
                response = await self.client.chat_startStream(
                    channel=self.channel,
                    thread_ts=self.thread_ts or "",
                    recipient_team_id=self.team_id or None,
                    recipient_user_id=self.user_id or None,
                    markdown_text=text,
                )
                self.ts = str(response["ts"])
                self._sent = text
                self._last = self.clock()
                return
            except SlackApiError as exc:
                log.info("chat streaming refused (%s); using message updates", exc)
                self.streaming = False
                if self.on_refused is not None:
                    self.on_refused()
        response = await self.client.chat_postMessage(
            channel=self.channel, thread_ts=self.thread_ts, **placeholder_payload(text)
        )
        self.ts = str(response["ts"])
        self._last = self.clock()

    async def _progress(self, text: str) -> None:
        assert self.ts is not None
        if self.streaming:
            if text.startswith(self._sent) and len(text) > len(self._sent):
                await self.client.chat_appendStream(
                    channel=self.channel, ts=self.ts, markdown_text=text[len(self._sent):]
                )
                self._sent = text
        else:
            await self.client.chat_update(
                channel=self.channel, ts=self.ts, **placeholder_payload(text)
            )
        self._last = self.clock()

    async def finish(self, reply: Reply) -> str | None:
        """Make the in-progress message say ``reply``; returns its ts, or None when nothing
        was started (the caller then posts ``reply`` as a new message)."""
        if self.ts is None:
            return None
        if self.streaming:
            final = reply.text
            if final.startswith(self._sent) and not reply.native:
                await self.client.chat_stopStream(
                    channel=self.channel,
                    ts=self.ts,
                    markdown_text=final[len(self._sent):] or None,
                    blocks=extra_blocks(reply) or None,
                )
                return self.ts
            # The core reshaped the text (verbosity, emoji, a truncation note) or the reply
            # brings its own blocks: streamed text cannot be taken back, so stop the stream
            # and replace the message.
            await self.client.chat_stopStream(channel=self.channel, ts=self.ts)
        await self.client.chat_update(channel=self.channel, ts=self.ts, **message_payload(reply))
        return self.ts

    async def abandon(self) -> None:
        """The core failed after text was shown: say so instead of leaving half an answer."""
        if self.ts is None:
            return
        try:
            if self.streaming:
                await self.client.chat_stopStream(
                    channel=self.channel, ts=self.ts, markdown_text=f"\n\n{self.abandoned}"
                )
            else:
                await self.client.chat_update(
                    channel=self.channel, ts=self.ts, text=self.abandoned
                )
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not close abandoned answer in %s: %s", self.channel, exc)
