"""Collaborative signal for cold starts: what people *similar to you* in your workspace care
about and engaged with.

People are rows of a sparse matrix whose columns are topics (their decayed interest weights)
and digest items they engaged with. ``implicit``'s cosine nearest-neighbour model, fitted on
the transposed matrix, gives each person their most similar neighbours; a topic or an item
scores by how much those neighbours weigh it, scaled by how similar they are. The model is
built once per workspace in a worker thread and cached (a few thousand people fit in well
under a second), so scoring one person costs a sparse row product.

A person with no signal at all has no neighbours; they get the workspace's popular topics
(``ProfileEngine.popular_interests``) at a lower score instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import or_
from sqlmodel import col, select

from bot.digest.store import consent_statuses
from profiles.db import Database
from profiles.decay import decayed, to_ts
from profiles.engine import ProfileEngine
from profiles.models import Consent, DigestItem, Interest, Person
from profiles.ranking import Candidate, similarity, tokens

if TYPE_CHECKING:  # numpy/scipy load when a model is first fitted, not at start-up
    from scipy.sparse import csr_matrix

log = logging.getLogger(__name__)

ITEM_PREFIX = "item:"
POPULAR_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """Scores in [0, 1] for topics and for item keys, from similar people."""

    topics: dict[str, float] = field(default_factory=dict)
    items: dict[str, float] = field(default_factory=dict)

    def for_candidates(self, candidates: list[Candidate]) -> dict[str, float]:
        """Per candidate key: its own engagement score, or its best topic match."""
        if not self.topics and not self.items:
            return {}
        top = sorted(self.topics.items(), key=lambda kv: -kv[1])[:30]
        top_tokens = [(topic, score, tokens(topic)) for topic, score in top]
        scores: dict[str, float] = {}
        for candidate in candidates:
            best = self.items.get(candidate.key, 0.0)
            for topic in candidate.topics or (candidate.title,):
                words = tokens(topic)
                for neighbour_topic, score, neighbour_words in top_tokens:
                    if words & neighbour_words:
                        best = max(best, score * similarity(topic, neighbour_topic))
            if best > 0:
                scores[candidate.key] = round(best, 4)
        return scores


@dataclass(slots=True)
class _Model:
    built_at: float
    rows: dict[int, int]  # person id → row
    columns: list[str]
    matrix: csr_matrix
    model: object  # implicit CosineRecommender (untyped library)


class WorkspaceSimilarity:
    def __init__(
        self,
        engine: ProfileEngine,
        *,
        neighbours: int = 20,
        ttl_seconds: float = 600.0,
        max_topics_per_person: int = 50,
    ) -> None:
        self.engine = engine
        self.neighbours = neighbours
        self.ttl = ttl_seconds
        self.max_topics = max_topics_per_person
        self._models: dict[tuple[str, str], _Model] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def forget(self, person: Person) -> None:
        """Part of /forget: the workspace's model holds the person's topics until it is
        rebuilt (up to ``ttl_seconds``); dropped now, it is rebuilt without them."""
        self._models.pop((person.platform, person.workspace), None)

    async def neighbourhood(self, db: Database, person: Person, now: dt.datetime) -> Neighbourhood:
        assert person.id is not None
        key = (person.platform, person.workspace)
        model = await self._model(db, key, now)
        row = model.rows.get(person.id) if model is not None else None
        if model is not None and row is not None and model.matrix[row].nnz:
            found = await asyncio.to_thread(self._score, model, row)
            if found.topics or found.items:
                return found
        async with db.session() as session:
            popular = await self.engine.popular_interests(
                session, person.platform, person.workspace, now, limit=10
            )
        return Neighbourhood(
            topics={t: POPULAR_SCORE * (1 - i / 20) for i, t in enumerate(popular)}
        )

    def _score(self, model: _Model, row: int) -> Neighbourhood:
        import numpy as np
        from scipy.sparse import csr_matrix

        ids, sims = model.model.similar_items(row, N=self.neighbours + 1)  # type: ignore[attr-defined]
        keep = [(int(i), float(s)) for i, s in zip(ids, sims, strict=True) if i != row and s > 0]
        if not keep:
            return Neighbourhood()
        weights = np.array([s for _, s in keep], dtype=np.float64)
        summed = csr_matrix(weights) @ model.matrix[[i for i, _ in keep]]
        mine = set(model.matrix[row].indices)
        values = summed.toarray().ravel()
        top = float(values.max()) if values.size else 0.0
        if top <= 0:
            return Neighbourhood()
        topics: dict[str, float] = {}
        items: dict[str, float] = {}
        for column in np.flatnonzero(values):
            if column in mine:
                continue  # what they already have is relevance, not a discovery
            name = model.columns[column]
            score = round(float(values[column]) / top, 4)
            if name.startswith(ITEM_PREFIX):
                items[name.removeprefix(ITEM_PREFIX)] = score
            else:
                topics[name] = score
        return Neighbourhood(topics=topics, items=items)

    async def _model(self, db: Database, key: tuple[str, str], now: dt.datetime) -> _Model | None:
        cached = self._models.get(key)
        if cached is not None and time.monotonic() - cached.built_at < self.ttl:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._models.get(key)
            if cached is not None and time.monotonic() - cached.built_at < self.ttl:
                return cached
            built = await self._build(db, key, now)
            if built is not None:
                self._models[key] = built
            return built

    async def _build(self, db: Database, key: tuple[str, str], now: dt.datetime) -> _Model | None:
        started = time.perf_counter()
        platform, workspace = key
        async with db.session() as session:
            # Only people the consent gate lets the bot learn from in this workspace.
            allowed = consent_statuses(await self.engine.opt_out_in(session, platform, workspace))
            interests = await session.exec(
                select(Interest.person_id, Interest.topic, Interest.weight, Interest.updated_ts)
                .join(Person, col(Person.id) == col(Interest.person_id))
                .join(Consent, col(Consent.person_id) == col(Interest.person_id))
                .where(
                    Person.platform == platform,
                    Person.workspace == workspace,
                    col(Consent.status).in_(allowed),
                    Interest.weight > 0,
                )
            )
            interest_rows = interests.all()
            engaged = await session.exec(
                select(DigestItem.person_id, DigestItem.item_key, DigestItem.feedback)
                .join(Person, col(Person.id) == col(DigestItem.person_id))
                .join(Consent, col(Consent.person_id) == col(DigestItem.person_id))
                .where(
                    Person.platform == platform,
                    Person.workspace == workspace,
                    col(Consent.status).in_(allowed),
                    DigestItem.feedback >= 0,
                    or_(col(DigestItem.feedback) > 0, col(DigestItem.engaged_at).is_not(None)),
                )
            )
            engaged_rows = engaged.all()
        if not interest_rows and not engaged_rows:
            return None
        now_ts = to_ts(now)
        half_life = self.engine.half_life
        per_person: dict[int, list[tuple[str, float]]] = {}
        for person_id, topic, weight, updated_ts in interest_rows:
            value = decayed(weight, updated_ts, now_ts, half_life)
            if value > 0.01:
                per_person.setdefault(person_id, []).append((topic, value))
        for person_id, item_key, feedback in engaged_rows:
            per_person.setdefault(person_id, []).append(
                (ITEM_PREFIX + item_key, 2.0 if feedback > 0 else 1.0)
            )
        built = await asyncio.to_thread(self._fit, per_person)
        log.info(
            "digest similarity for %s/%s: %d people, %d columns in %.2f s",
            platform,
            workspace,
            len(built.rows),
            len(built.columns),
            time.perf_counter() - started,
        )
        return built

    def _fit(self, per_person: dict[int, list[tuple[str, float]]]) -> _Model:
        import numpy as np
        from implicit.nearest_neighbours import ItemItemRecommender
        from scipy.sparse import csr_matrix, diags

        rows: dict[int, int] = {}
        columns: dict[str, int] = {}
        data: list[float] = []
        row_index: list[int] = []
        col_index: list[int] = []
        for person_id, values in per_person.items():
            row = rows.setdefault(person_id, len(rows))
            values.sort(key=lambda kv: -kv[1])
            for name, value in values[: self.max_topics]:
                data.append(value)
                row_index.append(row)
                col_index.append(columns.setdefault(name, len(columns)))
        matrix = csr_matrix(
            (np.asarray(data, dtype=np.float64), (row_index, col_index)),
            shape=(len(rows), max(1, len(columns))),
        )
        # Cosine similarity between people: an item-item model over unit-length person
        # vectors, fitted on columns × people so the "items" it relates are people. (This
        # is implicit's CosineRecommender, normalised here so it gets the CSR it expects.)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        unit = csr_matrix(diags(1.0 / norms) @ matrix)
        model = ItemItemRecommender(K=self.neighbours + 1)
        model.fit(unit.T.tocsr(), show_progress=False)
        return _Model(time.monotonic(), rows, list(columns), matrix, model)
