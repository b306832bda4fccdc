"""The consent question, worded for the surface it appears on, and the conversation held
while it is open.

Why per surface: the terminal has no channels and no colleagues, so a notice about digests
of public channels there is simply wrong; Discord meets one account in many servers, so it
offers one choice for all of them (each server's data still stays apart; see
``ProfileEngine.consent``).

Why :class:`AwaitingConsent`: the first message someone sends usually gets the notice and an
answer, but nothing may be stored before they allow it. Those exchanges are held in memory
only (a few turns, for a limited time, dropped on "Not now", revocation or /forget) and
written to the conversation when they say yes, so the model does not lose the start of the
conversation. Limit: a restart, or a grant handled by another worker, loses them (they were
never stored, by design).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.events import Button, ButtonStyle
from bot.features import FeatureBase
from bot.i18n import N_, t
from profiles.engine import PersonKey
from profiles.models import Person

# Platforms where one account meets the bot in several workspaces (Discord servers); the
# notice offers "allow in every server" there.
SPANS_WORKSPACES = frozenset({"discord"})

NOTICE_TERMINAL = N_(
    "Hi! I can adapt to you: I'd learn the topics you talk about, your language, how long and "
    "formal your messages are, when you're usually around, and how you react to my replies. "
    "It stays in this bot's database; you can see it (/profile), export it (/export) or erase "
    "it (/forget) at any time. Allow me to learn from your messages?"
)
NOTICE_WORKSPACE = N_(
    "Hi! I can adapt to you: I'd learn the topics you talk about, your language, how long and "
    "formal your messages are, when you're usually around, and how you react to my replies. "
    "Short excerpts of what you post in public channels may appear in colleagues' digests. "
    "I keep it per workspace, you can see it (/profile), export it (/export) or erase it "
    "(/forget) at any time. Allow me to learn from your messages?"
)
NOTICE_SERVERS = N_(
    "Hi! I can adapt to you: I'd learn the topics you talk about, your language, how long and "
    "formal your messages are, when you're usually around, and how you react to my replies. "
    "Short excerpts of what you post in public channels may appear in other members' digests. "
    "What I learn in one server stays in that server. You can see it (/profile), export it "
    "(/export) or erase it (/forget) at any time. Allow me to learn from your messages, here "
    "only or in every server where we meet?"
)


def consent_notice(platform: str, locale: str | None) -> str:
    if platform == "terminal":
        return t(NOTICE_TERMINAL, locale)
    if platform in SPANS_WORKSPACES:
        return t(NOTICE_SERVERS, locale)
    return t(NOTICE_WORKSPACE, locale)


def consent_buttons(platform: str, locale: str | None) -> list[Button]:
    if platform in SPANS_WORKSPACES:
        return [
            Button(
                "consent.grant_everywhere",
                t("Allow in every server", locale),
                style=ButtonStyle.PRIMARY,
            ),
            Button("consent.grant", t("Allow here only", locale)),
            Button("consent.decline", t("Not now", locale)),
        ]
    return [
        Button("consent.grant", t("Allow", locale), style=ButtonStyle.PRIMARY),
        Button("consent.decline", t("Not now", locale)),
    ]


@dataclass(frozen=True, slots=True)
class HeldTurn:
    role: str
    text: str
    channel_id: str
    thread_id: str | None
    platform_message_id: str | None
    at: dt.datetime


class AwaitingConsent(FeatureBase):
    """Exchanges of people whose consent is still unanswered, in memory only. A feature so
    that /forget and revocation drop what is held like any other feature's data."""

    name = "held_exchanges"

    def __init__(
        self,
        clock: Callable[[], dt.datetime],
        *,
        max_people: int = 10_000,
        max_turns: int = 6,
        keep_for: dt.timedelta = dt.timedelta(hours=1),
        sweep_every: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self.clock = clock
        self.max_people = max_people
        self.max_turns = max_turns
        self.keep_for = keep_for
        self.sweep_every = sweep_every
        # In the order of each person's latest turn: the longest silent first.
        self._held: collections.OrderedDict[PersonKey, list[tuple[dt.datetime, HeldTurn]]] = (
            collections.OrderedDict()
        )
        self._sweeper: asyncio.TimerHandle | None = None

    def hold(self, key: PersonKey, *turns: HeldTurn) -> None:
        now = self.clock()
        self._drop_silent(now)
        held = self._fresh(self._held.pop(key, []), now)
        held.extend((now, turn) for turn in turns)
        self._held[key] = held[-self.max_turns :]
        while len(self._held) > self.max_people:
            self._held.popitem(last=False)
        self._arm()

    def take(self, key: PersonKey) -> list[HeldTurn]:
        """The person's held turns (and forget them here), oldest first, expired ones
        dropped."""
        return [turn for _, turn in self._fresh(self._held.pop(key, []), self.clock())]

    def sweep(self) -> None:
        """Drops every turn held longer than ``keep_for``. Why a timer calls it: ``take``
        filters what it returns, but the words of someone who never answers stayed in
        memory until 10,000 other people pushed them out (privacy audit) — now at most
        ``keep_for`` + ``sweep_every`` (an hour and a minute)."""
        now = self.clock()
        for key in list(self._held):
            kept = self._fresh(self._held[key], now)
            if kept:
                self._held[key] = kept
            else:
                del self._held[key]

    def _fresh(
        self, held: list[tuple[dt.datetime, HeldTurn]], now: dt.datetime
    ) -> list[tuple[dt.datetime, HeldTurn]]:
        """The turns of ``held`` not older than ``keep_for``."""
        oldest = now - self.keep_for
        return [entry for entry in held if entry[0] >= oldest]

    def _drop_silent(self, now: dt.datetime) -> None:
        """The people whose latest turn expired, from the front: cheap enough for every
        hold, so a busy bot holds no one past ``keep_for`` between sweeps."""
        oldest = now - self.keep_for
        while self._held:
            key, held = next(iter(self._held.items()))
            if held[-1][0] >= oldest:
                return
            del self._held[key]

    def _arm(self) -> None:
        """A sweep every ``sweep_every`` while anything is held (none when nothing is: a
        quiet bot wakes for nothing). Outside an event loop (a script) nothing is armed."""
        if self._sweeper is not None or not self._held:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._sweeper = loop.call_later(self.sweep_every.total_seconds(), self._timer)

    def _timer(self) -> None:
        self._sweeper = None
        self.sweep()
        self._arm()

    async def close(self) -> None:
        """What is held is dropped with the process anyway; the timer goes with it."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def drop(self, key: PersonKey) -> None:
        self._held.pop(key, None)

    async def delete_person_data(self, person: Person) -> None:
        """/forget and revocation leave nothing held."""
        self.drop(PersonKey(person.platform, person.workspace, person.user_id))

    async def delete_workspace_data(self, platform: str, workspace: str) -> None:
        """The bot left the workspace: what its people said before answering goes too."""
        for key in [k for k in self._held if (k.platform, k.workspace) == (platform, workspace)]:
            del self._held[key]

    def __len__(self) -> int:
        return len(self._held)
