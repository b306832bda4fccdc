"""EASE and RP3beta, the outside references, against values worked out by hand; and the
project's own ridge and RP3beta models (profiles.cooccurrence) agree with them."""

import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from bench.eval.baselines import (
    Interactions,
    ease,
    ease_weights,
    rp3beta,
    rp3beta_weights,
    top_n,
)
from profiles.cooccurrence import ItemCooccurrence

ITEMS = ["A", "B", "C"]
# persons 1 and 2 watched A and B, 3 watched A and C, 4 only A
HISTORIES = {"1": ["A", "B"], "2": ["A", "B"], "3": ["A", "C"], "4": ["A"]}


def interactions(histories: dict[str, list[str]] = HISTORIES) -> Interactions:
    users = sorted(histories)
    rows = [r for r, u in enumerate(users) for _ in histories[u]]
    cols = [ITEMS.index(i) for u in users for i in histories[u]]
    matrix = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(4, 3))
    return Interactions(users, ITEMS, matrix)


def test_ease_two_items_is_a_one_variable_ridge_regression():
    # item 0 seen by 3 people, item 1 by 2, both by 2: predicting item 1 from item 0 is the
    # ridge coefficient x0·x1 / (x0·x0 + λ) = 2 / (3 + λ), and the other way 2 / (2 + λ)
    matrix = csr_matrix(np.array([[1, 1], [1, 1], [1, 0], [0, 0]], dtype=np.float32))
    weights = ease_weights(matrix, l2=1.0)
    assert weights[0, 1] == pytest.approx(2 / 4)
    assert weights[1, 0] == pytest.approx(2 / 3)
    assert weights[0, 0] == weights[1, 1] == 0.0


def test_ease_ranks_the_frequent_companion_first_and_never_what_was_seen():
    ranked = ease(interactions(), {"l2": 1.0}, 3)
    assert ranked["4"] == ["B", "C"]  # A came with B twice, with C once
    assert ranked["3"] == ["B"]
    assert ranked["1"] == ["C"]


def test_rp3beta_weights_by_hand():
    # degrees: A 4, B 2, C 1; persons 1-3 have 2 items, person 4 has 1. With alpha 1:
    # W[A,B] = sum over persons of P(A→u) P(u→B) = 2 · (1/4)(1/2) = 1/4, W[A,C] = 1/8;
    # then each column is divided by its degree ** beta.
    matrix = interactions().matrix
    w = rp3beta_weights(matrix, alpha=1.0, beta=0.5, k=10)
    assert w[0, 1] == pytest.approx(0.25 / math.sqrt(2))
    assert w[0, 2] == pytest.approx(0.125)
    assert w[0, 0] == 0.0
    # alpha 0.5 takes the square root of every transition before the walk
    root = rp3beta_weights(matrix, alpha=0.5, beta=0.0, k=10)
    assert root[0, 1] == pytest.approx(2 * math.sqrt(1 / 4) * math.sqrt(1 / 2))
    # k=1 keeps only each row's strongest link
    assert np.count_nonzero(rp3beta_weights(matrix, 1.0, 0.5, k=1)[0]) == 1


def test_rp3beta_beta_trades_popularity_for_niche():
    data = interactions()
    assert rp3beta(data, {"alpha": 1.0, "beta": 0.5, "k": 10}, 3)["4"] == ["B", "C"]
    # 1/4 / 2**1.5 = 0.088 < 1/8: a strong popularity penalty puts the niche C first
    assert rp3beta(data, {"alpha": 1.0, "beta": 1.5, "k": 10}, 3)["4"] == ["C", "B"]


def test_project_models_agree_with_the_references():
    ridge = ItemCooccurrence(method="ridge", l2=1.0).fit(HISTORIES)
    reference = np.asarray(interactions().matrix[3] @ ease_weights(interactions().matrix, 1.0))
    expected = reference.ravel()[1:] / reference.max()
    assert [ridge.scores(["A"])[i] for i in ("B", "C")] == pytest.approx(list(expected))
    walk = ItemCooccurrence(method="rp3beta", alpha=1.0, beta=0.5, neighbours=10).fit(HISTORIES)
    assert walk.scores(["A"], exclude={"A"}) == pytest.approx(
        {"B": 1.0, "C": 0.125 / (0.25 / math.sqrt(2))}
    )


def test_top_n_skips_seen_items_and_breaks_ties_by_catalogue_order():
    data = interactions()
    scores = np.array([[9.0, 1.0, 1.0]] * 4)
    ranked = top_n(scores, data, 3)
    assert ranked["4"] == ["B", "C"]
    assert ranked["1"] == ["C"]
