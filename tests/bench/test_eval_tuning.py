"""Hyperparameters are chosen on validation data carved from the training split only: the
test split can be swapped without changing any choice, a grid point that would win on the
test split loses to the one that wins on validation, and the project ranker's vectorised
tuning scores exactly what its own Ranker.rank produces."""

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest

from bench.eval import run
from bench.eval.baselines import BASELINES, Interactions, Params, Rankings
from bench.eval.data import Movie, Rating
from bench.eval.metrics import evaluate
from bench.eval.project import (
    Variant,
    accuracy_settings,
    blend,
    rank_with_project,
    stored_profiles,
    tune_project,
)
from bench.eval.splits import Split, split
from bench.eval.tuning import tune, validation_split

# implicit's notices about input format and BLAS threads say nothing about what is tested
pytestmark = [
    pytest.mark.filterwarnings("ignore:Method expects CSR input"),
    pytest.mark.filterwarnings("ignore:OpenBLAS is configured"),
]

GENRES = ("drama", "comedy", "sci-fi")
# two-digit ids: their string order is their numeric order, so the Ranker's tie-break by
# key and the vectorised one by catalogue position agree
MOVIES = {
    str(i): Movie(str(i), f"Movie {i}", "1995", (GENRES[i % 3],) + (("war",) if i % 5 == 0 else ()))
    for i in range(10, 34)
}


def ratings(seed: int = 0) -> list[Rating]:
    """30 people, each mostly within one genre, a few strays; time-ordered timestamps."""
    rng = random.Random(seed)
    rows: list[Rating] = []
    ts = 1_000
    for person in range(1, 31):
        taste = GENRES[person % 3]
        liked = [m for m in MOVIES.values() if m.genres[0] == taste]
        others = [m for m in MOVIES.values() if m.genres[0] != taste]
        picked = rng.sample(liked, 6) + rng.sample(others, 2)
        rng.shuffle(picked)
        for movie in picked:
            ts += rng.randint(1, 50)
            rows.append(Rating(str(person), movie.item, ts))
    return rows


def swapped_test(s: Split) -> Split:
    """The same training data with a different test split (other unseen items)."""
    test: dict[str, set[str]] = {}
    for user, rs in s.train.items():
        seen = {r.item for r in rs} | s.test[user]
        test[user] = {m for m in sorted(MOVIES) if m not in seen}
    return Split(s.protocol, s.train, test)


@pytest.mark.parametrize("protocol", ["random", "temporal"])
def test_swapping_the_test_split_changes_no_choice(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two points of each grid keep it fast: tuning still has a choice to make
    small = tuple(dataclasses.replace(b, grid=b.grid[:1] + b.grid[-1:]) for b in BASELINES)
    monkeypatch.setattr(run, "BASELINES", small)
    s = split(ratings(), protocol)  # type: ignore[arg-type]
    first = run.choose(s, MOVIES)
    second = run.choose(swapped_test(s), MOVIES)
    assert {k: c.params for k, c in first.baselines.items()} == {
        k: c.params for k, c in second.baselines.items()
    }
    assert first.ranker == second.ranker
    # and tuning really had a choice to make: more than one grid point was tried
    assert first.ranker.tried > 1 and first.baselines["EASE"].tried > 1


def test_tune_picks_the_validation_winner_and_never_sees_test_data() -> None:
    s = split(ratings(), "random")
    validation = validation_split(s.train, "random")
    outer_train = {(u, r.item) for u, rs in s.train.items() for r in rs}
    held_for_validation = {(u, i) for u, items in validation.test.items() for i in items}
    seen_pairs: set[tuple[str, str]] = set()

    def spy(data: Interactions, params: Params, n: int) -> Rankings:
        rows, cols = data.matrix.nonzero()
        seen_pairs.update((data.users[r], data.items[c]) for r, c in zip(rows, cols, strict=True))
        # grid point "test": the outer test items (an oracle if tuning looked at the test
        # split); grid point "validation": the validation hold-out
        source = s.test if params["oracle"] == 1.0 else validation.test
        return {u: sorted(source.get(u, set()))[:n] for u in data.users}

    choice = tune(spy, [{"oracle": 1.0}, {"oracle": 0.0}], validation, sorted(MOVIES))
    assert choice.params == {"oracle": 0.0}
    assert choice.validation_ndcg == pytest.approx(1.0)
    assert seen_pairs <= outer_train  # nothing of the test split was fitted on
    assert not seen_pairs & held_for_validation  # nor what validation scores


def test_vectorised_tuning_scores_what_the_ranker_ranks(tmp_path: Path) -> None:
    s = split(ratings(), "temporal")
    validation = validation_split(s.train, "temporal")
    rp3 = {"alpha": 1.0, "beta": 0.5, "k": 100.0}
    stored = asyncio.run(stored_profiles(validation, MOVIES, folder=tmp_path))
    for share, weight, half_life in ((0.5, 0.05, 2.0), (1.0, 0.0, None), (0.0, 0.2, None)):
        choice = tune_project(
            stored, validation, MOVIES, 10.0, rp3,
            ridge_shares=(share,), topic_weights=(weight,), half_lives=(half_life,),
        )
        variant = Variant("v", accuracy_settings(weight), blend(10.0, rp3, share), half_life)
        found = rank_with_project(stored, MOVIES, [variant])["v"]
        ranked = evaluate((found.get(u, []), items) for u, items in validation.test.items())
        assert choice.validation_ndcg == pytest.approx(ranked.ndcg)
