"""Streaming a reply as it is written: the first partial text posts a message, later ones edit
it at most once per ``interval`` seconds.

Discord allows about five edits per five seconds per channel; a model streams tokens many
times a second, so partials in between are dropped (the next allowed edit shows everything up
to then, and the final reply always replaces the preview). No timer runs in the background: an
edit happens only when a partial arrives, so a stalled model leaves nothing scheduled.

The clock is the event loop's, which is what tests with a virtual clock (SimCord) control.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord

from adapters.discord.render import preview

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1.0


class StreamingReply:
    """``update`` is the core's ``on_partial`` callback; ``message`` is what it posted."""

    def __init__(
        self,
        post: Callable[[str], Awaitable[discord.Message]],
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._post = post
        self._interval = interval
        self._last_at = 0.0
        self._shown = ""
        self._broken = False
        self.message: discord.Message | None = None
        self.edits = 0

    async def update(self, text: str) -> None:
        shown = preview(text)
        if self._broken or not shown or shown == self._shown:
            return
        now = asyncio.get_running_loop().time()
        try:
            if self.message is None:
                self.message = await self._post(shown)
            elif now - self._last_at >= self._interval:
                await self.message.edit(content=shown)
                self.edits += 1
            else:
                return
        except discord.HTTPException as exc:
            # A failed preview must not fail the answer: stop previewing, the final reply
            # is still delivered normally.
            log.warning("streaming preview stopped: %s", exc)
            self._broken = True
            return
        self._shown = shown
        self._last_at = now
