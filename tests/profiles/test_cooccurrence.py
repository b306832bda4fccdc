"""Item co-occurrence scores on a catalogue small enough to check by hand."""

import pytest

from profiles.cooccurrence import ItemCooccurrence

HISTORIES = {
    1: ["a", "b"],
    2: ["a", "b"],
    3: ["a", "c"],
    4: ["d"],
}


def test_cosine_by_hand():
    # counts: a=3, b=2, c=1, d=1; a&b together 2, a&c 1, nothing with d
    model = ItemCooccurrence(method="cosine", shrink=0.0).fit(HISTORIES)
    scores = model.scores(["a"], exclude={"a"})
    # sim(a,b) = 2/sqrt(3*2) = 0.8165, sim(a,c) = 1/sqrt(3) = 0.5774 → normalised by the max
    assert scores["b"] == pytest.approx(1.0)
    assert scores["c"] == pytest.approx((1 / 3**0.5) / (2 / 6**0.5))
    assert "d" not in scores and "a" not in scores


def test_shrink_and_neighbour_pruning():
    shrunk = ItemCooccurrence(method="cosine", shrink=10.0).fit(HISTORIES)
    scores = shrunk.scores(["a"])
    # with shrink 10: b = 2/(sqrt 6 + 10), c = 1/(sqrt 3 + 10)
    assert scores["c"] == pytest.approx((1 / (3**0.5 + 10)) / (2 / (6**0.5 + 10)))
    pruned = ItemCooccurrence(method="cosine", neighbours=1, shrink=0.0).fit(HISTORIES)
    assert set(pruned.scores(["a"])) == {"b"}


def test_ridge_prefers_the_item_that_co_occurs_and_ignores_strangers():
    model = ItemCooccurrence(method="ridge", l2=0.5).fit(HISTORIES)
    scores = model.scores(["a"], exclude={"a"})
    assert max(scores, key=scores.__getitem__) == "b"
    assert "d" not in scores  # never seen with "a": zero weight
    assert model.scores(["zzz"]) == {}


def test_popularity_prior():
    assert ItemCooccurrence().fit(HISTORIES).popularity() == pytest.approx(
        {"a": 1.0, "b": 2 / 3, "c": 1 / 3, "d": 1 / 3}
    )
