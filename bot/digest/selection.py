"""Choosing digest items for a run's readers with arrays instead of per-reader loops.

The rules are those of :mod:`bot.digest.builder` (``dedupe``, ``shortlist``, ``penalties``),
:meth:`bot.digest.collaborative.Neighbourhood.for_candidates` and
:meth:`profiles.ranking.Ranker.rank`; this module computes the same choice a different way.
A digest run offers the same few hundred items to thousands of readers, and applied to one
reader at a time in Python those rules walked ~1,000 candidates four times (dedupe,
shortlist, score, re-rank): three quarters of the CPU of a 10k-people run. Here what depends
only on a candidate (its marks, topics, publication time, freshness, avoided phrases) is
worked out once per run in a :class:`CandidateTable`; what depends on a reader touches only
the topics that share a word with their interests; everything else is array arithmetic.

Same choice to the bit, not approximately: sums are added in the reference's order,
maxima and roundings are the same operations, ties break the same way (a property test in
``tests/bot/digest/test_selection.py`` compares the two on random pools). numpy loads with
the first digest a process drafts, not with the CLI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence, Set

import numpy as np
import numpy.typing as npt

from bot.digest.cache import SharedCache
from bot.digest.collaborative import Neighbourhood
from bot.digest.identity import marks
from profiles.ranking import (
    Candidate,
    InterestIndex,
    Ranked,
    Ranker,
    freshness,
    mentions_any,
    similarity,
    tokens,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_PAD = 0  # the topic id of an empty cell in the topic matrices: never a real topic
_TABLE = ("digest candidate table",)
_NEIGHBOUR_TOPICS = 30  # as Neighbourhood.for_candidates
MAX_ROWS = 20_000  # a workspace's shared pool is ~1,000-2,000 candidates
_PHRASES_KEPT = 256


class CandidateTable:
    """Every candidate a run has offered anyone, numbered once (by object: sources share
    their candidate objects between readers), with per-candidate facts as arrays that grow
    as new candidates arrive (a reader's own recommendations, a feed reloaded)."""

    def __init__(self) -> None:
        self.candidates: list[Candidate] = []
        self._row_of: dict[int, int] = {}  # id(candidate) → row; the list keeps ids unique
        self._marks: list[tuple[str, ...]] = []
        self._match_ids: list[tuple[int, ...]] = []  # relevance reads topics, else the title
        self._spread_ids: list[tuple[int, ...]] = []  # diversity reads the topics only
        self._mark_rows: dict[str, list[int]] = {}
        self._key_rows: dict[str, list[int]] = {}
        self.topic_names: list[str] = [""]  # index = topic id; id 0 is the padding
        self._topic_id: dict[str, int] = {}
        self._word_topics: dict[str, list[int]] = {}
        self._texts: list[str | None] = []  # what avoided phrases are searched in, when asked
        self._size = 0  # rows the arrays hold
        self._match = np.zeros((0, 1), dtype=np.int64)
        self._spread = np.zeros((0, 1), dtype=np.int64)
        self._published_us = np.zeros(0, dtype=np.int64)  # no date: the epoch, as shortlist
        self._has_published = np.zeros(0, dtype=np.bool_)
        self._conflicted = np.zeros(0, dtype=np.bool_)  # shares a mark with another row
        self._fresh_at: tuple[dt.datetime, float] | None = None  # what ``_fresh`` is for
        self._fresh = np.zeros(0)  # per row; NaN: not computed yet
        self._avoided: dict[str, Floats] = {}  # per phrase and row: 1 mentions, NaN unknown
        self._ranks = np.zeros(0, dtype=np.int64)  # of keys, when ties need them

    @classmethod
    def of_run(cls, cache: SharedCache) -> CandidateTable:
        """The table of the run that ``cache`` belongs to (one cache per run). A table that
        has grown past :data:`MAX_ROWS` is replaced by an empty one (drafts in progress keep
        theirs): candidates only one reader is offered (their open recommendations) would
        otherwise all stay in memory until the run ends; shared ones are numbered again by
        the next reader, once."""
        table: CandidateTable | None = cache.peek(_TABLE)
        if table is None or len(table.candidates) > MAX_ROWS:
            table = cls()
            cache.put(_TABLE, 24 * 3600.0, table)
        return table

    # Registration ----------------------------------------------------------------------
    def rows(self, candidates: Sequence[Candidate]) -> Ints:
        """The rows of ``candidates``, in their order, adding the ones not seen before."""
        row_of = self._row_of
        found = [row_of.get(id(c), -1) for c in candidates]
        if -1 in found:
            for position, row in enumerate(found):
                if row == -1:
                    found[position] = self._add(candidates[position])
            self._grow()
        return np.fromiter(found, dtype=np.int64, count=len(found))

    def _add(self, candidate: Candidate) -> int:
        found = self._row_of.get(id(candidate))
        if found is not None:  # the same object twice in one list
            return found
        row = len(self.candidates)
        self.candidates.append(candidate)
        self._row_of[id(candidate)] = row
        known_as = marks(candidate.key, candidate.url, candidate.title)
        self._marks.append(known_as)
        for mark in set(known_as):
            holders = self._mark_rows.setdefault(mark, [])
            holders.append(row)
        self._key_rows.setdefault(candidate.key, []).append(row)
        self._match_ids.append(
            tuple(self._topic(t) for t in candidate.topics or (candidate.title,))
        )
        self._spread_ids.append(tuple(self._topic(t) for t in candidate.topics))
        self._texts.append(None)
        return row

    def _topic(self, name: str) -> int:
        found = self._topic_id.get(name)
        if found is None:
            found = self._topic_id[name] = len(self.topic_names)
            self.topic_names.append(name)
            for word in tokens(name):
                self._word_topics.setdefault(word, []).append(found)
        return found

    def _grow(self) -> None:
        """Bring the arrays up to the rows registered (only the new rows are filled)."""
        size, total = self._size, len(self.candidates)
        if total == size:
            return
        capacity = len(self._published_us)
        if total > capacity:
            capacity = max(total, 2 * capacity, 64)
            self._match = _resized(self._match, capacity)
            self._spread = _resized(self._spread, capacity)
            self._published_us = np.resize(self._published_us, capacity)
            self._has_published = np.resize(self._has_published, capacity)
            self._conflicted = np.resize(self._conflicted, capacity)
        self._match = _fill(self._match, self._match_ids, size, total)
        self._spread = _fill(self._spread, self._spread_ids, size, total)
        for row in range(size, total):
            published = self.candidates[row].published_at
            self._has_published[row] = published is not None
            if published is not None and published.tzinfo is None:
                published = published.replace(tzinfo=dt.UTC)  # as the store reads them back
            self._published_us[row] = (
                0 if published is None else (published - _EPOCH) // _MICROSECOND
            )
            self._conflicted[row] = False
        for row in range(size, total):
            for mark in set(self._marks[row]):
                holders = self._mark_rows[mark]
                if len(holders) > 1:
                    self._conflicted[holders] = True
        self._size = total

    # Per run and candidate ---------------------------------------------------------------
    def _freshness(self, rows: Ints, now: dt.datetime, half_life: float) -> Floats:
        """Freshness of ``rows`` at ``now``, by :func:`profiles.ranking.freshness` itself.
        Kept for one ``now`` only: a scheduled run drafts each reader at the clock's time,
        so each reader may bring a new one (then only its own rows are computed)."""
        if self._fresh_at != (now, half_life):
            self._fresh_at, self._fresh = (now, half_life), np.zeros(0)

        def fresh(row: int) -> float:
            published = self.candidates[row].published_at
            return 0.0 if published is None else freshness(published, now, half_life)

        self._fresh = self._fill_in(self._fresh, rows, fresh)
        return self._fresh[rows]

    def _mentioning(self, rows: Ints, phrases: Iterable[str]) -> Bools:
        """Which of ``rows`` mention any of ``phrases`` in their title, text or topics
        (avoided topics). Per phrase, each row is searched once, when first asked about; at
        most :data:`_PHRASES_KEPT` phrases are kept (avoided topics are the readers' own)."""
        found = np.zeros(len(rows), dtype=np.bool_)
        for phrase in phrases:
            if not phrase.strip():
                continue
            if phrase not in self._avoided and len(self._avoided) >= _PHRASES_KEPT:
                self._avoided.clear()
            # The function is called before the loop moves on: ``phrase`` is this one's.
            self._avoided[phrase] = known = self._fill_in(
                self._avoided.get(phrase, np.zeros(0)),
                rows,
                lambda row: float(mentions_any(self._text(row), (phrase,)) is not None),  # noqa: B023
            )
            found |= known[rows] > 0
        return found

    def _fill_in(self, known: Floats, rows: Ints, value: Callable[[int], float]) -> Floats:
        """``known`` (NaN: not computed yet) grown to the table, with ``value`` computed for
        those of ``rows`` that lack it."""
        if len(known) < self._size:
            known = np.concatenate((known, np.full(self._size - len(known), np.nan)))
        for row in np.unique(rows[np.isnan(known[rows])]).tolist():
            known[row] = value(row)
        return known

    def _text(self, row: int) -> str:
        text = self._texts[row]
        if text is None:
            c = self.candidates[row]
            text = self._texts[row] = " ".join((c.title, c.text, *c.topics))
        return text

    def _topics_sharing_a_word(self, names: Iterable[str]) -> list[int]:
        found: set[int] = set()
        for name in names:
            for word in tokens(name):
                found.update(self._word_topics.get(word, ()))
        return sorted(found)

    def _per_topic(self, values: Mapping[int, float]) -> Floats:
        table = np.zeros(len(self.topic_names), dtype=np.float64)
        if values:
            table[list(values)] = list(values.values())
        return table

    # Per reader ------------------------------------------------------------------------
    def dedupe(self, rows: Ints, already_sent: Set[str]) -> Ints:
        """``builder.dedupe``: a row whose marks no other row shares is dropped only for
        having been sent; rows sharing marks go through the reference loop, in order (they
        cannot be dropped by, nor drop, any other row)."""
        keep = np.ones(len(rows), dtype=np.bool_)
        if already_sent:
            sent_rows: set[int] = set()
            for mark in self._mark_rows.keys() & already_sent:
                sent_rows.update(self._mark_rows[mark])
            if sent_rows:
                keep &= ~np.isin(rows, list(sent_rows))
        if rows.size and np.bincount(rows).max() > 1:  # one candidate offered twice
            tangled = np.arange(rows.size)
        else:
            tangled = np.flatnonzero(self._conflicted[rows])
        if tangled.size:
            seen: set[str] = set()
            for position in tangled.tolist():
                known_as = self._marks[int(rows[position])]
                if not seen.isdisjoint(known_as) or not already_sent.isdisjoint(known_as):
                    keep[position] = False
                    continue
                seen.update(known_as)
        return rows[keep]

    def collaborative(self, neighbourhood: Neighbourhood, rows: Ints) -> Floats:
        """``Neighbourhood.for_candidates`` for ``rows`` (0 where it gives nothing)."""
        scores = np.zeros(len(rows), dtype=np.float64)
        if not neighbourhood.topics and not neighbourhood.items:
            return scores
        top = sorted(neighbourhood.topics.items(), key=lambda kv: -kv[1])[:_NEIGHBOUR_TOPICS]
        top_words = [(topic, score, tokens(topic)) for topic, score in top]
        per_topic: dict[int, float] = {}
        for topic_id in self._topics_sharing_a_word(topic for topic, _ in top):
            name = self.topic_names[topic_id]
            words = tokens(name)
            best = 0.0
            for neighbour_topic, score, neighbour_words in top_words:
                if words & neighbour_words:
                    best = max(best, score * similarity(name, neighbour_topic))
            per_topic[topic_id] = best
        best_of = self._per_topic(per_topic)[self._match[rows]].max(axis=1)
        if neighbourhood.items:
            engaged = np.zeros(self._size, dtype=np.float64)
            for key, score in neighbourhood.items.items():
                engaged[self._key_rows.get(key, [])] = score
            best_of = np.maximum(engaged[rows], best_of)
        for position in np.flatnonzero(best_of > 0).tolist():
            scores[position] = round(float(best_of[position]), 4)
        return scores

    def choose(
        self,
        rows: Ints,
        collaborative: Floats | None,
        *,
        interests: Mapping[str, float],
        disliked: Mapping[str, float],
        avoid: Sequence[str],
        ranker: Ranker,
        now: dt.datetime | None,
        items: int,
        limit: int,
    ) -> list[Ranked]:
        """``shortlist`` (``items``), ``penalties`` and ``Ranker.rank`` (``limit``) of deduped
        ``rows`` with their collaborative scores (None: no one similar was asked)."""
        if collaborative is None:
            collaborative = np.zeros(len(rows), dtype=np.float64)
        index = InterestIndex(interests)
        touched = self._topics_sharing_a_word(t for t, w in interests.items() if w > 0)
        short = self._shortlist(rows, collaborative, touched, items)
        collab = collaborative[short].copy()
        short_rows = rows[short]
        if disliked:
            self._penalise(short_rows, collab, disliked)
        settings = ranker.settings
        relevance_of = self._per_topic({t: index.match(self.topic_names[t])[0] for t in touched})
        cells = self._match[short_rows]
        relevance = relevance_of[cells[:, 0]]  # a copy: added to column by column, in order
        for column in range(1, cells.shape[1]):
            relevance += relevance_of[cells[:, column]]
        scores = settings.relevance_weight * relevance + settings.collaborative_weight * collab
        fresh = np.full(len(short_rows), -1.0)
        if now is not None:
            half_life = settings.freshness_half_life.total_seconds()
            dated = self._has_published[short_rows]
            fresh = np.where(dated, self._freshness(short_rows, now, half_life), -1.0)
            scores = np.where(dated, scores + settings.freshness_weight * fresh, scores)
        alive = scores >= settings.min_relevance
        if avoid:
            alive &= ~self._mentioning(short_rows, avoid)
        pool = np.flatnonzero(alive)
        picked = self._diversify(short_rows[pool], scores[pool], ranker, limit)
        chosen: list[Ranked] = []
        for place, score in picked:
            position = int(pool[place])
            candidate = self.candidates[int(short_rows[position])]
            reasons = ranker.reasons(
                _best_interest(index, candidate),
                float(collab[position]),
                float(fresh[position]),
            )
            chosen.append(Ranked(candidate, score, reasons))
        return chosen

    def _shortlist(self, rows: Ints, collaborative: Floats, touched: list[int], items: int) -> Ints:
        """Positions in ``rows``: those with a word in common with an interest or a
        collaborative score, in order, then the freshest ``4 · items`` of the rest."""
        hit = np.zeros(len(self.topic_names), dtype=np.bool_)
        hit[touched] = True
        relevant = hit[self._match[rows]].any(axis=1) | (collaborative > 0)
        rest = np.flatnonzero(~relevant)
        newest = np.argsort(-self._published_us[rows[rest]], kind="stable")[: items * 4]
        return np.concatenate((np.flatnonzero(relevant), rest[newest]))

    def _penalise(self, rows: Ints, collab: Floats, disliked: Mapping[str, float]) -> None:
        """``penalties``: each row's likeness to a disliked topic, taken off its score."""
        top = max(disliked.values())
        per_topic: dict[int, float] = {}
        for topic_id in self._topics_sharing_a_word(disliked):
            name, worst = self.topic_names[topic_id], 0.0
            for bad, weight in disliked.items():
                worst = max(worst, similarity(name, bad) * weight / top)
            per_topic[topic_id] = worst
        worst_of = self._per_topic(per_topic)[self._match[rows]].max(axis=1)
        for position in np.flatnonzero(worst_of > 0).tolist():
            collab[position] = collab[position] - round(float(worst_of[position]), 4)

    def _diversify(
        self, rows: Ints, scores: Floats, ranker: Ranker, limit: int
    ) -> list[tuple[int, float]]:
        """``Ranker.diversify`` as (place in ``rows``, discounted score): the arg-max of
        ``score · diversity^repeats`` each round, ties to the higher score, then the smaller
        key, as the reference's sort gives."""
        d = ranker.settings.diversity
        if not 0.0 <= d <= 1.0 or (scores < 0).any():  # the reference's own scan decides
            pool = [
                Ranked(self.candidates[int(r)], float(s)) for r, s in zip(rows, scores, strict=True)
            ]
            place = {id(item.candidate): n for n, item in enumerate(pool)}
            return [(place[id(r.candidate)], r.score) for r in ranker.diversify(pool, limit)]
        spread = self._spread[rows]
        repeats = np.zeros(len(rows), dtype=np.int64)
        taken = np.zeros(len(rows), dtype=np.bool_)
        values = scores.copy()
        picked: list[tuple[int, float]] = []
        for _ in range(min(limit, len(rows))):
            best = self._first(np.flatnonzero(values == values.max()), rows, scores)
            picked.append((best, float(scores[best]) * d ** int(repeats[best])))
            taken[best] = True
            for topic_id in self._spread_ids[int(rows[best])]:
                repeats += (spread == topic_id).sum(axis=1)
            values = np.where(taken, -np.inf, scores * np.power(d, repeats))
        return picked

    def _first(self, tied: Ints, rows: Ints, scores: Floats) -> int:
        """Of places with equal value, the reference's first: higher score, smaller key,
        earlier place. Many items can tie (same topics, same hour), so keys are compared by
        their rank in the table when there are more than a few."""
        if tied.size > 1:
            tied = tied[scores[tied] == scores[tied].max()]
        if tied.size == 1:
            return int(tied[0])
        if tied.size <= 16:
            return min(tied.tolist(), key=lambda n: (self.candidates[int(rows[n])].key, n))
        ranks = self._key_ranks()[rows[tied]]
        return int(tied[np.lexsort((tied, ranks))[0]])

    def _key_ranks(self) -> Ints:
        """Each row's key's place in the sorted keys (equal keys, equal place)."""
        if len(self._ranks) != self._size:
            keys = np.array([c.key for c in self.candidates[: self._size]], dtype=object)
            self._ranks = np.unique(keys, return_inverse=True)[1].astype(np.int64).ravel()
        return self._ranks


def _best_interest(index: InterestIndex, candidate: Candidate) -> str:
    """The interest an item is explained by (the reference's ``Ranker._parts``)."""
    best: tuple[float, str] = (0.0, "")
    for topic in candidate.topics or (candidate.title,):
        _, match, interest = index.match(topic)
        if match > best[0]:
            best = (match, interest)
    return best[1]


def _resized(matrix: Ints, rows: int) -> Ints:
    grown = np.full((rows, matrix.shape[1]), _PAD, dtype=np.int64)
    grown[: len(matrix)] = matrix
    return grown


def _fill(matrix: Ints, ids: list[tuple[int, ...]], start: int, stop: int) -> Ints:
    """Rows ``start:stop`` of a padded topic matrix, widened if a new row has more topics."""
    width = max((len(t) for t in ids[start:stop]), default=0)
    if width > matrix.shape[1]:
        matrix = np.pad(matrix, ((0, 0), (0, width - matrix.shape[1])), constant_values=_PAD)
    for row in range(start, stop):
        matrix[row, :] = _PAD
        matrix[row, : len(ids[row])] = ids[row]
    return matrix
