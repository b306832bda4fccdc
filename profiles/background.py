"""What everyone says is nobody's interest: a person's topics weighed against their workspace.

A topic's *document frequency* is the number of people in the workspace (who allow learning)
with that topic in their profile. A topic most of them share ("meeting", "lunch", or filler
that slipped through) says little about any one of them; one only they talk about says a lot.
A topic several people share is still theirs (five sports fans in fifty); only what a large
share of the workspace says loses weight, with the log of that share:

    share = (df − 1) / N
    factor = 1                                 while share ≤ 10 %
    factor = max(0.05, ln(1/share) / ln 10)    above: 0.6 at 25 %, 0.3 at 50 %, 0.05 at all

Until a workspace has :data:`MIN_PEOPLE` learning people there is no background to speak of
and every factor is 1. Counts are cached per workspace for a few minutes: they move slowly and
are the same for everyone there.

This module also groups a person's topics into *families* ("rust async", "async rust" and
"async runtime" share words) so that one subject is one entry, shown with its variants.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import Consent, ConsentStatus, Interest, Person
from profiles.topics import GENERIC_ALONE, SINGLE_MAX, candidate, is_filler, topic_words, zipf

MIN_PEOPLE = 5
# A topic shared by up to this share of the workspace is fully distinctive; beyond it the
# weight falls with the log of the share, to MIN_FACTOR for what everyone says.
FREE_SHARE = 0.1
MIN_FACTOR = 0.05
# "Popular here" (cold start): shared by at least this many people, and by at most this
# share of the workspace once it has MIN_PEOPLE people (what everyone says is not a topic).
POPULAR_MIN_PEOPLE = 2
POPULAR_MAX_SHARE = 0.5
FAMILY_WORD_MAX = 5.0


def distinctiveness(df: int, people: int) -> float:
    if people < MIN_PEOPLE or df <= 1:
        return 1.0
    share = (min(df, people) - 1) / people  # of the others, how many share it
    if share <= FREE_SHARE:
        return 1.0
    return max(MIN_FACTOR, math.log(1 / share) / math.log(1 / FREE_SHARE))


@functools.lru_cache(maxsize=50_000)
def is_junk(topic: str) -> bool:
    """A stored topic that today's extraction would never produce (profiles learned before
    it, or by an older version): made only of filler, or one everyday word."""
    words = topic.split()
    if all(is_filler(w) or w in GENERIC_ALONE for w in words):
        return True
    return len(words) == 1 and zipf(words[0], "en") >= SINGLE_MAX


@dataclass(slots=True)
class _Entry:
    loaded_at: float
    people: int
    df: dict[str, int] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)  # consent states counted there


OptOutIn = Callable[[AsyncSession, str, str], Awaitable[bool]]


def learning_statuses(opt_out: bool) -> list[str]:
    """Consent states that allow learning in a workspace of this mode (the SQL twin of the
    consent gate for an unanswered consent)."""
    if opt_out:
        return [ConsentStatus.GRANTED.value, ConsentStatus.UNKNOWN.value]
    return [ConsentStatus.GRANTED.value]


class WorkspaceBackground:
    """Per-workspace document frequencies, fetched for the topics asked about and cached."""

    def __init__(self, *, opt_out_in: OptOutIn, ttl_seconds: float = 300.0) -> None:
        """``opt_out_in``: the workspace's consent mode (``ProfileEngine.opt_out_in``), read
        when a workspace's entry is (re)loaded: who counts is whoever the consent gate lets
        the bot learn from there, so an admin's default applies within ``ttl_seconds``."""
        self.opt_out_in = opt_out_in
        self.ttl = ttl_seconds
        self._cache: dict[tuple[str, str], _Entry] = {}

    async def factors(
        self, session: AsyncSession, platform: str, workspace: str, topics: Iterable[str]
    ) -> dict[str, float]:
        wanted = set(topics)
        key = (platform, workspace)
        entry = self._cache.get(key)
        if entry is None or time.monotonic() - entry.loaded_at > self.ttl:
            allowed = learning_statuses(await self.opt_out_in(session, platform, workspace))
            entry = _Entry(time.monotonic(), 0, allowed=allowed)
            entry.people = await self._people(session, platform, workspace, allowed)
            self._cache[key] = entry
        if entry.people < MIN_PEOPLE:
            return {t: 1.0 for t in wanted}
        missing = sorted(wanted - entry.df.keys())
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            found = await self._df(session, platform, workspace, chunk, entry.allowed)
            for topic in chunk:
                entry.df[topic] = found.get(topic, 0)
        return {t: distinctiveness(entry.df.get(t, 0), entry.people) for t in wanted}

    async def _people(
        self, session: AsyncSession, platform: str, workspace: str, allowed: list[str]
    ) -> int:
        stmt = (
            select(func.count(func.distinct(Interest.person_id)))
            .join(Person, Person.id == Interest.person_id)  # type: ignore[arg-type]
            .join(Consent, Consent.person_id == Interest.person_id)  # type: ignore[arg-type]
            .where(
                Person.platform == platform,
                Person.workspace == workspace,
                Consent.status.in_(allowed),  # type: ignore[attr-defined]
            )
        )
        result = await session.exec(stmt)
        return int(result.one() or 0)

    async def _df(
        self, session: AsyncSession, platform: str, workspace: str, topics: list[str],
        allowed: list[str],
    ) -> dict[str, int]:
        people = func.count(func.distinct(Interest.person_id))
        stmt = (
            select(Interest.topic, people)
            .join(Person, Person.id == Interest.person_id)  # type: ignore[arg-type]
            .join(Consent, Consent.person_id == Interest.person_id)  # type: ignore[arg-type]
            .where(
                Interest.topic.in_(topics),  # type: ignore[attr-defined]
                Person.platform == platform,
                Person.workspace == workspace,
                Consent.status.in_(allowed),  # type: ignore[attr-defined]
            )
            .group_by(Interest.topic)
        )
        result = await session.exec(stmt)
        return {str(topic): int(n) for topic, n in result.all()}

    def people(self, platform: str, workspace: str) -> int:
        entry = self._cache.get((platform, workspace))
        return entry.people if entry else 0


def families(topics: Sequence[str]) -> list[list[str]]:
    """Group topics (strongest first) into families: a topic joins the first family whose
    head shares a word (lemma) with it, so "async rust" and "async runtime" join "rust
    async"; the head is the family's strongest member and names it."""
    groups: list[tuple[frozenset[str], list[str]]] = []
    for topic in topics:
        words = _family_key(topic)
        for head_words, members in groups:
            if words & head_words:
                members.append(topic)
                break
        else:
            groups.append((words, [topic]))
    return [members for _, members in groups]


@functools.lru_cache(maxsize=50_000)
def _family_key(topic: str) -> frozenset[str]:
    """The words a family is recognised by: specific ones ("war" would join "star wars" and
    "world war"), else all of them."""
    words = topic_words(topic) - GENERIC_ALONE
    specific = frozenset(w for w in words if zipf(w, "en") < FAMILY_WORD_MAX)
    return specific or words


def family_label(members: Sequence[tuple[str, float]]) -> str:
    """What a family is called: the word sequence its members share most, by weight
    ("film noir" for "film noir classic", "film noir detective" …); longer wins ties, so
    "film noir" beats "noir". A phrase that is junk on its own never names a family."""
    scores: dict[str, float] = {}
    for topic, weight in members:
        words = topic.split()
        grams = {
            " ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)
        }
        for gram in grams:
            scores[gram] = scores.get(gram, 0.0) + weight
    ranked = sorted(scores.items(), key=lambda kv: (-round(kv[1], 9), -len(kv[0].split()), kv[0]))
    for gram, _ in ranked:
        if gram in scores and _names_something(gram):
            return gram
    return members[0][0]


def _names_something(gram: str) -> bool:
    """A phrase extraction itself would keep as a topic ("large" would not)."""
    if is_junk(gram) or not _family_key(gram):
        return False
    found = candidate([(w, False) for w in gram.split()], "en")
    return found is not None and found[0] == gram
