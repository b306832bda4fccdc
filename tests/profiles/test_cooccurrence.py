"""Item co-occurrence scores on a catalogue small enough to check by hand."""

import pytest

from profiles.cooccurrence import Blend, ItemCooccurrence

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


def test_rp3beta_divides_by_popularity_to_the_power_beta():
    # two-step walk from a: P(a→person) = 1/3 each, P(person→item) = 1/2 each, so
    # W[a,b] = 2/6 and W[a,c] = 1/6; divided by popularity ** beta (b: 2, c: 1)
    gentle = ItemCooccurrence(method="rp3beta", alpha=1.0, beta=0.0).fit(HISTORIES)
    assert gentle.scores(["a"], exclude={"a"}) == pytest.approx({"b": 1.0, "c": 0.5})
    strict = ItemCooccurrence(method="rp3beta", alpha=1.0, beta=2.0).fit(HISTORIES)
    assert strict.scores(["a"], exclude={"a"}) == pytest.approx(
        {"b": (2 / 6 / 4) / (1 / 6), "c": 1.0}
    )


def test_half_life_counts_recent_engagements_more():
    # two separate pairs: x goes with y, p with q; equal without recency, and with a
    # half-life of one item the older x counts half
    model = ItemCooccurrence(method="cosine", shrink=0.0).fit({1: ["x", "y"], 2: ["p", "q"]})
    flat = model.scores(["x", "p"], exclude={"x", "p"})
    assert flat["y"] == pytest.approx(flat["q"])
    recent_p = model.scores(["x", "p"], exclude={"x", "p"}, half_life=1.0)  # p is the latest
    assert recent_p == pytest.approx({"q": 1.0, "y": 0.5})
    with pytest.raises(ValueError):
        model.scores(["x"], half_life=0.0)


def test_blend_adds_normalised_scores_with_shares_summing_to_one():
    cosine = ItemCooccurrence(method="cosine", shrink=0.0)
    walk = ItemCooccurrence(method="rp3beta", alpha=1.0, beta=2.0)
    mixed = Blend([(cosine, 3.0), (walk, 1.0)]).fit(HISTORIES)
    scores = mixed.scores(["a"], exclude={"a"})
    c = cosine.scores(["a"], exclude={"a"})
    w = walk.scores(["a"], exclude={"a"})
    assert scores == pytest.approx({k: 0.75 * c[k] + 0.25 * w[k] for k in ("b", "c")})
    assert Blend([(cosine, 1.0), (walk, 0.0)]).parts == [(cosine, 1.0)]
    with pytest.raises(ValueError):
        Blend([(cosine, 0.0)])
