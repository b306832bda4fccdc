"""Top-N ranking metrics with binary relevance, as in Dacrema et al. (RecSys 2019).

* precision@k = hits in the top k / k (k, not the list length: a short list is penalised);
* recall@k    = hits in the top k / number of held-out items of the person;
* NDCG@k      = DCG / ideal DCG with gain 1 per hit and discount 1/log2(rank + 1), the ideal
  putting min(k, held-out) hits first.

People without held-out items are skipped by the caller (their metrics are undefined).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    return sum(1 for item in ranked[:k] if item in relevant) / k


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if not relevant:
        raise ValueError("recall is undefined without relevant items")
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def dcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    return sum(
        1.0 / math.log2(position + 2)
        for position, item in enumerate(ranked[:k])
        if item in relevant
    )


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if not relevant:
        raise ValueError("NDCG is undefined without relevant items")
    ideal = sum(1.0 / math.log2(position + 2) for position in range(min(k, len(relevant))))
    return dcg_at_k(ranked, relevant, k) / ideal


@dataclass(frozen=True, slots=True)
class Scores:
    """Means over the people evaluated."""

    precision: float
    recall: float
    ndcg: float
    people: int


def evaluate(rankings: Iterable[tuple[Sequence[str], Collection[str]]], k: int = 10) -> Scores:
    """Mean P@k, R@k and NDCG@k over (ranking, held-out items) pairs; pairs with nothing
    held out are skipped."""
    p = r = n = 0.0
    people = 0
    for ranked, relevant in rankings:
        if not relevant:
            continue
        people += 1
        p += precision_at_k(ranked, relevant, k)
        r += recall_at_k(ranked, relevant, k)
        n += ndcg_at_k(ranked, relevant, k)
    if people == 0:
        return Scores(0.0, 0.0, 0.0, 0)
    return Scores(p / people, r / people, n / people, people)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of a − b over the same people and the half-width of its 95 % interval (normal
    approximation, sample standard deviation): whether a gap between two recommenders is
    larger than what person-to-person variation alone would produce."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("need two equally long samples of at least two people")
    differences = [x - y for x, y in zip(a, b, strict=True)]
    mean = sum(differences) / len(differences)
    variance = sum((d - mean) ** 2 for d in differences) / (len(differences) - 1)
    return mean, 1.96 * math.sqrt(variance / len(differences))
