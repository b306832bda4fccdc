"""One bundle of Slack clients per workspace: the Web API client carrying that workspace's bot
token, and the caches and sender built on it.

Single-token mode (``SLACK_BOT_TOKEN``): every team id maps to the one bundle, exactly as
before distribution existed. OAuth mode ("Add to Slack"): each workspace that installed the app
has its own bot token in the installation store; its bundle is built on first use, kept (LRU),
and dropped when the workspace uninstalls or its tokens are revoked. Events, commands, buttons,
scheduled digests and replayed replies all go through :meth:`Workspaces.get`, so nothing ever
talks to one workspace with another's token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.lru import LRU
from adapters.slack.delivery import Deliverer
from adapters.slack.directory import UserDirectory
from adapters.slack.threads import ThreadTracker

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Workspace:
    """Everything the adapter needs to talk to one workspace."""

    team_id: str | None
    client: AsyncWebClient
    users: UserDirectory
    threads: ThreadTracker
    deliverer: Deliverer


class Workspaces:
    """``get(team_id)`` → the workspace's bundle, or None when the app is not installed there."""

    def __init__(
        self,
        build: Callable[[str | None, str | None], Workspace],
        *,
        store: AsyncInstallationStore | None = None,
        single_token: str | None = None,
        size: int = 1000,
    ) -> None:
        """``build(team_id, token)`` makes a bundle. With a ``store`` (OAuth mode) tokens come
        from it per team; otherwise ``single_token`` serves every team."""
        self._build = build
        self._store = store
        self._single = None if store is not None else build(None, single_token)
        self._bundles: LRU[str, Workspace] = LRU(size)

    @property
    def distributed(self) -> bool:
        return self._store is not None

    async def get(self, team_id: str) -> Workspace | None:
        if self._single is not None:
            return self._single
        bundle = self._bundles.get(team_id)
        if bundle is not None:
            return bundle
        assert self._store is not None
        bot = await self._store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            log.info("Slack workspace %s has not installed the app", team_id)
            return None
        bundle = self._build(team_id, bot.bot_token)
        self._bundles.put(team_id, bundle)
        return bundle

    def evict(self, team_id: str) -> None:
        """Forget a workspace's bundle (uninstalled, tokens revoked, token changed)."""
        self._bundles.pop(team_id)
