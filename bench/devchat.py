"""Topic quality on developer chat, which the labelled corpus of ``bench/profiles.py`` barely
has: a newcomer's short real-looking session taught "failing", "store", "versus async std".

Fifty-eight lines of a team channel, each labelled by hand with the topics it is about (``wanted``:
what a reader of the line would say it mentions) and what else would be an acceptable topic
(``also``). Printed: **recall** of the wanted topics (a wanted topic counts when an extracted
one equals it or contains it as a word sequence: "flaky integration test" counts for
"integration test"), and **noise**: the share of extracted topics that are neither wanted nor
acceptable (filler, verbs, cut compounds). Every extracted topic is in its lemma form, so the
labels are too. The labels were written for this file after the topic rules of 2026-12-05;
each disagreement is listed, so a change shows what it gained or lost, line by line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from profiles.signals import SignalExtractor


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    wanted: tuple[str, ...] = ()
    also: tuple[str, ...] = ()


LINES = (
    Line("morning all"),
    Line("my tests keep failing on CI since the upgrade", ("test",), ("upgrade", "ci")),
    Line("anyone else seeing the flaky integration tests?", ("integration test",)),
    Line("we store sessions in redis", ("redis",), ("session",)),
    Line("tokio versus async std for this?", ("tokio", "async std")),
    Line("anyone used a distributed key value store?", ("key value store",)),
    Line("lol same"),
    Line("I think the migration broke the staging database", ("staging database",),
         ("migration",)),
    Line("can you review my PR when you get a chance", (), ("pr",)),
    Line("the docker build is super slow on my laptop", ("docker build",), ("laptop",)),
    Line("rebasing onto main again, merge conflicts everywhere", ("merge conflict",),
         ("rebasing",)),
    Line("we should switch to postgres for the analytics pipeline",
         ("postgres", "analytics pipeline")),
    Line("grabbing lunch, back in 20", (), ("lunch",)),
    Line("is the kubernetes cluster down or is it just me?", ("kubernetes cluster",)),
    Line("deploying the hotfix to production now", ("hotfix",), ("production",)),
    Line("the memory leak is in the websocket handler I think",
         ("memory leak", "websocket handler")),
    Line("has anyone tried rust for embedded stuff?", ("rust",), ("embedded",)),
    Line("coffee?", (), ("coffee",)),
    Line("our grafana dashboards are lying again", ("grafana dashboard",)),
    Line("thanks, that fixed it!"),
    Line("the build keeps timing out after the dependency bump", ("dependency bump",),
         ("build",)),
    Line("I'm running the benchmarks overnight", ("benchmark",)),
    Line("nice, ship it"),
    Line("we need better logging in the payment service", ("payment service",), ("logging",)),
    Line("the api returns a 500 when the token expires", ("api",), ("token",)),
    Line("switching from webpack to vite cut our build time in half", ("webpack", "vite"),
         ("build time", "build")),
    Line("yeah that makes sense"),
    Line("heading out early today, kid's soccer game", (), ("soccer", "soccer game", "kid")),
    Line("can someone explain how the message queue retries work?", ("message queue",),
         ("message queue retry",)),
    Line("the terraform plan wants to recreate the load balancer",
         ("terraform", "load balancer"), ("terraform plan",)),
    Line("mypy is complaining about the generic types again", ("mypy", "generic type")),
    Line("let's pair on the caching layer tomorrow", ("caching layer",)),
    Line("haha that's wild"),
    Line("I've been reading about event sourcing and CQRS", ("event sourcing", "cqrs")),
    Line("does graphql make sense for the mobile app?", ("graphql", "mobile app")),
    Line("the linter fails on unused imports", ("linter", "unused import")),
    Line("who owns the auth service?", ("auth service",)),
    Line("just pushed a fix for the race condition", ("race condition",)),
    Line("our error rates spiked after the release", ("error rate",), ("release",)),
    Line("learning some haskell on the weekends, monads still confuse me",
         ("haskell", "monad")),
    Line("sql query is doing a full table scan, need an index", ("sql query", "table scan"),
         ("full table scan", "index")),
    Line("I moved the cron jobs to the new scheduler", ("cron job",), ("scheduler",)),
    Line("any opinions on sqlite versus postgres for a small side project?",
         ("sqlite", "postgres"), ("side project",)),
    Line("the frontend team wants a new endpoint for user preferences",
         ("endpoint", "user preference"), ("frontend", "frontend team")),
    Line("my laptop fan sounds like a jet engine", ("laptop fan",), ("laptop", "jet engine")),
    Line("going hiking this weekend if the weather holds", ("hiking",), ("weather",)),
    Line("we keep hitting the rate limit on the github api", ("rate limit", "github api")),
    Line("does anyone know a good book on distributed systems?", ("distributed system",)),
    Line("I'll write up the incident report after standup", ("incident report",),
         ("standup",)),
    Line("the cache invalidation bug is back", ("cache invalidation",),
         ("cache invalidation bug",)),
    # Set phrases (2026-12-06, labelled after profiles/set_phrases.py was written): the
    # phrase's noun is no topic, what is said around it is.
    Line("good luck with the demo tomorrow!", ("demo",)),
    Line("oh my god the build finally passed", ("build",)),
    Line("no worries, talk tomorrow"),
    Line("sounds like a plan"),
    Line("what the hell happened to the staging cluster", ("staging cluster",)),
    Line("your turn to cut the release", ("release",)),
    Line("long story short we're moving to kafka", ("kafka",)),
    Line("fingers crossed the migration holds", ("migration",)),
)


def _covers(found: str, wanted: str) -> bool:
    return f" {wanted} " in f" {found} "


def run_devchat() -> None:
    score_lines("developer chat", LINES, "hand-labelled lines")


def score_lines(name: str, lines: Sequence[Line], kind: str) -> None:
    """Recall and noise of the topics extracted from ``lines``, each disagreement listed;
    with how many lines labelled with nothing (small talk) teach a topic at all."""
    extractor = SignalExtractor()
    extractor.extract("warming up the lexicons")
    wanted = hits = extracted = noise = small = small_taught = 0
    misses: list[str] = []
    started = time.process_time()
    for line in lines:
        topics = [topic for topic, _ in extractor.extract(line.text).topics]
        extracted += len(topics)
        if not line.wanted and not line.also:
            small += 1
            small_taught += bool(topics)
        for want in line.wanted:
            wanted += 1
            if any(_covers(topic, want) for topic in topics):
                hits += 1
            else:
                misses.append(f"  missed {want!r} in {line.text!r} (got {topics})")
        for topic in topics:
            if not any(_covers(topic, ok) for ok in (*line.wanted, *line.also)):
                noise += 1
                misses.append(f"  noise {topic!r} from {line.text!r}")
    cpu = time.process_time() - started
    print(f"{name}: {len(lines)} {kind}, {wanted} wanted topics, "
          f"{extracted} extracted ({cpu * 1000 / len(lines):.2f} ms CPU a line)")
    print(f"recall of wanted topics: {hits / wanted:.2f} ({hits} of {wanted});  "
          f"noise: {noise / max(extracted, 1):.1%} ({noise} of {extracted} extracted)"
          + (f";  small talk teaching a topic: {small_taught} of {small}" if small else ""))
    for line in misses:
        print(line)
