"""The offline evaluation run: both protocols; every baseline and the project's ranker tuned
on the same validation split carved from the training data, then scored once on the test
split; one table per protocol with the chosen hyperparameters, the machine's load and an
honest verdict line."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.eval.baselines import BASELINES, SEED, TOP_N, Interactions, Rankings
from bench.eval.data import Movie, MovieLens
from bench.eval.metrics import Scores, evaluate, ndcg_at_k, paired_difference
from bench.eval.project import (
    RankerChoice,
    Variant,
    accuracy_settings,
    blend,
    rank_with_project,
    stored_profiles,
    tune_project,
)
from bench.eval.splits import PROTOCOLS, Protocol, Split, split
from bench.eval.tuning import Choice, describe, tune, validation_split
from profiles.ranking import RankingSettings

# Dacrema, Cremonesi, Jannach: "Are We Really Making Much Progress?" (RecSys 2019), ML-100k.
PUBLISHED = {"TopPop (Dacrema et al. 2019)": 0.19, "ItemKNN (Dacrema et al. 2019)": 0.33}
# What the digest and /recommend use today (diversity re-rank, topics at full weight).
DEFAULT_SETTINGS = RankingSettings()
HEADLINE = "project ranker, tuned"
TOPICS_OFF = "  same, topic term off"
RECENCY_OFF = "  same, recency off"
TOPICS_ONLY = "project ranker: topic profile only (digest defaults)"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    scores: Scores | None
    seconds: float
    project: bool = False
    chosen: str = ""
    validation_ndcg: float | None = None
    published_p10: float | None = None
    per_person: tuple[float, ...] = ()  # NDCG@10 of each person with held-out items


@dataclass(frozen=True, slots=True)
class Tuned:
    """Everything chosen on validation for one protocol (nothing here saw the test split)."""

    baselines: dict[str, Choice]
    ranker: RankerChoice
    seconds: dict[str, float]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def choose(train_split: Split, movies: dict[str, Movie]) -> Tuned:
    """Tune every baseline and the project's ranker on the validation split carved from
    ``train_split.train``; ``train_split.test`` is never read."""
    items = sorted(movies, key=int)
    validation = validation_split(train_split.train, train_split.protocol)
    baselines: dict[str, Choice] = {}
    seconds: dict[str, float] = {}
    for baseline in BASELINES:
        started = time.perf_counter()
        baselines[baseline.name] = tune(baseline.rank, baseline.grid, validation, items)
        seconds[baseline.name] = time.perf_counter() - started
    started = time.perf_counter()
    stored = asyncio.run(stored_profiles(validation, movies))
    ranker = tune_project(
        stored,
        validation,
        movies,
        l2=baselines["EASE"].params["l2"],
        rp3=baselines["RP3beta"].params,
    )
    seconds[HEADLINE] = time.perf_counter() - started
    return Tuned(baselines, ranker, seconds)


def project_variants(tuned: Tuned) -> list[Variant]:
    l2 = tuned.baselines["EASE"].params["l2"]
    rp3 = tuned.baselines["RP3beta"].params
    r = tuned.ranker
    variants = [
        Variant(HEADLINE, r.settings(), blend(l2, rp3, r.ridge_share), r.half_life),
        Variant(TOPICS_OFF, accuracy_settings(0.0), blend(l2, rp3, r.ridge_share), r.half_life),
    ]
    if r.half_life is not None:
        variants.append(Variant(RECENCY_OFF, r.settings(), blend(l2, rp3, r.ridge_share), None))
    variants.append(Variant(TOPICS_ONLY, DEFAULT_SETTINGS, None))
    return variants


def evaluate_split(s: Split, movies: dict[str, Movie]) -> tuple[list[Row], Tuned]:
    """Tune on validation, refit on the whole training split with the chosen values, score
    on the test split once."""
    tuned = choose(s, movies)
    items = sorted(movies, key=int)
    matrix = Interactions.of(s, items)

    def scored(rankings: Rankings) -> Scores:
        return evaluate((rankings.get(u, []), s.test[u]) for u in matrix.users)

    def per_person(rankings: Rankings) -> tuple[float, ...]:
        return tuple(
            ndcg_at_k(rankings.get(u, []), s.test[u], TOP_N) for u in matrix.users if s.test[u]
        )

    rows: list[Row] = []
    for baseline in BASELINES:
        choice = tuned.baselines[baseline.name]
        started = time.perf_counter()
        rankings = baseline.rank(matrix, choice.params, TOP_N)
        rows.append(
            Row(
                baseline.name,
                scored(rankings),
                tuned.seconds[baseline.name] + time.perf_counter() - started,
                chosen=describe(choice.params)
                + (f" ({choice.tried} tried)" if choice.tried > 1 else ""),
                validation_ndcg=choice.validation_ndcg,
                per_person=per_person(rankings),
            )
        )
    variants = project_variants(tuned)
    started = time.perf_counter()
    stored = asyncio.run(stored_profiles(s, movies))
    found = rank_with_project(stored, movies, variants)
    each = (time.perf_counter() - started) / len(variants)
    for variant in variants:
        headline = variant.label == HEADLINE
        rows.append(
            Row(
                variant.label,
                scored(found[variant.label]),
                each + (tuned.seconds[HEADLINE] if headline else 0.0),
                project=True,
                chosen=(
                    f"{tuned.ranker.describe()} ({tuned.ranker.tried} tried)" if headline else ""
                ),
                validation_ndcg=tuned.ranker.validation_ndcg if headline else None,
                per_person=per_person(found[variant.label]),
            )
        )
    return rows, tuned


def evaluate_protocol(data: MovieLens, protocol: Protocol) -> tuple[list[Row], str]:
    s = split(data.ratings, protocol, seed=SEED)
    load_before = load_average()
    rows, tuned = evaluate_split(s, data.movies)
    rows.extend(Row(name, None, 0.0, published_p10=p10) for name, p10 in PUBLISHED.items())
    l2 = tuned.baselines["EASE"].params["l2"]
    rp3 = describe(tuned.baselines["RP3beta"].params)
    header = "\n".join(
        [
            f"protocol: {protocol} — {len(s.train)} people, {len(data.movies)} movies, "
            f"train {s.train_size:,} / test {s.test_size:,} ratings, seed {SEED}, full ranking "
            f"of unseen movies, top {TOP_N}",
            "every row's hyperparameters chosen on a validation split of the training data "
            "(same protocol, seed 43); the test split is scored once",
            f"project ranker = Ranker(topic term + blend of ridge co-occurrence l2={l2:g} and "
            f"RP3beta {rp3}), diversity off",
            f"machine: {load_before} at the start, {load_average()} at the end",
        ]
    )
    return rows, header


def verdict(rows: Sequence[Row]) -> str:
    """Headline: the tuned project ranker against the best tuned baseline; then what its
    own parts (topic term, recency) contribute, so nobody reads more into it."""
    baselines = [r for r in rows if r.scores is not None and not r.project]
    named = {r.name: r for r in rows if r.project}
    head = named[HEADLINE].scores
    best = max(baselines, key=lambda r: r.scores.ndcg if r.scores else 0.0)
    assert head is not None and best.scores is not None
    ahead = head.ndcg > best.scores.ndcg
    gap, half = paired_difference(named[HEADLINE].per_person, best.per_person)
    lines = [
        f"verdict: the project's ranker is {'AHEAD of' if ahead else 'NOT ahead of'} every tuned "
        f"baseline on NDCG@10: {head.ndcg:.4f} vs best baseline {best.scores.ndcg:.4f} "
        f"({best.name}): {gap:+.4f} ± {half:.4f} (95 % interval, paired over "
        f"{len(best.per_person)} people; {'outside' if abs(gap) > half else 'within'} "
        f"person-to-person noise)."
    ]
    strong = sorted(baselines, key=lambda r: -(r.scores.ndcg if r.scores else 0.0))[1:3]
    for baseline in strong:
        gap, half = paired_difference(named[HEADLINE].per_person, baseline.per_person)
        lines.append(f"         vs {baseline.name}: {gap:+.4f} ± {half:.4f}")
    parts = []
    for label, what in ((TOPICS_OFF, "the topic term"), (RECENCY_OFF, "recency weighting")):
        other = named.get(label)
        if other is not None:
            gap, half = paired_difference(named[HEADLINE].per_person, other.per_person)
            parts.append(f"{what} adds {gap:+.4f} ± {half:.4f}")
    topics_only = named[TOPICS_ONLY].scores
    assert topics_only is not None
    parts.append(f"the topic profile alone scores {topics_only.ndcg:.4f}")
    lines.append("         " + "; ".join(parts) + ".")
    return "\n".join(lines)


def format_table(rows: Sequence[Row], header: str) -> str:
    width = max(len(r.name) for r in rows) + 2
    out = [
        header,
        f"{'recommender':{width}} {'P@10':>7} {'R@10':>7} {'NDCG@10':>8} {'val.NDCG':>8} "
        f"{'time s':>7}  chosen on validation",
    ]
    out.append("-" * (width + 66))
    for r in rows:
        if r.scores is not None:
            val = f"{r.validation_ndcg:.4f}" if r.validation_ndcg is not None else "—"
            out.append(
                f"{r.name:{width}} {r.scores.precision:>7.4f} {r.scores.recall:>7.4f} "
                f"{r.scores.ndcg:>8.4f} {val:>8} {r.seconds:>7.1f}  {r.chosen}".rstrip()
            )
        else:
            out.append(
                f"{r.name:{width}} {r.published_p10:>7.2f} {'—':>7} {'—':>8} {'—':>8} "
                f"{'(paper)':>7}"
            )
    out.append(verdict(rows))
    return "\n".join(out)


def run(data: MovieLens, protocols: Sequence[Protocol] = PROTOCOLS) -> list[str]:
    tables = []
    for protocol in protocols:
        rows, header = evaluate_protocol(data, protocol)
        table = format_table(rows, header)
        print(table + "\n", flush=True)
        tables.append(table)
    return tables

