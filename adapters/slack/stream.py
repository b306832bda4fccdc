"""Showing a chat answer while the model is still writing it.

Two ways, chosen per answer:

* Slack's chat streaming API (``chat.startStream`` / ``appendStream`` / ``stopStream``) when the
  installed ``slack_sdk`` has it and the answer goes into a thread (Slack only streams replies
  to a message: ``thread_ts`` is required). Their ``markdown_text`` is standard Markdown, which
  Slack renders (bold, links, headings, lists, code), so the core's Markdown is streamed as it
  is; mrkdwn, what ``text`` fields take, would show there as written. If the workspace refuses
  streaming, the adapter stops trying (see ``on_refused``).
* Otherwise a placeholder message, then ``chat.update`` at most once per ``interval`` seconds
  (1 s by default: ``chat.update`` is a Tier 3 method, ~50 calls a minute per workspace).

What is shown while the answer is written is a preview, and may lag or stop:

* Partial updates go out without slack_sdk's retries. The core awaits ``on_partial`` while it
  reads the model's answer, so a wait for a 429's ``Retry-After`` there held up the whole
  answer (twice per update, and again at the next one); now updates pause until then.
* A call that got no answer may have taken effect: a streamed message's content is then
  unknown, so it is no longer appended to and the final answer replaces it.
* It holds at most a message's worth (:data:`TEXT_LIMIT`), in calls of at most Slack's 12,000
  characters of ``markdown_text``; longer answers continue in further messages.

The final answer arrives whole and once (:meth:`ReplyStream.finish`, with slack_sdk's retries):
a one-message answer that extends what was streamed finishes the stream
(``chat.stopStream``, its buttons attached); anything else, or a stop Slack refuses, stops the
stream and replaces the message with the first of the answer's messages (``chat.update``); if
that fails too, the caller posts the answer anew and :meth:`ReplyStream.discard` deletes the
unfinished message. The reply's buttons (feedback 👍/👎) come with the final message, because
the reply id they carry only exists once the core has stored the answer.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import errors
from adapters.slack.errors import CALL_ERRORS
from adapters.slack.render import TEXT_LIMIT, extra_blocks, placeholder_payload, text_blocks
from bot.events import Reply

log = logging.getLogger(__name__)

STREAMING_SUPPORTED = all(
    hasattr(AsyncWebClient, name) for name in ("chat_startStream", "chat_appendStream",
                                               "chat_stopStream")
)
# chat.startStream / appendStream / stopStream: "Limit this field to 12,000 characters"
# (markdown_text, https://docs.slack.dev/reference/methods/chat.appendStream).
MARKDOWN_LIMIT = 12_000


def without_retries(client: AsyncWebClient) -> AsyncWebClient:
    """``client`` (same token, URL and HTTP session) without slack_sdk's retry handlers."""
    quick = copy.copy(client)
    quick.retry_handlers = []
    return quick


class ReplyStream:
    """One answer in progress. ``on_partial`` is handed to ``Core.handle``; afterwards
    ``finish`` turns the in-progress message into the final reply (or reports that it could
    not, so the caller posts the reply normally). ``abandoned``: what an answer left
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
        self.quick = without_retries(client)  # partial updates: skipped rather than waited for
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
        self.done = False  # the message says the final answer (or was deleted)
        self._stopped = False  # the stream was ended
        self._sent = ""  # text the streaming API has received
        self._shown = ""  # what the placeholder shows
        self._last = 0.0
        self._quiet_until = 0.0  # Slack's Retry-After of a rate-limited update
        self._frozen = False  # no more partial updates for this answer
        self._uncertain = False  # a call to the stream may or may not have taken effect

    @property
    def started(self) -> bool:
        return self.ts is not None

    async def on_partial(self, text: str) -> None:
        """Called with the whole text so far as chunks arrive; never raises and never waits
        for Slack's rate limits (a display problem must not hold up or abort the answer)."""
        now = self.clock()
        if self._frozen or not text.strip() or now < self._quiet_until:
            return
        if self.ts is not None and now - self._last < self.interval:
            return
        self._last = now
        try:
            if self.ts is None:
                await self._start(text)
            else:
                await self._progress(text)
        except Exception as exc:  # whatever the preview does, the answer goes on
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if errors.passing(exc):  # rate limited, Slack in trouble: later updates may work
            self._quiet_until = self.clock() + errors.retry_after(exc)
            log.info("partial answer in %s not shown (%s); updates resume in %.0f s",
                     self.channel, exc, self._quiet_until - self.clock())
            return
        # Refused for good, or no answer: had a stream or placeholder been started (unknown),
        # starting another would leave one unfinished; and a stream's content is unknown.
        self._frozen = True
        self._uncertain = not errors.answered(exc)
        log.warning("could not show partial answer in %s, stopping updates: %s",
                    self.channel, exc)

    async def _start(self, text: str) -> None:
        if self.streaming:
            preview = text[:MARKDOWN_LIMIT]
            try:
                response = await self.quick.chat_startStream(
                    channel=self.channel,
                    thread_ts=self.thread_ts or "",
                    recipient_team_id=self.team_id or None,
                    recipient_user_id=self.user_id or None,
                    markdown_text=preview,
                )
            except SlackApiError as exc:
                if not errors.answered(exc) or errors.passing(exc):
                    raise
                log.info("chat streaming refused (%s); using message updates", exc)
                self.streaming = False
                if self.on_refused is not None:
                    self.on_refused()
            else:
                self.ts = str(response["ts"])
                self._sent = preview
                return
        payload = placeholder_payload(text)
        response = await self.quick.chat_postMessage(
            channel=self.channel, thread_ts=self.thread_ts, **payload
        )
        self.ts = str(response["ts"])
        self._shown = payload["text"]

    async def _progress(self, text: str) -> None:
        assert self.ts is not None
        if not self.streaming:
            payload = placeholder_payload(text)
            if payload["text"] != self._shown:
                await self.quick.chat_update(channel=self.channel, ts=self.ts, **payload)
                self._shown = payload["text"]
            return
        if not text.startswith(self._sent):
            return  # the model's text changed under us: the final answer will replace it
        more = text[len(self._sent):TEXT_LIMIT][:MARKDOWN_LIMIT]
        if more:
            await self.quick.chat_appendStream(
                channel=self.channel, ts=self.ts, markdown_text=more
            )
            self._sent += more

    async def finish(self, reply: Reply, parts: list[dict[str, Any]]) -> str | None:
        """Make the in-progress message say ``reply``, whose messages are ``parts``
        (:func:`adapters.slack.render.message_payloads`): returns its ts once it says the
        first of them, or None when nothing was started or it could not be made to (the caller
        then posts every part, and deletes this message with :meth:`discard`)."""
        if self.ts is None:
            return None
        rest = reply.text[len(self._sent):]
        if (self.streaming and not self._uncertain and len(parts) == 1 and not reply.native
                and reply.text.startswith(self._sent) and len(rest) <= MARKDOWN_LIMIT):
            try:
                await self.client.chat_stopStream(
                    channel=self.channel, ts=self.ts, markdown_text=rest or None,
                    blocks=extra_blocks(reply) or None,
                )
                self.done = self._stopped = True
                return self.ts
            except CALL_ERRORS as exc:
                log.warning("could not finish the stream in %s, replacing it: %s",
                            self.channel, exc)
        # The core reshaped the text (verbosity, emoji, a truncation note), the reply brings
        # its own blocks or needs several messages, or the stop failed: streamed text cannot
        # be taken back, so stop the stream and replace the message.
        first = parts[0]
        if self.streaming:
            await self._stop()
            # Drawn as sections even without buttons: a chat.update with text alone leaves
            # the blocks a message has as they were (python-slack-sdk#523), and what Slack
            # made of the streamed Markdown would stay on screen.
            first = {"blocks": text_blocks(first["text"]), **first}
        try:
            await self.client.chat_update(channel=self.channel, ts=self.ts, **first)
        except CALL_ERRORS as exc:
            log.warning("could not finalise the answer in %s, posting it anew: %s",
                        self.channel, exc)
            return None
        self.done = True
        return self.ts

    async def _stop(self) -> None:
        """End the stream; refused when it ended already (an earlier stop, or Slack's own
        timeout), which is all this asks."""
        assert self.ts is not None
        if self._stopped:
            return
        try:
            await self.client.chat_stopStream(channel=self.channel, ts=self.ts)
            self._stopped = True
        except CALL_ERRORS as exc:
            log.info("stream in %s not stopped: %s", self.channel, exc)

    async def discard(self) -> None:
        """The answer was posted anew: delete the unfinished message, so that it is there
        once."""
        if self.ts is None or self.done:
            return
        if self.streaming:
            await self._stop()
        try:
            await self.client.chat_delete(channel=self.channel, ts=self.ts)
            self.done = True
        except CALL_ERRORS as exc:
            log.warning("could not delete the unfinished answer in %s: %s", self.channel, exc)

    async def abandon(self) -> None:
        """The core failed after text was shown: say so instead of leaving half an answer."""
        if self.ts is None or self.done:
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
        except CALL_ERRORS as exc:
            log.warning("could not close abandoned answer in %s: %s", self.channel, exc)
