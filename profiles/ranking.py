"""Ranking candidates (recommendations, digest items) against a profile.

One scorer for every list the bot shows, so "why was this picked" reads the same everywhere:

* **relevance**: each candidate topic is matched against the person's decayed interests by
  token overlap (Jaccard on lightly stemmed words), so the interest "rust async" supports the
  item topic "async rust runtimes";
* **collaborative**: an optional per-item score from similar people (cold start);
* **freshness**: items lose half their freshness bonus every ``freshness_half_life``;
* **avoided topics** remove an item outright, items already shown or disliked are excluded;
* **diversity**: a greedy re-rank (maximal marginal relevance) discounts items whose topics
  were already picked, so one topic cannot fill the list.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[\w+#]+", re.UNICODE)


def _stem(word: str) -> str:
    """Plural folding, enough for topic matching: runtimes→runtime, boxes→box, stories→story."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=65_536)
def tokens(text: str) -> frozenset[str]:
    """Cached: the same topics are matched against many interests and many candidates."""
    return frozenset(_stem(t) for t in _TOKEN.findall(text.lower()) if len(t) > 1)


def similarity(a: str, b: str) -> float:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def mentions_any(text: str, phrases: Iterable[str]) -> str | None:
    """The first phrase that occurs in ``text`` as whole words, if any."""
    lowered = text.lower()
    for phrase in phrases:
        phrase = phrase.strip().lower()
        if phrase and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered):
            return phrase
    return None


@dataclass(frozen=True, slots=True)
class Candidate:
    key: str
    title: str
    topics: tuple[str, ...] = ()
    text: str = ""
    published_at: dt.datetime | None = None
    source: str = ""
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def why(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "something new for you"


@dataclass(frozen=True, slots=True)
class RankingSettings:
    relevance_weight: float = 1.0
    collaborative_weight: float = 0.6
    freshness_weight: float = 0.3
    freshness_half_life: dt.timedelta = dt.timedelta(days=2)
    diversity: float = 0.6  # multiplier per already-picked shared topic (1 = no diversity)
    min_relevance: float = 0.0


class _InterestIndex:
    """A person's interests prepared once per ranking: tokenised, normalised by the top
    weight, and a memo of each distinct candidate topic's match. Candidates share topics
    (every item of a feed or catalogue carries a few of the same tags), so scoring a pool
    costs one match per distinct topic instead of one per candidate and topic."""

    __slots__ = ("interests", "memo")

    def __init__(self, interests: Mapping[str, float]) -> None:
        top_weight = max(interests.values(), default=0.0) or 1.0
        self.interests = [
            (interest, tokens(interest), weight / top_weight)
            for interest, weight in interests.items()
            if weight > 0
        ]
        self.memo: dict[str, tuple[float, float, str]] = {}

    def match(self, topic: str) -> tuple[float, float, str]:
        """(summed match, best match, best interest) of one candidate topic."""
        found = self.memo.get(topic)
        if found is None:
            words = tokens(topic)
            total, best, best_interest = 0.0, 0.0, ""
            for interest, interest_words, share in self.interests:
                if not words or not interest_words:
                    continue
                common = len(words & interest_words)
                if not common:
                    continue
                match = common / len(words | interest_words) * share
                total += match
                if match > best:
                    best, best_interest = match, interest
            found = self.memo[topic] = (total, best, best_interest)
        return found


class Ranker:
    def __init__(self, settings: RankingSettings | None = None) -> None:
        self.settings = settings or RankingSettings()

    def score(
        self,
        candidate: Candidate,
        interests: Mapping[str, float],
        *,
        collaborative: float = 0.0,
        now: dt.datetime | None = None,
    ) -> Ranked:
        return self._score(candidate, _InterestIndex(interests), collaborative, now)

    def _score(
        self,
        candidate: Candidate,
        index: _InterestIndex,
        collaborative: float,
        now: dt.datetime | None,
    ) -> Ranked:
        score, interest, fresh = self._parts(candidate, index, collaborative, now)
        return Ranked(candidate, score, self._reasons(interest, collaborative, fresh))

    def _parts(
        self,
        candidate: Candidate,
        index: _InterestIndex,
        collaborative: float,
        now: dt.datetime | None,
    ) -> tuple[float, str, float]:
        """(score, best matching interest, freshness): numbers only, so a pool of hundreds
        is scored without building an explanation for items that will not be shown."""
        s = self.settings
        relevance = 0.0
        best: tuple[float, str] = (0.0, "")
        for topic in candidate.topics or (candidate.title,):
            total, match, interest = index.match(topic)
            relevance += total
            if match > best[0]:
                best = (match, interest)
        score = s.relevance_weight * relevance + s.collaborative_weight * collaborative
        fresh = -1.0
        if candidate.published_at is not None and now is not None:
            age = max(0.0, (now - candidate.published_at).total_seconds())
            fresh = 0.5 ** (age / s.freshness_half_life.total_seconds())
            score += s.freshness_weight * fresh
        return score, best[1], fresh

    @staticmethod
    def _reasons(interest: str, collaborative: float, fresh: float) -> tuple[str, ...]:
        reasons: list[str] = []
        if interest:
            reasons.append(f"matches your interest in {interest}")
        if collaborative >= 0.2:
            reasons.append("liked by people with similar interests")
        if fresh > 0.7:
            reasons.append("new")
        return tuple(reasons)

    def rank(
        self,
        candidates: Sequence[Candidate],
        interests: Mapping[str, float],
        *,
        avoid: Sequence[str] = (),
        exclude: Iterable[str] = (),
        collaborative: Mapping[str, float] | None = None,
        now: dt.datetime | None = None,
        limit: int = 10,
    ) -> list[Ranked]:
        excluded = set(exclude)
        collaborative = collaborative or {}
        index = _InterestIndex(interests)
        scored: list[tuple[Ranked, str, float, float]] = []
        seen: set[str] = set()
        minimum = self.settings.min_relevance
        for candidate in candidates:
            if candidate.key in excluded or candidate.key in seen:
                continue
            seen.add(candidate.key)
            if avoid and mentions_any(
                " ".join((candidate.title, candidate.text, *candidate.topics)), avoid
            ):
                continue
            collab = collaborative.get(candidate.key, 0.0)
            score, interest, fresh = self._parts(candidate, index, collab, now)
            if score >= minimum:
                # Reasons are written only for what is chosen (below): same text, less work.
                scored.append((Ranked(candidate, score), interest, collab, fresh))
        explain = {id(r.candidate): (i, c, f) for r, i, c, f in scored}
        chosen = self.diversify([r for r, _, _, _ in scored], limit)
        return [
            Ranked(r.candidate, r.score, self._reasons(*explain[id(r.candidate)]))
            for r in chosen
        ]

    def diversify(self, pool: list[Ranked], limit: int) -> list[Ranked]:
        """Greedy MMR: repeatedly take the best item after discounting topics already taken
        (ties go to the higher score, then the smaller key).

        Lazy greedy, O((n + k·t) log n) instead of O(n·k): a discount only ever lowers an
        item's value (scores ≥ 0, diversity in [0, 1]), so a value computed earlier is an
        upper bound. The heap's top is re-scored; if its value still holds, nothing below it
        can beat it. Outside those conditions the plain scan gives the same answer."""
        d = self.settings.diversity
        if not 0.0 <= d <= 1.0 or any(r.score < 0 for r in pool):
            return self._diversify_scan(pool, limit)
        ordered = sorted(pool, key=lambda r: (-r.score, r.candidate.key))
        heap = [(-r.score, position, 0) for position, r in enumerate(ordered)]  # sorted: a heap
        chosen: list[Ranked] = []
        taken: dict[str, int] = {}
        while heap and len(chosen) < limit:
            _, position, repeats_then = heap[0]
            item = ordered[position]
            repeats = sum(taken.get(t, 0) for t in item.candidate.topics)
            if repeats != repeats_then:
                heapq.heapreplace(heap, (-(item.score * d**repeats), position, repeats))
                continue
            heapq.heappop(heap)
            chosen.append(Ranked(item.candidate, item.score * d**repeats, item.reasons))
            for topic in item.candidate.topics:
                taken[topic] = taken.get(topic, 0) + 1
        return chosen

    def _diversify_scan(self, pool: list[Ranked], limit: int) -> list[Ranked]:
        """The reference greedy scan (quadratic); used where the lazy form's bound fails."""
        chosen: list[Ranked] = []
        taken: dict[str, int] = {}
        remaining = sorted(pool, key=lambda r: (-r.score, r.candidate.key))
        while remaining and len(chosen) < limit:
            best_index, best_value = 0, float("-inf")
            for index, item in enumerate(remaining):
                repeats = sum(taken.get(t, 0) for t in item.candidate.topics)
                value = item.score * (self.settings.diversity**repeats)
                if value > best_value:
                    best_index, best_value = index, value
                if repeats == 0:
                    break  # sorted by score: nothing later can beat an undiscounted item
            item = remaining.pop(best_index)
            chosen.append(Ranked(item.candidate, best_value, item.reasons))
            for topic in item.candidate.topics:
                taken[topic] = taken.get(topic, 0) + 1
        return chosen
