import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.ranking import (
    Candidate,
    InterestIndex,
    Ranked,
    Ranker,
    RankingSettings,
    Reason,
    mentions_any,
    similarity,
    tokens,
)

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def test_token_similarity_folds_plurals_and_order():
    assert tokens("Async Runtimes") == tokens("runtime async")
    assert similarity("rust async", "async rust runtimes") == 2 / 3
    assert similarity("jazz", "cooking") == 0.0


def test_relevance_orders_and_explains():
    ranked = Ranker().rank(
        [
            Candidate("a", "Cookbook", ("cooking",)),
            Candidate("b", "Tokio deep dive", ("rust async",)),
            Candidate("c", "Jazz standards", ("jazz piano",)),
        ],
        {"rust async": 3.0, "jazz": 1.0},
        limit=3,
    )
    assert [r.candidate.key for r in ranked] == ["b", "c", "a"]
    assert ranked[0].why == "matches your interest in rust async"
    assert ranked[2].why == "something new for you"


def test_avoided_excluded_and_duplicates_dropped():
    ranked = Ranker().rank(
        [
            Candidate("a", "Election night special", ("politics",)),
            Candidate("b", "Crypto crash explained", ("finance",), text="bitcoin and crypto"),
            Candidate("c", "Gardening", ("plants",)),
            Candidate("c", "Gardening again", ("plants",)),
            Candidate("d", "Seen before", ("plants",)),
        ],
        {"plants": 1.0},
        avoid=["politics", "crypto"],
        exclude={"d"},
    )
    assert [r.candidate.key for r in ranked] == ["c"]


def test_diversity_stops_one_topic_filling_the_list():
    items = [Candidate(f"k{i}", f"Kubernetes {i}", ("kubernetes",)) for i in range(5)]
    items.append(Candidate("j", "Jazz", ("jazz",)))
    interests = {"kubernetes": 5.0, "jazz": 2.0}
    diverse = Ranker().rank(items, interests, limit=3)
    assert "j" in [r.candidate.key for r in diverse]
    flat = Ranker(RankingSettings(diversity=1.0)).rank(items, interests, limit=3)
    assert "j" not in [r.candidate.key for r in flat]


def test_freshness_and_collaborative_signal():
    old = Candidate("old", "Old news", ("news",), published_at=NOW - dt.timedelta(days=30))
    new = Candidate("new", "New news", ("news",), published_at=NOW - dt.timedelta(hours=1))
    ranked = Ranker().rank([old, new], {}, now=NOW)
    assert ranked[0].candidate.key == "new" and Reason("new") in ranked[0].reasons
    liked = Ranker().rank([old, new], {}, collaborative={"old": 1.0}, now=NOW)
    assert liked[0].candidate.key == "old"
    assert Reason("similar_people") in liked[0].reasons
    assert liked[0].why == "liked by people with similar interests"


# The lazy (heap) diversity re-rank must choose exactly what the reference scan chooses.
_TOPICS = ("rust", "jazz", "bread", "chess", "go", "tea")


@given(
    items=st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0]),
            st.lists(st.sampled_from(_TOPICS), max_size=3, unique=True),
        ),
        max_size=40,
    ),
    diversity=st.sampled_from([0.0, 0.3, 0.6, 1.0]),
    limit=st.integers(min_value=0, max_value=15),
)
@settings(max_examples=300, deadline=None)
def test_lazy_diversify_equals_the_reference_scan(items, diversity, limit):
    ranker = Ranker(RankingSettings(diversity=diversity))
    pool = [
        Ranked(Candidate(f"k{i % 7}-{i}", "t", tuple(topics)), score)
        for i, (score, topics) in enumerate(items)
    ]
    expected = ranker._diversify_scan(list(pool), limit)
    assert ranker.diversify(list(pool), limit) == expected


def test_negative_scores_keep_the_reference_behaviour():
    ranker = Ranker(RankingSettings(diversity=0.5))
    pool = [
        Ranked(Candidate("a", "t", ("x",)), -0.1),
        Ranked(Candidate("b", "t", ("x",)), -0.4),
        Ranked(Candidate("c", "t", ("y",)), 0.2),
    ]
    assert ranker.diversify(pool, 3) == ranker._diversify_scan(pool, 3)


@given(
    items=st.lists(
        st.tuples(
            st.lists(st.sampled_from(_TOPICS), max_size=3, unique=True),
            st.integers(min_value=0, max_value=96),
            st.sampled_from([0.0, 0.1, 0.3, -0.2]),
        ),
        max_size=30,
    ),
    avoid=st.sampled_from([(), ("tea",)]),
    limit=st.integers(min_value=1, max_value=8),
)
@settings(max_examples=200, deadline=None)
def test_rank_equals_scoring_every_item_then_the_reference_scan(items, avoid, limit):
    """rank() writes reasons only for the chosen items; the result is what scoring every
    candidate in full and re-ranking with the reference scan gives."""
    ranker = Ranker()
    interests = {"rust": 3.0, "jazz bread": 1.0, "chess": 0.5}
    candidates = [
        Candidate(f"c{i}", f"title {i}", tuple(t), published_at=NOW - dt.timedelta(hours=h))
        for i, (t, h, _) in enumerate(items)
    ]
    collaborative = {f"c{i}": c for i, (_, _, c) in enumerate(items) if c}
    index = InterestIndex(interests)
    pool = [
        ranker._score(c, index, collaborative.get(c.key, 0.0), NOW)
        for c in candidates
        if not (avoid and mentions_any(" ".join((c.title, c.text, *c.topics)), avoid))
    ]
    pool = [r for r in pool if r.score >= ranker.settings.min_relevance]
    expected = ranker._diversify_scan(pool, limit)
    got = ranker.rank(
        candidates, interests, avoid=avoid, collaborative=collaborative, now=NOW, limit=limit
    )
    assert got == expected
