"""Reference recommenders, fitted on the same training split and ranking the same unseen
items as the project's ranker: most-popular, item-kNN (cosine and BM25) and ALS from the
``implicit`` library, on CPU with a fixed seed.

Their parameters are fixed here once (not tuned on the test split, like ours); they are the
library defaults or common published choices for ML-100k.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from bench.eval.splits import Split

TOP_N = 10
# implicit converts our CSR slices internally and says so on every call; it is not a problem.
warnings.filterwarnings("ignore", message="Method expects CSR input")


@dataclass(frozen=True, slots=True)
class Interactions:
    """The training split as a person × item matrix (binary: a rating is an engagement)."""

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
        return cls(users, all_items, matrix)


Rankings = dict[str, list[str]]


def most_popular(data: Interactions, n: int = TOP_N) -> Rankings:
    counts = np.asarray(data.matrix.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(counts)), -counts))  # ties: lower item index first
    found: Rankings = {}
    for row, user in enumerate(data.users):
        seen = set(data.matrix.indices[data.matrix.indptr[row] : data.matrix.indptr[row + 1]])
        picked: list[str] = []
        for column in order:
            if column not in seen:
                picked.append(data.items[column])
                if len(picked) == n:
                    break
        found[user] = picked
    return found


def _implicit_rankings(model: Any, data: Interactions, n: int) -> Rankings:
    user_rows = np.arange(len(data.users))
    ids, _scores = model.recommend(
        user_rows, data.matrix[user_rows], N=n, filter_already_liked_items=True
    )
    return {
        user: [data.items[int(i)] for i in ids[row] if int(i) >= 0]
        for row, user in enumerate(data.users)
    }


def item_knn_cosine(data: Interactions, n: int = TOP_N) -> Rankings:
    from implicit.nearest_neighbours import CosineRecommender

    model = CosineRecommender(K=100)
    model.fit(data.matrix, show_progress=False)
    return _implicit_rankings(model, data, n)


def item_knn_bm25(data: Interactions, n: int = TOP_N) -> Rankings:
    from implicit.nearest_neighbours import BM25Recommender

    model = BM25Recommender(K=100, K1=1.2, B=0.75)
    model.fit(data.matrix, show_progress=False)
    return _implicit_rankings(model, data, n)


def als(data: Interactions, n: int = TOP_N) -> Rankings:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns otherwise
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=64, regularization=0.05, alpha=2.0, iterations=15, random_state=42
    )
    model.fit(data.matrix, show_progress=False)
    return _implicit_rankings(model, data, n)


BASELINES: dict[str, Callable[[Interactions, int], Rankings]] = {
    "most-popular": most_popular,
    "item-kNN cosine (implicit, K=100)": item_knn_cosine,
    "item-kNN BM25 (implicit, K=100)": item_knn_bm25,
    "ALS (implicit, 64 factors, 15 it.)": als,
}
