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
class Reason:
    """Why an item was picked, as a code and the topic it names (if any): the bot words it in
    the reader's language (bot/profile_texts.py), since profiles/ never imports bot/."""

    code: str  # a key of REASON_TEXTS
    topic: str = ""

    @property
    def english(self) -> str:
        return REASON_TEXTS[self.code].format(topic=self.topic)


# The English wording of each reason: stored with a sent digest item, shown by the CLI.
REASON_TEXTS = {
    "interest": "matches your interest in {topic}",
    "similar_people": "liked by people with similar interests",
    "new": "new",
    "nothing": "something new for you",
    "also_new": "also new — not matched to your interests",  # digest padding
}
SIMILAR_PEOPLE, NEW = Reason("similar_people"), Reason("new")
NOTHING_SPECIAL = Reason("nothing")


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def why(self) -> str:
        """The reasons in English (what a sent item records)."""
        return "; ".join(r.english for r in self.reasons or (NOTHING_SPECIAL,))


@dataclass(frozen=True, slots=True)
class RankingSettings:
    relevance_weight: float = 1.0
    collaborative_weight: float = 0.6
    freshness_weight: float = 0.3
    freshness_half_life: dt.timedelta = dt.timedelta(days=2)
    diversity: float = 0.6  # multiplier per already-picked shared topic (1 = no diversity)
    min_relevance: float = 0.0


class InterestIndex:
    """A person's interests prepared once per ranking: tokenised, normalised by the top
    weight, an inverted index from word to the interests that contain it, and a memo of each
    distinct candidate topic's match. Candidates share topics (every item of a feed or
    catalogue carries a few of the same tags), so scoring a pool costs one match per distinct
    topic; a match visits only the interests that share a word with the topic, in the
    interests' order, so sums and ties come out exactly as a scan of every interest gives."""

    __slots__ = ("holders", "interests", "memo")

    def __init__(self, interests: Mapping[str, float]) -> None:
        top_weight = max(interests.values(), default=0.0) or 1.0
        self.interests = [
            (interest, tokens(interest), weight / top_weight)
            for interest, weight in interests.items()
            if weight > 0
        ]
        self.holders: dict[str, list[int]] = {}
        for position, (_, interest_words, _) in enumerate(self.interests):
            for word in interest_words:
                self.holders.setdefault(word, []).append(position)
        self.memo: dict[str, tuple[float, float, str]] = {}

    def match(self, topic: str) -> tuple[float, float, str]:
        """(summed match, best match, best interest) of one candidate topic."""
        found = self.memo.get(topic)
        if found is None:
            words = tokens(topic)
            hits: set[int] = set()
            for word in words:
                hits.update(self.holders.get(word, ()))
            total, best, best_interest = 0.0, 0.0, ""
            for position in sorted(hits):
                interest, interest_words, share = self.interests[position]
                common = len(words & interest_words)
                match = common / len(words | interest_words) * share
                total += match
                if match > best:
                    best, best_interest = match, interest
            found = self.memo[topic] = (total, best, best_interest)
        return found


@functools.lru_cache(maxsize=65_536)
def freshness(published_at: dt.datetime, now: dt.datetime, half_life_seconds: float) -> float:
    """Cached: a page of digests scores the same items at the same ``now`` for every reader."""
    age = max(0.0, (now - published_at).total_seconds())
    return float(0.5 ** (age / half_life_seconds))


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
        return self._score(candidate, InterestIndex(interests), collaborative, now)

    def _score(
        self,
        candidate: Candidate,
        index: InterestIndex,
        collaborative: float,
        now: dt.datetime | None,
    ) -> Ranked:
        score, interest, fresh = self._parts(candidate, index, collaborative, now)
        return Ranked(candidate, score, self.reasons(interest, collaborative, fresh))

    def _parts(
        self,
        candidate: Candidate,
        index: InterestIndex,
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
            fresh = freshness(candidate.published_at, now, s.freshness_half_life.total_seconds())
            score += s.freshness_weight * fresh
        return score, best[1], fresh

    @staticmethod
    def reasons(interest: str, collaborative: float, fresh: float) -> tuple[Reason, ...]:
        """Why an item was picked, from the numbers that picked it (shared with the digest's
        array ranking, so both explain a choice in the same words)."""
        reasons: list[Reason] = []
        if interest:
            reasons.append(Reason("interest", interest))
        if collaborative >= 0.2:
            reasons.append(SIMILAR_PEOPLE)
        if fresh > 0.7:
            reasons.append(NEW)
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
        index = InterestIndex(interests)
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
            Ranked(r.candidate, r.score, self.reasons(*explain[id(r.candidate)]))
            for r in chosen
        ]

    def diversify(self, pool: list[Ranked], limit: int) -> list[Ranked]:
        """Greedy MMR: repeatedly take the best item after discounting topics already taken
        (ties go to the higher score, then the smaller key).

        O(k·n) in numpy rather than Python: each of the ``limit`` rounds takes the arg-max
        of every item's discounted value (``score · diversity^repeats``), then adds one repeat
        to the items sharing a topic with the one taken (an inverted index). A pool where
        one topic dominates costs the same as any other, which the earlier lazy heap did
        not. Outside ``0 ≤ diversity ≤ 1`` with non-negative scores, the plain scan decides."""
        d = self.settings.diversity
        if not 0.0 <= d <= 1.0 or any(r.score < 0 for r in pool):
            return self._diversify_scan(pool, limit)
        import numpy as np  # only where ranking runs: the CLI starts without numpy

        ordered = sorted(pool, key=lambda r: (-r.score, r.candidate.key))
        holders: dict[str, list[int]] = {}
        for position, item in enumerate(ordered):
            for topic in item.candidate.topics:
                holders.setdefault(topic, []).append(position)
        index = {topic: np.asarray(positions) for topic, positions in holders.items()}
        scores = np.fromiter((r.score for r in ordered), dtype=np.float64, count=len(ordered))
        repeats = np.zeros(len(ordered), dtype=np.int64)
        taken = np.zeros(len(ordered), dtype=bool)
        values = scores.copy()
        chosen: list[Ranked] = []
        for _ in range(min(limit, len(ordered))):
            best = int(np.argmax(values))  # the first of equal values: higher score, then key
            item = ordered[best]
            times = int(repeats[best])
            chosen.append(Ranked(item.candidate, item.score * d**times, item.reasons))
            taken[best] = True
            for topic in item.candidate.topics:
                np.add.at(repeats, index[topic], 1)
            values = np.where(taken, -np.inf, scores * np.power(d, repeats))
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
