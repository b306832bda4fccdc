"""Ranking metrics against cases computed by hand."""

import math

import pytest

from bench.eval.metrics import (
    dcg_at_k,
    evaluate,
    ndcg_at_k,
    paired_difference,
    precision_at_k,
    recall_at_k,
)

RANKED = ["a", "b", "c", "d", "e"]


def test_precision_counts_hits_over_k_not_list_length():
    assert precision_at_k(RANKED, {"a", "c", "z"}, 5) == pytest.approx(2 / 5)
    # a list shorter than k is penalised: 1 hit in a 2-item list is still 1/5 at k=5
    assert precision_at_k(["a", "x"], {"a"}, 5) == pytest.approx(1 / 5)
    assert precision_at_k(RANKED, {"a"}, 1) == 1.0


def test_recall_is_hits_over_all_held_out():
    assert recall_at_k(RANKED, {"a", "c", "z"}, 5) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, {"e"}, 4) == 0.0


def test_ndcg_by_hand():
    # hits at ranks 1 and 3: DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5
    assert dcg_at_k(RANKED, {"a", "c"}, 5) == pytest.approx(1.5)
    # ideal with 2 relevant: 1 + 1/log2(3)
    assert ndcg_at_k(RANKED, {"a", "c"}, 5) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # the ideal is capped at k: 3 relevant, k=2, hits at 1 and 2 → perfect
    assert ndcg_at_k(["a", "b"], {"a", "b", "c"}, 2) == pytest.approx(1.0)
    # one hit at rank 2 of one relevant item: (1/log2(3)) / 1
    assert ndcg_at_k(RANKED, {"b"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(RANKED, {"z"}, 10) == 0.0


def test_undefined_cases_raise():
    with pytest.raises(ValueError):
        recall_at_k(RANKED, set(), 5)
    with pytest.raises(ValueError):
        ndcg_at_k(RANKED, set(), 5)
    with pytest.raises(ValueError):
        precision_at_k(RANKED, {"a"}, 0)


def test_evaluate_averages_people_and_skips_empty_test_sets():
    scores = evaluate(
        [
            (["a", "b"], {"a"}),  # P@2 = .5, R = 1, NDCG = 1
            (["x", "b"], {"b", "c"}),  # P@2 = .5, R = .5, NDCG = (1/log2 3) / (1 + 1/log2 3)
            (["q"], set()),  # skipped
        ],
        k=2,
    )
    assert scores.people == 2
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.75)
    second = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert scores.ndcg == pytest.approx((1 + second) / 2)


def test_paired_difference_by_hand():
    # differences 0.1, 0.3: mean 0.2, sample sd sqrt(0.02), half-width 1.96 * sd / sqrt(2)
    mean, half = paired_difference([0.5, 0.6], [0.4, 0.3])
    assert mean == pytest.approx(0.2)
    assert half == pytest.approx(1.96 * math.sqrt(0.02) / math.sqrt(2))
    assert paired_difference([0.3, 0.3], [0.3, 0.3]) == (0.0, 0.0)
    with pytest.raises(ValueError):
        paired_difference([0.1], [0.2])
