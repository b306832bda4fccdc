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
  (``MAX_RIDGE_ITEMS``); larger ones should use ``cosine``.

Scores are normalised to [0, 1] per person (negative ridge weights count as 0), the scale the
ranker's ``collaborative_weight`` expects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

import numpy as np
from scipy.sparse import csr_matrix
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import Consent, ConsentStatus, Signal

ITEM_KIND = "item"
MAX_RIDGE_ITEMS = 10_000
Method = Literal["cosine", "ridge"]


class ItemCooccurrence:
    def __init__(
        self,
        *,
        method: Method = "cosine",
        neighbours: int = 100,
        shrink: float = 10.0,
        l2: float = 200.0,
    ) -> None:
        self.method = method
        self.neighbours = neighbours
        self.shrink = shrink
        self.l2 = l2
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
        if self.method == "ridge":
            if n > MAX_RIDGE_ITEMS:
                raise ValueError(f"{n} items: too many for ridge, use method='cosine'")
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

    def scores(self, history: Iterable[str], *, exclude: Collection[str] = ()) -> dict[str, float]:
        """Per item key, how strongly the person's history points at it, in [0, 1]."""
        rows = [self._index[item] for item in set(history) if item in self._index]
        if not rows:
            return {}
        if self._weights is not None:
            summed = self._weights[rows].sum(axis=0)
        else:
            summed = np.asarray(self._similar[rows].sum(axis=0)).ravel()
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
