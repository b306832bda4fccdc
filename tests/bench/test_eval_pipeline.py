"""The offline evaluation's plumbing on a tiny hand-made catalogue (no MovieLens needed):
splits are per person and reproducible, and the project path ranks only unseen items from
what the profile stored."""

import asyncio

from bench.eval.baselines import Interactions, most_popular
from bench.eval.data import DatasetMissing, Movie, Rating, dataset_dir
from bench.eval.project import Variant, blend, rank_with_project, stored_profiles
from bench.eval.splits import held_out_count, split
from profiles.cooccurrence import ItemCooccurrence
from profiles.ranking import RankingSettings

MOVIES = {
    str(i): Movie(str(i), f"Movie {i}", "1995", genres)
    for i, genres in enumerate(
        [("drama",), ("drama", "war"), ("comedy",), ("comedy", "romance"), ("sci-fi",), ("war",)],
        start=1,
    )
}


def ratings() -> list[Rating]:
    rows = []
    histories = {"1": "1 2 6 3", "2": "1 2 6 5", "3": "3 4 1 2", "4": "3 4 5 1", "5": "1 2 3 4 5"}
    for user, items in histories.items():
        rows += [Rating(user, item, 1000 + 10 * k) for k, item in enumerate(items.split())]
    return rows


def test_held_out_count_keeps_one_item_each_side():
    assert held_out_count(1, 0.2) == 0
    assert held_out_count(2, 0.2) == 1
    assert held_out_count(20, 0.2) == 4
    assert held_out_count(3, 0.9) == 2


def test_random_split_is_reproducible_and_temporal_split_holds_out_the_latest():
    data = ratings()
    assert split(data, "random", seed=1) == split(data, "random", seed=1)
    temporal = split(data, "temporal")
    assert temporal.test["1"] == {"3"}  # the last one "1" rated
    assert all(r.item not in temporal.test["1"] for r in temporal.train["1"])
    assert temporal.train_size + temporal.test_size == len(data)


def test_most_popular_excludes_what_a_person_has_seen():
    s = split(ratings(), "temporal")
    ranked = most_popular(Interactions.of(s, sorted(MOVIES)), 3)
    for user, items in ranked.items():
        seen = {r.item for r in s.train[user]}
        assert not seen & set(items)


def test_project_ranks_unseen_items_from_the_stored_profile(tmp_path):
    s = split(ratings(), "temporal")
    variants = [
        Variant("topics", RankingSettings(), None),
        Variant("ridge", RankingSettings(diversity=1.0), ItemCooccurrence(method="ridge", l2=1.0)),
        Variant(
            "blend",
            RankingSettings(diversity=1.0),
            blend(1.0, {"alpha": 1.0, "beta": 0.5, "k": 10.0}, 0.5),
            half_life=2.0,
        ),
    ]
    stored = asyncio.run(stored_profiles(s, MOVIES, folder=tmp_path))
    # engagement comes back oldest first, as the recency weighting needs
    assert stored.engaged["1"] == [r.item for r in s.train["1"]]
    found = rank_with_project(stored, MOVIES, variants)
    for label in ("topics", "ridge", "blend"):
        assert set(found[label]) == set(s.train)
        for user, items in found[label].items():
            assert not {r.item for r in s.train[user]} & set(items)
            assert items  # every person gets a list
    # person 3 trained on two comedies and a drama: of the unseen films (2 drama/war,
    # 5 sci-fi, 6 war) only 2 shares a genre with the profile, so it comes first
    assert found["topics"]["3"][0] == "2"


def test_missing_dataset_says_how_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    try:
        dataset_dir()
    except DatasetMissing as exc:
        assert "pip install --no-deps recbole==1.2.1" in str(exc)
    else:
        raise AssertionError("expected DatasetMissing")
