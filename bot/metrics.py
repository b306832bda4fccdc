"""What the bot counts for its operator, as Prometheus metrics.

The core, the model step and the digests record here through a few plain functions
(``event_handled``, ``model_call``, ``digest_sent``…), so ``bot/`` needs no web server and no
adapter: whoever serves ``/metrics`` (``adapters/ops``) exposes :data:`REGISTRY`. Labels are
kinds, platforms and outcomes only — never a person, a workspace or any text — so the
metrics stay aggregates.

The registry is this module's own (not prometheus-client's global one), so a library that
registers metrics of its own cannot collide with ours, and a test can read values from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds: a command answers in milliseconds, a model reply in seconds, a digest in minutes.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

EVENTS = Counter(
    "tailorbot_events",
    "Platform events handled, by kind (message, command, action, reaction) and outcome.",
    ["platform", "kind", "outcome"],
    registry=REGISTRY,
)
EVENT_SECONDS = Histogram(
    "tailorbot_event_seconds",
    "Time from an event reaching the core to its replies being ready.",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
REPLIES = Counter(
    "tailorbot_replies",
    "Replies the core returned to an adapter, by purpose (answer, command, notice, error…).",
    ["platform", "purpose"],
    registry=REGISTRY,
)
MODEL_CALLS = Counter(
    "tailorbot_model_calls",
    "Calls to the language model, by backend, purpose and outcome (ok or error).",
    ["backend", "purpose", "outcome"],
    registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "tailorbot_model_tokens",
    "Tokens the model reported, by backend and direction (input or output).",
    ["backend", "direction"],
    registry=REGISTRY,
)
MODEL_SECONDS = Histogram(
    "tailorbot_model_seconds",
    "Model call latency, errors included.",
    ["backend", "purpose"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
DIGESTS = Counter(
    "tailorbot_digests",
    "Scheduled digests, by outcome (sent, failed, skipped…).",
    ["outcome"],
    registry=REGISTRY,
)
ERASURES = Counter(
    "tailorbot_erasures",
    "People whose data was erased (/forget, the CLI, a platform's deletion request).",
    registry=REGISTRY,
)
OUTAGE_BACKLOG = Gauge(
    "tailorbot_outage_backlog_events",
    "Events kept in memory while the database is unavailable, waiting to be replayed.",
    registry=REGISTRY,
)
PEOPLE = Gauge(
    "tailorbot_people",
    "People the bot knows, by consent status (read from the database at scrape time).",
    ["consent"],
    registry=REGISTRY,
)


def event_handled(
    platform: str, kind: str, seconds: float, purposes: list[str], outcome: str = "ok"
) -> None:
    """One event went through the core; ``purposes`` has one entry per reply returned."""
    _child(EVENTS, platform, kind, outcome).inc()
    _child(EVENT_SECONDS, kind).observe(seconds)
    for purpose in purposes:
        _child(REPLIES, platform, purpose or "other").inc()


@functools.cache
def _child(metric: Counter | Histogram, *labels: str) -> Any:
    """``metric.labels(*labels)``, kept. Why: every event records here, and prometheus-client
    checks the label values and looks the child up under a lock on each call (10.7 µs an
    event against 4.8 with the children kept). The label values are few by design (see the
    module doc), so the cache stays as small as the metrics themselves."""
    return metric.labels(*labels)


def model_call(
    backend: str,
    purpose: str,
    seconds: float,
    *,
    ok: bool,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> None:
    MODEL_CALLS.labels(backend, purpose, "ok" if ok else "error").inc()
    MODEL_SECONDS.labels(backend, purpose).observe(seconds)
    if input_tokens:
        MODEL_TOKENS.labels(backend, "input").inc(input_tokens)
    if output_tokens:
        MODEL_TOKENS.labels(backend, "output").inc(output_tokens)


def digest_sent(outcome: str, count: int = 1) -> None:
    if count:
        DIGESTS.labels(outcome).inc(count)


def person_erased() -> None:
    ERASURES.inc()


def watch_backlog(size: Callable[[], int]) -> None:
    """Report the outage buffer's depth by asking ``size`` at each scrape."""
    OUTAGE_BACKLOG.set_function(lambda: float(size()))


def set_people(by_consent: dict[str, int]) -> None:
    for status, count in by_consent.items():
        PEOPLE.labels(status).set(count)


def value(name: str, labels: dict[str, str] | None = None) -> float:
    """A sample's current value (0 when never recorded): for tests and the operator page."""
    found = REGISTRY.get_sample_value(name, labels or {})
    return found or 0.0
