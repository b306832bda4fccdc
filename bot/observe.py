"""The core's one hook for observability: time an event, count it and its replies in
:mod:`bot.metrics`, and tag every log line written while handling it with the event's id
(:mod:`bot.logs`). Kept outside ``Core`` so the router stays about routing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bot import logs, metrics
from bot.events import ActionEvent, AnyEvent, CommandEvent, MessageEvent, ReactionEvent, Reply

_KINDS: dict[type, str] = {
    MessageEvent: "message",
    CommandEvent: "command",
    ActionEvent: "action",
    ReactionEvent: "reaction",
}


def kind_of(event: AnyEvent) -> str:
    return _KINDS.get(type(event), type(event).__name__.lower())


async def observed(event: AnyEvent, handle: Callable[[], Awaitable[list[Reply]]]) -> list[Reply]:
    """Run ``handle`` for ``event`` inside its log context and record what happened."""
    kind = kind_of(event)
    platform = event.person.platform
    started = time.perf_counter()
    with logs.event_context(event.event_id):
        try:
            replies = await handle()
        except Exception:  # a cancelled task is not an error
            metrics.event_handled(platform, kind, time.perf_counter() - started, [], "error")
            raise
    outcome = "error" if any(r.purpose == "error" for r in replies) else "ok"
    metrics.event_handled(
        platform, kind, time.perf_counter() - started, [r.purpose for r in replies], outcome
    )
    return replies


async def count_erasure() -> None:
    """After-commit work of an erasure: count it once the rows are really gone."""
    metrics.person_erased()
