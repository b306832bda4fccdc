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
    ) -> None:
        self.clock = clock
        self.max_people = max_people
        self.max_turns = max_turns
        self.keep_for = keep_for
        self._held: collections.OrderedDict[PersonKey, list[tuple[dt.datetime, HeldTurn]]] = (
            collections.OrderedDict()
        )

    def hold(self, key: PersonKey, *turns: HeldTurn) -> None:
        now = self.clock()
        held = self._held.pop(key, [])
        held.extend((now, turn) for turn in turns)
        self._held[key] = held[-self.max_turns :]
        while len(self._held) > self.max_people:
            self._held.popitem(last=False)

    def take(self, key: PersonKey) -> list[HeldTurn]:
        """The person's held turns (and forget them here), oldest first, expired ones
        dropped."""
        oldest = self.clock() - self.keep_for
        return [turn for held_at, turn in self._held.pop(key, []) if held_at >= oldest]

    def drop(self, key: PersonKey) -> None:
        self._held.pop(key, None)

    async def delete_person_data(self, person: Person) -> None:
        """/forget and revocation leave nothing held."""
        self.drop(PersonKey(person.platform, person.workspace, person.user_id))

    def __len__(self) -> int:
        return len(self._held)
