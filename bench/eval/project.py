"""The project's own path, end to end on a real (temporary) SQLite database:

1. every training rating becomes an :class:`profiles.ingest.Observation` of that person —
   topics = the movie's genres, excerpt = its title, engaged item = the movie — applied
   through :class:`profiles.ingest.BatchIngestor` (the product's batched ingestion, the same
   learning as ``ProfileEngine.observe_message``/``add_interests``), in time order, with the
   rating's own timestamp, for people who granted consent;
2. for each person, their decayed interests are read back with ``ProfileEngine.interests`` as
   of their last training rating, and their engaged items from the evidence log
   (:func:`profiles.cooccurrence.engagement`);
3. :class:`profiles.ranking.Ranker` ranks every movie they have not rated (full ranking),
   with the co-occurrence score of :class:`profiles.cooccurrence.ItemCooccurrence` as its
   collaborative input, and we keep the top 10.

Nothing reads the split directly after step 1: what the ranker sees is what the profile
stored.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.eval.baselines import TOP_N, Rankings
from bench.eval.data import Movie
from bench.eval.splits import Split
from profiles.cooccurrence import ItemCooccurrence, engagement
from profiles.db import Database
from profiles.engine import PersonKey, ProfileEngine
from profiles.ingest import BatchIngestor, Observation
from profiles.migrate import upgrade
from profiles.models import ConsentStatus
from profiles.ranking import Candidate, Ranker, RankingSettings

BATCH = 5_000
PLATFORM, WORKSPACE = "movielens", "ml-100k"


@dataclass(frozen=True, slots=True)
class Variant:
    """One configuration of the project's ranker shown as a row of the table."""

    label: str
    settings: RankingSettings
    collaborative: ItemCooccurrence | None  # unfitted model; fitted on the profile's engagement


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


async def rank_with_project(
    split: Split, movies: dict[str, Movie], variants: Sequence[Variant], folder: Path | None = None
) -> dict[str, Rankings]:
    """Top-10 per person for each variant of the project's ranker."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        upgrade(url)
        db = Database(url)
        engine = ProfileEngine()
        try:
            ids = await _ingest(db, engine, split, movies)
            last_seen = {user: at(max(r.ts for r in split.train[user])) for user in ids}
            async with db.session() as session:
                engaged = await engagement(session)
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
    for variant in variants:
        if variant.collaborative is not None:
            variant.collaborative.fit(engaged)
    candidates = [Candidate(key=m.item, title=m.title, topics=m.genres) for m in movies.values()]
    found: dict[str, Rankings] = {v.label: {} for v in variants}
    for user, pid in ids.items():
        seen = set(engaged.get(pid, ()))
        for variant in variants:
            model = variant.collaborative
            ranked = Ranker(variant.settings).rank(
                candidates,
                interests[user],
                exclude=seen,
                collaborative=model.scores(seen, exclude=seen) if model is not None else None,
                limit=TOP_N,
            )
            found[variant.label][user] = [r.candidate.key for r in ranked]
    return found
