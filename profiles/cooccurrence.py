"""Item-to-item co-occurrence: "people who engaged with what you engaged with also engaged
with this", the collaborative input :meth:`profiles.ranking.Ranker.rank` accepts.

Topics alone cannot tell two dramas apart; who engaged with an item can. Engagement is read
from the profile's evidence log (``signal`` rows of kind ``item``, written by
:class:`profiles.ingest.BatchIngestor`), so it follows consent and ``/forget`` like every
other signal. Two ways to turn co-occurrence counts into item-to-item weights:

* ``cosine``: cosine with a shrink term (rare co-occurrences count less), each item keeping
  its ``neighbours`` most similar items (classic item-kNN; sparse, any catalogue size);
* ``ridge``: the closed-form ridge regression of each item on all the others over the
  co-occurrence (Gram) matrix, with a zero diagonal (Steck, "Embarrassingly Shallow
  Autoencoders", WWW 2019). It learns that co-occurring with a blockbuster says little and
  that two niche items seen together say a lot, which cosine only approximates. It costs an
  items × items inverse, so it is for catalogues up to a few thousand items
  (``MAX_RIDGE_ITEMS``); larger ones should use ``cosine``;
* ``rp3beta``: a two-step random walk item → person → item with transition probabilities
  raised to ``alpha``, each target divided by its popularity to the power ``beta``, keeping
  each item's ``neighbours`` strongest links (Paudel et al., "Updatable, accurate, diverse,
  and scalable recommendations for interactive applications", TiiS 2017). Popular items stop
  drowning everything else, which ridge does by regression and cosine only by its shrink.

:class:`Blend` adds several of them with fixed shares. ``scores(..., half_life=N)`` counts a
person's engagements less the older they are, in the person's own activity (the N-th most
recent distinct item counts half), so what someone engaged with lately points the way.

Scores are normalised to [0, 1] per person (negative weights count as 0), the scale the
ranker's ``collaborative_weight`` expects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from scipy.sparse import csr_matrix
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import Consent, ConsentStatus, Signal

ITEM_KIND = "item"
MAX_RIDGE_ITEMS = 10_000
Method = Literal["cosine", "ridge", "rp3beta"]


class ItemCooccurrence:
    def __init__(
        self,
        *,
        method: Method = "cosine",
        neighbours: int = 100,
        shrink: float = 10.0,
        l2: float = 200.0,
        alpha: float = 1.0,
        beta: float = 0.5,
    ) -> None:
        self.method = method
        self.neighbours = neighbours
        self.shrink = shrink
        self.l2 = l2
        self.alpha = alpha
        self.beta = beta
        self._weights: Any = None
        self.items: list[str] = []
        self._index: dict[str, int] = {}
        self._similar: Any = csr_matrix((0, 0), dtype=np.float32)
        self._popularity: Any = np.zeros(0, dtype=np.float32)

    def fit(self, histories: Mapping[Any, Iterable[str]]) -> ItemCooccurrence:
        """Build the item-item similarity from each person's engaged items."""
        index: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for row, items in enumerate(histories.values()):
            for item in set(items):
                rows.append(row)
                cols.append(index.setdefault(item, len(index)))
        self.items = list(index)
        self._index = index
        n = len(index)
        people_items = csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(histories), n)
        )
        counts = np.asarray(people_items.sum(axis=0)).ravel()
        self._popularity = counts
        if self.method in ("ridge", "rp3beta") and n > MAX_RIDGE_ITEMS:
            raise ValueError(f"{n} items: too many for {self.method}, use method='cosine'")
        if self.method == "rp3beta":
            self._weights = self._rp3beta(people_items, counts)
            return self
        if self.method == "ridge":
            gram = (people_items.T @ people_items).toarray().astype(np.float64)
            gram[np.diag_indices(n)] += self.l2
            inverse = np.linalg.inv(gram)
            weights = -inverse / np.diag(inverse)
            np.fill_diagonal(weights, 0.0)
            self._weights = weights.astype(np.float32)
            return self
        together = (people_items.T @ people_items).tocsr().astype(np.float32)
        together.setdiag(0)
        together.eliminate_zeros()
        coo = together.tocoo()
        norms = np.sqrt(counts[coo.row] * counts[coo.col]) + self.shrink
        values = coo.data / norms
        similar = csr_matrix((values, (coo.row, coo.col)), shape=(n, n))
        self._similar = self._keep_top(similar)
        return self

    def _rp3beta(self, people_items: csr_matrix, counts: Any) -> Any:
        """Dense item × item weights: P(item→person) @ P(person→item), each probability raised
        to ``alpha``, column j divided by popularity_j ** beta, no self-links, each row keeping
        its ``neighbours`` largest weights."""
        per_person = np.asarray(people_items.sum(axis=1)).ravel()
        person_to_item = csr_matrix(people_items.multiply(1.0 / np.maximum(per_person, 1)[:, None]))
        item_to_person = csr_matrix(people_items.T.multiply(1.0 / np.maximum(counts, 1)[:, None]))
        if self.alpha != 1.0:
            person_to_item = person_to_item.power(self.alpha)
            item_to_person = item_to_person.power(self.alpha)
        weights = (item_to_person @ person_to_item).toarray().astype(np.float64)
        weights /= np.power(np.maximum(counts, 1), self.beta)[None, :]
        np.fill_diagonal(weights, 0.0)
        n = weights.shape[0]
        if self.neighbours < n:
            dropped = np.argpartition(-weights, self.neighbours, axis=1)[:, self.neighbours :]
            np.put_along_axis(weights, dropped, 0.0, axis=1)
        return weights.astype(np.float32)

    def _keep_top(self, matrix: csr_matrix) -> csr_matrix:
        """Each item keeps only its ``neighbours`` most similar items (the usual item-kNN
        pruning: it removes noise from one-off co-occurrences and bounds the cost)."""
        data: list[np.ndarray] = []
        indices: list[np.ndarray] = []
        indptr = [0]
        for row in range(matrix.shape[0]):
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            values = matrix.data[start:end]
            columns = matrix.indices[start:end]
            if len(values) > self.neighbours:
                keep = np.argpartition(-values, self.neighbours)[: self.neighbours]
                values, columns = values[keep], columns[keep]
            data.append(values)
            indices.append(columns)
            indptr.append(indptr[-1] + len(values))
        return csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0, dtype=np.float32),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32),
                np.asarray(indptr),
            ),
            shape=matrix.shape,
        )

    def scores(
        self,
        history: Iterable[str],
        *,
        exclude: Collection[str] = (),
        half_life: float | None = None,
    ) -> dict[str, float]:
        """Per item key, how strongly the person's history points at it, in [0, 1].

        ``history`` is oldest first when ``half_life`` is given: the k-th most recent distinct
        item (k = 0 for the latest) counts ``0.5 ** (k / half_life)``; otherwise all count 1."""
        recent_first = list(dict.fromkeys(reversed(list(history))))
        index = self._index
        known = [(index[item], k) for k, item in enumerate(recent_first) if item in index]
        if not known:
            return {}
        rows = [row for row, _ in known]
        if half_life is not None:
            if half_life <= 0:
                raise ValueError("half_life must be positive")
            shares = np.power(0.5, np.asarray([k for _, k in known], dtype=np.float64) / half_life)
        else:
            shares = np.ones(len(rows), dtype=np.float64)
        if self._weights is not None:
            summed = shares @ self._weights[rows].astype(np.float64)
        else:
            summed = np.asarray(self._similar[rows].T @ shares).ravel()
        top = float(summed.max()) if summed.size else 0.0
        if top <= 0:
            return {}
        found: dict[str, float] = {}
        for column in np.flatnonzero(summed > 0):
            item = self.items[column]
            if item not in exclude:
                found[item] = float(summed[column]) / top
        return found

    def popularity(self) -> dict[str, float]:
        """Share of people who engaged with each item, in [0, 1] (a cold-start prior)."""
        top = float(self._popularity.max()) if self._popularity.size else 0.0
        if top <= 0:
            return {}
        return {item: float(self._popularity[i]) / top for i, item in enumerate(self.items)}


class Blend:
    """Several co-occurrence models added with fixed shares (e.g. ridge and RP3beta, which err
    differently). Each model's scores are already in [0, 1]; the shares are divided by their
    sum, so the blend is in [0, 1] too."""

    def __init__(self, parts: Sequence[tuple[ItemCooccurrence, float]]) -> None:
        if not parts or any(share < 0 for _, share in parts) or sum(s for _, s in parts) <= 0:
            raise ValueError("a blend needs non-negative shares with a positive sum")
        total = sum(share for _, share in parts)
        self.parts = [(model, share / total) for model, share in parts if share > 0]

    def fit(self, histories: Mapping[Any, Iterable[str]]) -> Blend:
        materialised = {key: list(items) for key, items in histories.items()}
        for model, _ in self.parts:
            model.fit(materialised)
        return self

    def scores(
        self,
        history: Iterable[str],
        *,
        exclude: Collection[str] = (),
        half_life: float | None = None,
    ) -> dict[str, float]:
        items = list(history)
        found: dict[str, float] = {}
        for model, share in self.parts:
            for item, score in model.scores(items, exclude=exclude, half_life=half_life).items():
                found[item] = found.get(item, 0.0) + share * score
        return found


async def engagement(
    session: AsyncSession, *, consent_opt_out: bool = False, person_ids: Collection[int] = ()
) -> dict[int, list[str]]:
    """Engaged items per person from the evidence log, only for people who allow learning
    (the same rule as every other collaborative signal: the others are never counted)."""
    allowed = [ConsentStatus.GRANTED.value]
    if consent_opt_out:
        allowed.append(ConsentStatus.UNKNOWN.value)
    stmt = (
        select(Signal.person_id, Signal.value)
        .join(Consent, col(Consent.person_id) == col(Signal.person_id))
        .where(Signal.kind == ITEM_KIND, col(Consent.status).in_(allowed))
        .order_by(col(Signal.id))
    )
    if person_ids:
        stmt = stmt.where(col(Signal.person_id).in_(list(person_ids)))
    found: dict[int, list[str]] = {}
    for person_id, value in (await session.exec(stmt)).all():
        found.setdefault(person_id, []).append(value)
    return found
