"""Texts of recent messages an adapter keeps in memory, and its part of /forget for them.

A reaction says which message it is on, not what the message said: Slack's adapter keeps the
text of recent messages to tell the core (no API call per reaction), Discord's the texts it
had to fetch. They are people's words: the author's /forget (or consent revocation) removes
them, through the core's deletion contract (bot/features.py), as a cog's data-deletion
method does in Red-DiscordBot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.lru import LRU
from bot.features import FeatureBase
from profiles.models import Person


@dataclass(frozen=True, slots=True)
class RecentText:
    """A message's normalised text, who wrote it where, and the names it mentions."""

    workspace: str
    user: str
    text: str
    mentioned_names: tuple[str, ...] = ()


class RecentTextEraser(FeatureBase):
    """Drops the entries of a forgotten (or no longer consenting) person from ``texts``, so
    no copy of their words stays in memory and no one's reaction learns from one."""

    def __init__(self, name: str, platform: str, texts: LRU[Any, RecentText]) -> None:
        self.name = name
        self._platform = platform
        self._texts = texts

    async def delete_person_data(self, person: Person) -> None:
        if person.platform == self._platform:
            self._texts.drop_where(
                lambda kept: (kept.workspace, kept.user) == (person.workspace, person.user_id))

    async def delete_workspace_data(self, platform: str, workspace: str) -> None:
        if platform == self._platform:
            self._texts.drop_where(lambda kept: kept.workspace == workspace)
