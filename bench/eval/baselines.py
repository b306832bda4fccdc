"""Reference recommenders, fitted on the same training split and ranking the same unseen
items as the project's ranker: most-popular, item-kNN (cosine and BM25) and ALS from the
``implicit`` library (CPU, fixed seed), EASE and RP3beta.

Every one but most-popular has a modest hyperparameter grid; :mod:`bench.eval.tuning` picks a
point of it on a validation split carved from the *training* data, exactly as for the
project's ranker, and the test split is never looked at.

EASE and RP3beta are written here from their papers (a few lines of numpy each; no
maintained package ships them without torch): they are the outside references the project's
own :class:`profiles.cooccurrence.ItemCooccurrence` is measured against, so they must not
share its code.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from bench.eval.splits import Split

TOP_N = 10
SEED = 42
ALS_ITERATIONS = 15
# implicit converts our CSR slices internally and says so on every call; it is not a problem.
warnings.filterwarnings("ignore", message="Method expects CSR input")

Params = Mapping[str, float]
Rankings = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Interactions:
    """A split's training part as a person × item matrix (binary: a rating is an
    engagement). ``items`` is the whole catalogue, so every model ranks the same items."""

    users: list[str]
    items: list[str]
    matrix: csr_matrix

    @classmethod
    def of(cls, split: Split, all_items: list[str]) -> Interactions:
        users = sorted(split.train, key=int)
        item_index = {item: i for i, item in enumerate(all_items)}
        rows: list[int] = []
        cols: list[int] = []
        for row, user in enumerate(users):
            for rating in split.train[user]:
                rows.append(row)
                cols.append(item_index[rating.item])
        matrix = csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(users), len(all_items)),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return cls(users, all_items, matrix)


def top_n(scores: np.ndarray, data: Interactions, n: int = TOP_N) -> Rankings:
    """The n best unseen items per person from a dense person × item score matrix (ties:
    the lower catalogue index first)."""
    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[data.matrix.nonzero()] = -np.inf
    columns = np.arange(masked.shape[1])
    if n < masked.shape[1]:
        # the n-th best value per row; everything at least that good is a candidate, so ties
        # at the boundary are still broken by catalogue order below
        threshold = -np.partition(-masked, n - 1, axis=1)[:, n - 1 : n]
    else:
        threshold = np.full((masked.shape[0], 1), -np.inf)
    found: Rankings = {}
    for row, user in enumerate(data.users):
        values = masked[row]
        keep = columns[values >= threshold[row, 0]]
        order = keep[np.lexsort((keep, -values[keep]))][:n]
        found[user] = [data.items[int(c)] for c in order if np.isfinite(values[c])]
    return found


def most_popular(data: Interactions, params: Params, n: int = TOP_N) -> Rankings:
    counts = np.asarray(data.matrix.sum(axis=0)).ravel()
    return top_n(np.tile(counts, (len(data.users), 1)), data, n)


def ease_weights(matrix: csr_matrix, l2: float) -> np.ndarray:
    """Steck, "Embarrassingly Shallow Autoencoders for Sparse Data" (WWW 2019), eq. 8:
    P = (XᵀX + λI)⁻¹, B = I − P·diag(1/diag(P)), i.e. B_ij = −P_ij / P_jj off the diagonal
    and 0 on it."""
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def rp3beta_weights(matrix: csr_matrix, alpha: float, beta: float, k: int) -> np.ndarray:
    """Paudel et al. (TiiS 2017), as evaluated by Dacrema et al. (RecSys 2019): W =
    (P_iu)^α (P_ui)^α with row-stochastic transitions, column j divided by deg(j)^β, no
    self-links, each row keeping its k largest entries."""
    dense = matrix.toarray().astype(np.float64)
    person_degree = np.maximum(dense.sum(axis=1, keepdims=True), 1.0)
    item_degree = np.maximum(dense.sum(axis=0, keepdims=True), 1.0)
    person_to_item = (dense / person_degree) ** alpha
    item_to_person = (dense / item_degree).T ** alpha
    weights = item_to_person @ person_to_item
    weights /= item_degree**beta
    np.fill_diagonal(weights, 0.0)
    if k < weights.shape[0]:
        dropped = np.argpartition(-weights, k, axis=1)[:, k:]
        np.put_along_axis(weights, dropped, 0.0, axis=1)
    return weights


def ease(data: Interactions, params: Params, n: int = TOP_N) -> Rankings:
    weights = ease_weights(data.matrix, params["l2"])
    return top_n(np.asarray(data.matrix @ weights), data, n)


def rp3beta(data: Interactions, params: Params, n: int = TOP_N) -> Rankings:
    weights = rp3beta_weights(data.matrix, params["alpha"], params["beta"], int(params["k"]))
    return top_n(np.asarray(data.matrix @ weights), data, n)


def _implicit_rankings(model: Any, data: Interactions, n: int) -> Rankings:
    user_rows = np.arange(len(data.users))
    ids, _scores = model.recommend(
        user_rows, data.matrix[user_rows], N=n, filter_already_liked_items=True
    )
    return {
        user: [data.items[int(i)] for i in ids[row] if int(i) >= 0]
        for row, user in enumerate(data.users)
    }


def item_knn_cosine(data: Interactions, params: Params, n: int = TOP_N) -> Rankings:
    from implicit.nearest_neighbours import CosineRecommender

    model = CosineRecommender(K=int(params["K"]))
    model.fit(data.matrix, show_progress=False)
    return _implicit_rankings(model, data, n)


def item_knn_bm25(data: Interactions, params: Params, n: int = TOP_N) -> Rankings:
    from implicit.nearest_neighbours import BM25Recommender

    model = BM25Recommender(K=int(params["K"]), K1=params["K1"], B=params["B"])
    model.fit(data.matrix, show_progress=False)
    return _implicit_rankings(model, data, n)


def als(data: Interactions, params: Params, n: int = TOP_N) -> Rankings:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns otherwise
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=int(params["factors"]),
        regularization=params["regularization"],
        alpha=params["alpha"],
        iterations=ALS_ITERATIONS,
        random_state=SEED,
        # One thread: the same factors, and faster on 2 shared cores. At ML-100k size a fit
        # took 1.0-1.3 s on one thread against 1.3-1.4 s on all; on the suite's 30-person
        # data 0.003-0.016 s against 0.16-0.27 s (up to 2 s under load), OpenMP's start-up
        # and spinning costing far more than the fit itself.
        num_threads=1,
    )
    model.fit(data.matrix, show_progress=False)
    return _implicit_rankings(model, data, n)


def grid(**axes: tuple[float, ...]) -> tuple[Params, ...]:
    """Every combination of the given values, in a fixed order (the first best one wins)."""
    names = list(axes)
    return tuple(dict(zip(names, values, strict=True)) for values in product(*axes.values()))


@dataclass(frozen=True, slots=True)
class Baseline:
    name: str
    rank: Callable[[Interactions, Params, int], Rankings]
    grid: tuple[Params, ...]


# Modest grids around the values the literature reports for ML-100k (Dacrema et al. 2019;
# Steck 2019; implicit's documentation), small enough for a few minutes on 2 shared cores.
BASELINES: tuple[Baseline, ...] = (
    Baseline("most-popular", most_popular, ({},)),
    Baseline(
        "item-kNN cosine (implicit)",
        item_knn_cosine,
        grid(K=(10.0, 25.0, 50.0, 100.0, 200.0, 400.0)),
    ),
    Baseline(
        "item-kNN BM25 (implicit)",
        item_knn_bm25,
        grid(K=(50.0, 100.0, 200.0, 400.0), K1=(0.6, 1.2), B=(0.25, 0.75)),
    ),
    Baseline(
        f"ALS (implicit, {ALS_ITERATIONS} it.)",
        als,
        grid(factors=(64.0, 200.0), regularization=(10.0, 30.0), alpha=(0.5, 1.0, 2.0)),
    ),
    Baseline("EASE", ease, grid(l2=(100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0))),
    Baseline(
        "RP3beta",
        rp3beta,
        grid(alpha=(0.5, 0.75, 1.0), beta=(0.4, 0.5, 0.6), k=(100.0, 300.0)),
    ),
)
