"""Hyperparameters are chosen on validation data carved from the training split only.

:func:`validation_split` holds out 20 % of each person's *training* ratings with the same
protocol as the outer split (random, or each person's latest for the time-ordered one) and a
different seed; :func:`tune` fits every grid point on what remains and keeps the one with the
best NDCG@10 on that validation hold-out. The outer test split is never an argument here, so
it cannot leak into a choice (tests/bench/test_eval_tuning.py checks that swapping the test
split leaves every choice unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.eval.baselines import TOP_N, Interactions, Params, Rankings
from bench.eval.data import Rating
from bench.eval.metrics import evaluate
from bench.eval.splits import Protocol, Split, split

VALIDATION_SEED = 43


def validation_split(train: dict[str, list[Rating]], protocol: Protocol) -> Split:
    ratings = [r for rs in train.values() for r in rs]
    return split(ratings, protocol, seed=VALIDATION_SEED)


def validation_ndcg(rankings: Rankings, validation: Split) -> float:
    return evaluate((rankings.get(u, []), items) for u, items in validation.test.items()).ndcg


@dataclass(frozen=True, slots=True)
class Choice:
    params: Params
    validation_ndcg: float
    tried: int


def tune(
    rank: Callable[[Interactions, Params, int], Rankings],
    grid: Sequence[Params],
    validation: Split,
    items: list[str],
) -> Choice:
    """The grid point with the best validation NDCG@10 (the first one on ties)."""
    data = Interactions.of(validation, items)
    best: tuple[float, Params] | None = None
    for params in grid:
        ndcg = validation_ndcg(rank(data, params, TOP_N), validation)
        if best is None or ndcg > best[0]:
            best = (ndcg, params)
    if best is None:
        raise ValueError("empty grid")
    return Choice(best[1], best[0], len(grid))


def describe(params: Params) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items()) or "—"
