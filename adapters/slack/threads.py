"""Which channel threads are conversations with the bot, and who is in them.

Slack sends every message of the channels the bot is in. A reply in a thread is addressed to
the bot (the core answers it) only if it is a follow-up: its author has @mentioned the bot in
that thread, or the bot itself started the thread. People chatting among themselves under a
bot answer are not interrupted (the core still learns from them, with consent).

Known threads are kept in memory (bounded). A thread this process has not seen (another
replica handled the mention, or the process restarted) is read once with
``conversations.replies``; a "not a bot thread" answer expires after ``negative_ttl`` so a
later mention handled elsewhere is picked up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.lru import LRU
from adapters.slack import markup
from adapters.slack.translate import BotIdentity

log = logging.getLogger(__name__)

ANYONE = "*"  # member marker: the bot started the thread, every reply is for it
THREAD_READ_LIMIT = 2000  # replies read to learn who talks to the bot in a thread


class ThreadTracker:
    def __init__(
        self, client: AsyncWebClient, *, size: int = 5000, negative_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._negative_ttl = negative_ttl
        self._clock = clock
        self._threads: LRU[tuple[str, str], tuple[float, frozenset[str]]] = LRU(size)

    async def addressed(self, channel: str, thread: str, user: str, bot: BotIdentity) -> bool:
        """True when ``user``'s reply in this thread is a follow-up to the bot."""
        members = await self.members(channel, thread, bot)
        return ANYONE in members or user in members

    async def members(self, channel: str, thread: str, bot: BotIdentity) -> frozenset[str]:
        cached = self._threads.get((channel, thread))
        if cached is not None:
            checked, known = cached
            if known or self._clock() - checked < self._negative_ttl:
                return known
        members = await self._read(channel, thread, bot)
        self._threads.put((channel, thread), (self._clock(), members))
        return members

    def joined(self, channel: str, thread: str, user: str) -> None:
        """``user`` mentioned the bot in this thread (or started it with a mention)."""
        cached = self._threads.get((channel, thread))
        known = cached[1] if cached else frozenset()
        self._threads.put((channel, thread), (self._clock(), known | {user}))

    async def _read(self, channel: str, thread: str, bot: BotIdentity) -> frozenset[str]:
        members: set[str] = set()
        messages: list[dict[str, Any]] = []
        try:
            first = await self._client.conversations_replies(channel=channel, ts=thread,
                                                             limit=200)
            # every page (a mention after the first hundred replies was not seen) up to a
            # bound: a thread is read once per process and person
            async for page in first:
                messages.extend(page.get("messages") or [])
                if len(messages) >= THREAD_READ_LIMIT:
                    break
        except (SlackApiError, SlackClientError) as exc:
            log.info("could not read thread %s/%s: %s", channel, thread, exc)
            if not messages:
                return frozenset()
        for index, message in enumerate(messages):
            by_bot = message.get("user") == bot.user_id or (
                bot.bot_id is not None and message.get("bot_id") == bot.bot_id
            )
            if index == 0 and by_bot:
                members.add(ANYONE)
            elif bot.user_id and markup.mentions(str(message.get("text") or ""), bot.user_id):
                members.add(str(message.get("user")))
        return frozenset(members)
