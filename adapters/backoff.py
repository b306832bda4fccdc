"""How long to wait before each new try of work a failure stopped (most often the database
away) and that nothing else will ask for again: a minute, then twice as long each time, up to
an hour. Shared by Discord's reconcile (adapters/discord/reconcile.py) and Slack's deletion of
an uninstalled workspace's installation (adapters/slack/app.py)."""

from __future__ import annotations

from collections.abc import Iterator

FIRST = 60.0
MOST = 3600.0


def backoff(first: float = FIRST, most: float = MOST) -> Iterator[float]:
    """Seconds to wait before each try: ``first``, then doubling, never above ``most``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)
