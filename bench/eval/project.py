"""The project's own path, end to end on a real (temporary) SQLite database:

1. every training rating becomes an :class:`profiles.ingest.Observation` of that person —
   topics = the movie's genres, excerpt = its title, engaged item = the movie — applied
   through :class:`profiles.ingest.BatchIngestor` (the product's batched ingestion, the same
   learning as ``ProfileEngine.observe_message``/``add_interests``), in time order, with the
   rating's own timestamp, for people who granted consent (:func:`stored_profiles`);
2. for each person, their decayed interests are read back with ``ProfileEngine.interests`` as
   of their last training rating, and their engaged items, oldest first, from the evidence
   log (:func:`profiles.cooccurrence.engagement`);
3. :class:`profiles.ranking.Ranker` ranks every movie they have not rated (full ranking),
   with a :mod:`profiles.cooccurrence` model's scores as its collaborative input, and we keep
   the top 10 (:func:`rank_with_project`).

Nothing reads the split directly after step 1: what the ranker sees is what the profile
stored. :func:`tune_project` chooses the ranker's own knobs (the share of ridge/EASE against
RP3beta in the collaborative blend, the weight of the topic term, the recency half-life) on
the validation split, from profiles stored from the validation split's training part.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Protocol

import numpy as np

from bench.eval.baselines import TOP_N, Rankings
from bench.eval.data import Movie
from bench.eval.metrics import evaluate
from bench.eval.splits import Split
from profiles.cooccurrence import Blend, ItemCooccurrence, engagement
from profiles.db import Database
from profiles.engine import PersonKey, ProfileEngine
from profiles.ingest import BatchIngestor, Observation
from profiles.migrate import upgrade
from profiles.models import ConsentStatus
from profiles.ranking import Candidate, Ranker, RankingSettings

BATCH = 5_000
PLATFORM, WORKSPACE = "movielens", "ml-100k"
# The ranker's own knobs, tuned on validation (see tune_project). Half-lives are counted in
# the person's own distinct engagements; None = every engagement counts the same.
RIDGE_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
TOPIC_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
HALF_LIVES: tuple[float | None, ...] = (None, 2.0, 5.0, 10.0, 20.0)


class Collaborative(Protocol):
    def fit(self, histories: Mapping[str, Iterable[str]]) -> object: ...

    def scores(
        self,
        history: Iterable[str],
        *,
        exclude: Collection[str] = (),
        half_life: float | None = None,
    ) -> dict[str, float]: ...


@dataclass(frozen=True, slots=True)
class Variant:
    """One configuration of the project's ranker shown as a row of the table."""

    label: str
    settings: RankingSettings
    collaborative: Collaborative | None  # unfitted; fitted on the stored engagement
    half_life: float | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """What the profile store holds after ingestion, per person (the split's user id)."""

    interests: dict[str, dict[str, float]]
    engaged: dict[str, list[str]]  # oldest first


def at(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


async def _ingest(
    db: Database, engine: ProfileEngine, split: Split, movies: dict[str, Movie]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.session() as session:
        for user in sorted(split.train, key=int):
            person = await engine.person(session, PersonKey(PLATFORM, WORKSPACE, user))
            assert person.id is not None
            await engine.set_consent(session, person.id, ConsentStatus.GRANTED, at(0))
            ids[user] = person.id
    observations = sorted(
        (
            Observation(
                person_id=ids[r.user],
                at=at(r.ts),
                topics=tuple((genre, 1.0) for genre in movies[r.item].genres),
                excerpt=movies[r.item].title[:120],
                item=r.item,
            )
            for ratings in split.train.values()
            for r in ratings
        ),
        key=lambda ob: ob.at,
    )
    ingestor = BatchIngestor(engine)
    for start in range(0, len(observations), BATCH):
        async with db.session() as session:
            await ingestor.apply(session, observations[start : start + BATCH])
    return ids


async def stored_profiles(
    split: Split, movies: dict[str, Movie], folder: Path | None = None
) -> Stored:
    """Ingest the split's training part and read back what the ranker may use."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        upgrade(url)
        db = Database(url)
        engine = ProfileEngine()
        try:
            ids = await _ingest(db, engine, split, movies)
            last_seen = {user: at(max(r.ts for r in split.train[user])) for user in ids}
            async with db.session() as session:
                by_person = await engagement(session)
                interests = {
                    user: {
                        view.topic: view.weight
                        for view in await engine.interests(
                            session, pid, last_seen[user], limit=None
                        )
                    }
                    for user, pid in ids.items()
                }
        finally:
            await db.dispose()
    engaged = {user: by_person.get(pid, []) for user, pid in ids.items()}
    return Stored(interests, engaged)


def candidates_of(movies: dict[str, Movie]) -> list[Candidate]:
    return [Candidate(key=m.item, title=m.title, topics=m.genres) for m in movies.values()]


def rank_with_project(
    stored: Stored, movies: dict[str, Movie], variants: Sequence[Variant]
) -> dict[str, Rankings]:
    """Top-10 per person for each variant of the project's ranker."""
    for variant in variants:
        if variant.collaborative is not None:
            variant.collaborative.fit(stored.engaged)
    candidates = candidates_of(movies)
    found: dict[str, Rankings] = {v.label: {} for v in variants}
    for user, history in stored.engaged.items():
        seen = set(history)
        for variant in variants:
            model = variant.collaborative
            collaborative = (
                model.scores(history, exclude=seen, half_life=variant.half_life)
                if model is not None
                else None
            )
            ranked = Ranker(variant.settings).rank(
                candidates,
                stored.interests.get(user, {}),
                exclude=seen,
                collaborative=collaborative,
                limit=TOP_N,
            )
            found[variant.label][user] = [r.candidate.key for r in ranked]
    return found


@dataclass(frozen=True, slots=True)
class RankerChoice:
    ridge_share: float
    topic_weight: float
    half_life: float | None
    validation_ndcg: float
    tried: int

    def settings(self) -> RankingSettings:
        """Accuracy settings: no diversity re-rank, the collaborative blend at weight 1 and
        the topic term at its tuned weight."""
        return accuracy_settings(self.topic_weight)

    def describe(self) -> str:
        recency = "off" if self.half_life is None else f"{self.half_life:g} items"
        return (
            f"ridge share={self.ridge_share:g}, topic weight={self.topic_weight:g}, "
            f"recency half-life={recency}"
        )


def accuracy_settings(topic_weight: float) -> RankingSettings:
    return RankingSettings(relevance_weight=topic_weight, collaborative_weight=1.0, diversity=1.0)


def rp3beta_model(rp3: Mapping[str, float]) -> ItemCooccurrence:
    return ItemCooccurrence(
        method="rp3beta", alpha=rp3["alpha"], beta=rp3["beta"], neighbours=int(rp3["k"])
    )


def blend(l2: float, rp3: Mapping[str, float], ridge_share: float) -> Blend:
    return Blend(
        [
            (ItemCooccurrence(method="ridge", l2=l2), ridge_share),
            (rp3beta_model(rp3), 1.0 - ridge_share),
        ]
    )


def top_columns(score: np.ndarray, n: int = TOP_N) -> np.ndarray:
    """Column indices of each row's n best scores, best first (ties: lower column)."""
    if n >= score.shape[1]:
        return np.lexsort((np.broadcast_to(np.arange(score.shape[1]), score.shape), -score), axis=1)
    part = np.argpartition(-score, n, axis=1)[:, :n]
    values = np.take_along_axis(score, part, axis=1)
    order = np.lexsort((part, -values), axis=1)
    return np.take_along_axis(part, order, axis=1)


def topic_relevance(stored: Stored, movies: dict[str, Movie], items: list[str]) -> np.ndarray:
    """Person × item matrix of the ranker's topic term (relevance weight 1, nothing else),
    computed by :class:`Ranker` itself. Movies with the same genres score the same, so each
    distinct genre set is ranked once."""
    groups: dict[tuple[str, ...], list[int]] = {}
    singles: list[Candidate] = []
    for column, item in enumerate(items):
        genres = movies[item].genres
        if genres:
            groups.setdefault(genres, []).append(column)
        else:  # no topics: the ranker matches the title instead
            singles.append(Candidate(key=f"item:{column}", title=movies[item].title))
    pool = [Candidate(key="|".join(g), title="", topics=g) for g in groups] + singles
    topics_only = Ranker(
        RankingSettings(relevance_weight=1.0, collaborative_weight=0.0, diversity=1.0)
    )
    matrix = np.zeros((len(stored.engaged), len(items)))
    for row, user in enumerate(stored.engaged):
        for ranked in topics_only.rank(pool, stored.interests.get(user, {}), limit=len(pool)):
            key = ranked.candidate.key
            if key.startswith("item:"):
                matrix[row, int(key[5:])] = ranked.score
            else:
                matrix[row, groups[ranked.candidate.topics]] = ranked.score
    return matrix


def collaborative_matrix(
    model: ItemCooccurrence, stored: Stored, items: list[str], half_life: float | None
) -> np.ndarray:
    """Person × item matrix of ``model.scores`` (the product's call, unseen items only)."""
    column = {item: i for i, item in enumerate(items)}
    matrix = np.zeros((len(stored.engaged), len(items)))
    for row, history in enumerate(stored.engaged.values()):
        for item, score in model.scores(history, exclude=set(history), half_life=half_life).items():
            matrix[row, column[item]] = score
    return matrix


def tune_project(
    stored: Stored,
    validation: Split,
    movies: dict[str, Movie],
    l2: float,
    rp3: Mapping[str, float],
    *,
    ridge_shares: Sequence[float] = RIDGE_SHARES,
    topic_weights: Sequence[float] = TOPIC_WEIGHTS,
    half_lives: Sequence[float | None] = HALF_LIVES,
) -> RankerChoice:
    """Choose the ranker's share of ridge vs RP3beta, topic weight and recency half-life on
    the validation hold-out. With diversity off and no freshness, the ranker's score is
    ``topic_weight · topic term + Σ share · model score``, so each part is computed once by
    the project's own code and the grid is a weighted sum of those matrices; the chosen point
    is then re-run through :meth:`Ranker.rank` on the test split."""
    items = sorted(movies, key=int)
    users = list(stored.engaged)
    relevance = topic_relevance(stored, movies, items)
    column = {item: i for i, item in enumerate(items)}
    seen = np.zeros((len(users), len(items)), dtype=bool)
    for row, user in enumerate(users):
        seen[row, [column[i] for i in stored.engaged[user]]] = True
    ridge = ItemCooccurrence(method="ridge", l2=l2).fit(stored.engaged)
    walk = rp3beta_model(rp3).fit(stored.engaged)
    best: tuple[float, float, float, float | None] | None = None
    tried = 0
    for half_life in half_lives:
        by_ridge = collaborative_matrix(ridge, stored, items, half_life)
        by_walk = collaborative_matrix(walk, stored, items, half_life)
        for share, weight in product(ridge_shares, topic_weights):
            score = weight * relevance + share * by_ridge + (1.0 - share) * by_walk
            score[seen] = -np.inf
            top = top_columns(score)
            ndcg = evaluate(
                (
                    [items[c] for c in top[row] if np.isfinite(score[row, c])],
                    validation.test.get(user, set()),
                )
                for row, user in enumerate(users)
            ).ndcg
            tried += 1
            if best is None or ndcg > best[0]:
                best = (ndcg, share, weight, half_life)
    assert best is not None
    return RankerChoice(best[1], best[2], best[3], best[0], tried)
