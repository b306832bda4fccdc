"""The run-wide candidate table chooses exactly what the per-reader rules choose."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.builder import dedupe, penalties, shortlist
from bot.digest.cache import SharedCache
from bot.digest.collaborative import Neighbourhood
from bot.digest.identity import marks
from bot.digest.selection import MAX_ROWS, CandidateTable
from profiles.ranking import Candidate, Ranked, Ranker, RankingSettings

NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)
# Topics that share words ("rust" / "rust async"), fold plurals ("boxes" / "box") or stand
# alone, so matches, partial matches and ties all happen.
TOPICS = [
    "rust",
    "rust async",
    "async python",
    "python web",
    "web",
    "jazz",
    "jazz bread",
    "bread",
    "boxes",
    "box",
    "chess",
    "tea",
]
KEYS = [f"k{i}" for i in range(16)]
URLS = [None, "https://ex.com/a", "https://www.ex.com/a/?utm_source=x", "https://ex.com/b"]
TITLES = [
    "short",
    "a long title about rust async runtimes",
    "A long title about Rust async runtimes!",
    "tea",
    "",
]

candidates = st.builds(
    Candidate,
    key=st.sampled_from(KEYS),
    title=st.sampled_from(TITLES),
    topics=st.lists(st.sampled_from(TOPICS), max_size=3).map(tuple),
    text=st.sampled_from(["", "tea time", "about chess"]),
    published_at=st.one_of(
        st.none(), st.sampled_from([0, 1, 1, 5, 30, 200]).map(lambda h: NOW - dt.timedelta(hours=h))
    ),
    url=st.sampled_from(URLS),
)
weights = st.sampled_from([-1.0, 0.0, 0.005, 0.5, 2.0, 3.0])


def reference(
    gathered: list[Candidate],
    sent: frozenset[str],
    neighbourhood: Neighbourhood | None,
    interests: dict[str, float],
    disliked: dict[str, float],
    avoid: list[str],
    ranker: Ranker,
    now: dt.datetime | None,
    items: int,
    limit: int,
) -> tuple[list[Candidate], list[Ranked]]:
    """What ``DigestBuilder.draft`` did one reader at a time before the table."""
    pool = dedupe(gathered, sent)
    collaborative = neighbourhood.for_candidates(pool) if neighbourhood is not None else {}
    short = shortlist(pool, interests, collaborative, limit=items)
    for key, penalty in penalties(short, disliked).items():
        collaborative[key] = collaborative.get(key, 0.0) - penalty
    ranked = ranker.rank(
        short,
        interests,
        avoid=avoid,
        exclude=sent,
        collaborative=collaborative,
        now=now,
        limit=limit,
    )
    return pool, ranked


def with_table(
    table: CandidateTable,
    gathered: list[Candidate],
    sent: frozenset[str],
    neighbourhood: Neighbourhood | None,
    interests: dict[str, float],
    disliked: dict[str, float],
    avoid: list[str],
    ranker: Ranker,
    now: dt.datetime | None,
    items: int,
    limit: int,
) -> tuple[list[Candidate], list[Ranked]]:
    """The same choice as :func:`reference`, as ``DigestBuilder.draft`` makes it now."""
    rows = table.dedupe(table.rows(gathered), sent)
    collaborative = table.collaborative(neighbourhood, rows) if neighbourhood is not None else None
    ranked = table.choose(
        rows,
        collaborative,
        interests=interests,
        disliked=disliked,
        avoid=avoid,
        ranker=ranker,
        now=now,
        items=items,
        limit=limit,
    )
    return [table.candidates[r] for r in rows.tolist()], ranked


@given(
    offered=st.lists(candidates, max_size=20),
    picks=st.lists(st.integers(min_value=0, max_value=19), max_size=30),
    earlier=st.lists(st.integers(min_value=0, max_value=19), max_size=8),
    sent_marks=st.lists(st.integers(min_value=0, max_value=40), max_size=4),
    interests=st.dictionaries(st.sampled_from(TOPICS), weights, max_size=5),
    disliked=st.dictionaries(st.sampled_from(TOPICS), st.sampled_from([0.5, 1.0, 2.0]), max_size=2),
    avoid=st.lists(st.sampled_from(["tea", "", " Chess "]), max_size=2),
    neighbourhood=st.one_of(
        st.none(),
        st.builds(
            Neighbourhood,
            topics=st.dictionaries(st.sampled_from(TOPICS), st.sampled_from([0.2, 0.5, 1.0])),
            items=st.dictionaries(st.sampled_from(KEYS), st.sampled_from([0.3, 1.0])),
        ),
    ),
    diversity=st.sampled_from([0.0, 0.6, 1.0, 1.5]),
    min_relevance=st.sampled_from([0.0, -1.0, 0.3]),
    now=st.sampled_from([NOW, None]),
    items=st.integers(min_value=1, max_value=3),
    also_new=st.integers(min_value=0, max_value=2),
)
@settings(max_examples=400, deadline=None)
def test_the_table_chooses_what_the_per_reader_rules_choose(
    offered,
    picks,
    earlier,
    sent_marks,
    interests,
    disliked,
    avoid,
    neighbourhood,
    diversity,
    min_relevance,
    now,
    items,
    also_new,
):
    ranker = Ranker(RankingSettings(diversity=diversity, min_relevance=min_relevance))
    gathered = [offered[i] for i in picks if i < len(offered)]
    # Every mark any candidate has, and some no candidate has: what a reader was sent before.
    known = sorted({m for c in offered for m in marks(c.key, c.url, c.title)})
    sent = frozenset(
        (known + ["k99", "url:https://other"])[i] for i in sent_marks if i < len(known) + 2
    )
    arguments = (gathered, sent, neighbourhood, interests, disliked, avoid, ranker, now, items)
    pool, expected = reference(*arguments, items + also_new)
    table = CandidateTable()
    table.rows([offered[i] for i in earlier if i < len(offered)])  # another reader came first
    kept, got = with_table(table, *arguments, items + also_new)

    assert kept == pool and all(k is p for k, p in zip(kept, pool, strict=True))
    assert got == expected
    assert all(g.candidate is e.candidate for g, e in zip(got, expected, strict=True))


def test_a_table_grows_as_new_candidates_arrive_without_renumbering_old_ones():
    """A reader's own recommendations arrive after the shared pool: rows already given keep
    their number, and a wider topic list widens the matrices without losing earlier rows."""
    table = CandidateTable()
    shared = [Candidate(f"c{i}", f"title {i}", ("rust",), published_at=NOW) for i in range(100)]
    first = table.rows(shared)
    wide = Candidate("own", "own", ("rust", "tea", "chess", "jazz", "web"), published_at=NOW)
    second = table.rows([shared[3], wide, shared[99]])
    assert first.tolist() == list(range(100))
    assert second.tolist() == [3, 100, 99]
    _, chosen = with_table(
        table, [shared[3], wide, shared[99]], frozenset(), None, {"jazz": 1.0}, {}, [], Ranker(),
        NOW, 1, 1,
    )
    assert [r.candidate.key for r in chosen] == ["own"]
    assert chosen[0].why == "matches your interest in jazz; new"


def test_a_cold_reader_gets_an_old_item_similar_people_like_over_many_newer_ones():
    """The shortlist keeps what has a collaborative score even when it is too old to be
    among the freshest of the rest."""
    newer = [
        Candidate(f"new{i}", f"new {i}", ("tea",), published_at=NOW - dt.timedelta(minutes=i))
        for i in range(30)
    ]
    old = Candidate("old", "old", ("rust async",), published_at=NOW - dt.timedelta(days=9))
    gathered = [*newer, old]
    neighbourhood = Neighbourhood(topics={"rust": 1.0})
    arguments = (gathered, frozenset(), neighbourhood, {}, {}, [], Ranker(), NOW, 1, 1)
    _, expected = reference(*arguments)
    _, got = with_table(CandidateTable(), *arguments)
    assert [r.candidate.key for r in expected] == ["old"]
    assert got == expected


def test_many_equal_items_break_ties_by_key_as_the_reference_does():
    """Forty items with the same topics and time tie on every round: the smallest keys win,
    in order, whatever order the sources gave them in."""
    keys = [f"item-{n:02d}" for n in range(40)]
    keys = keys[17:] + keys[:17]
    gathered = [Candidate(k, k, ("rust async",), published_at=NOW) for k in keys]
    arguments = (gathered, frozenset(), None, {"rust": 1.0}, {}, [], Ranker(), NOW, 3, 3)
    _, expected = reference(*arguments)
    _, got = with_table(CandidateTable(), *arguments)
    assert [r.candidate.key for r in expected] == ["item-00", "item-01", "item-02"]
    assert got == expected


def test_a_run_starts_a_new_table_once_readers_own_candidates_fill_it():
    """Each reader's own recommendations are new objects: a run of many readers would keep
    them all. Past the limit the run's next draft gets an empty table."""
    cache = SharedCache()
    table = CandidateTable.of_run(cache)
    assert CandidateTable.of_run(cache) is table
    table.rows([Candidate(f"own{n}", "t") for n in range(MAX_ROWS + 1)])
    fresh = CandidateTable.of_run(cache)
    assert fresh is not table and fresh.candidates == []
    assert CandidateTable.of_run(cache) is fresh


def test_readers_drafted_at_different_times_with_different_avoidances_share_one_table():
    """A scheduled run drafts each reader at the clock's time: freshness and avoided phrases
    remembered for one reader must not leak into the next one's choice."""
    pool = [
        Candidate(
            f"c{i}",
            f"title {i}",
            (TOPICS[i % len(TOPICS)],),
            text="tea time" if i % 3 == 0 else "about chess" if i % 3 == 1 else "",
            published_at=NOW - dt.timedelta(hours=i * 7),
        )
        for i in range(24)
    ]
    table = CandidateTable()
    readers = [
        (pool, NOW, ["tea"]),
        (pool[5:], NOW + dt.timedelta(hours=30), ["chess"]),
        (pool[::-1], NOW, []),
        (pool, NOW + dt.timedelta(days=3), ["tea", "chess"]),
    ]
    for gathered, now, avoid in readers:
        arguments = (gathered, frozenset(), None, {"rust": 1.0, "jazz": 0.5}, {}, avoid,
                     Ranker(), now, 4)
        _, expected = reference(*arguments, 4)
        _, got = with_table(table, *arguments, 4)
        assert got == expected
