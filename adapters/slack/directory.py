"""Who is who: a small cache in front of ``users.info``.

Every message needs the sender's timezone and locale (the core's platform context) and the
names of people it mentions (for :func:`adapters.slack.markup.normalise`). ``users.info`` is a
Tier 4 method but still rate limited, and it adds a round trip to the hot path, so answers are
cached for ``ttl`` seconds. ``user_change`` events invalidate an entry at once, so a person who
moves timezone is seen with the new one on their next message.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlackUser:
    """The parts of a Slack user object the adapter uses."""

    id: str
    name: str | None = None
    timezone: str | None = None
    locale: str | None = None
    is_bot: bool = False
    deleted: bool = False
    is_admin: bool = False  # workspace admin or owner: may use /admin

    @classmethod
    def from_api(cls, user: dict[str, Any]) -> SlackUser:
        profile = user.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
        )
        return cls(
            id=user["id"],
            name=name or None,
            timezone=user.get("tz") or None,
            locale=user.get("locale") or None,
            is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
            deleted=bool(user.get("deleted")),
            is_admin=any(bool(user.get(k)) for k in ("is_admin", "is_owner",
                                                       "is_primary_owner")),
        )


class UserDirectory:
    """Bounded, time-limited cache of :class:`SlackUser`; failures degrade to "unknown"
    (empty context) rather than blocking a reply."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float = 3600.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: collections.OrderedDict[str, tuple[float, SlackUser]] = (
            collections.OrderedDict()
        )

    async def get(self, user_id: str) -> SlackUser:
        now = self._clock()
        cached = self._entries.get(user_id)
        if cached is not None and now - cached[0] < self._ttl:
            self._entries.move_to_end(user_id)
            return cached[1]
        try:
            # include_locale: the locale is only returned when asked for.
            response = await self._client.users_info(user=user_id, include_locale=True)
            user = SlackUser.from_api(response["user"])
        except (SlackApiError, SlackClientError, KeyError) as exc:
            log.info("users.info failed for %s: %s", user_id, exc)
            return cached[1] if cached is not None else SlackUser(id=user_id)
        self._entries[user_id] = (now, user)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return user

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Display names for mentioned users (ids without a known name are left out)."""
        found: dict[str, str] = {}
        for user_id in user_ids:
            user = await self.get(user_id)
            if user.name:
                found[user_id] = user.name
        return found

    def forget(self, user_id: str) -> None:
        """Drop a cached entry (profile changed, or the person was deleted)."""
        self._entries.pop(user_id, None)
