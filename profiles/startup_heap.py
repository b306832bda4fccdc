"""What a long-running process loaded at start, kept out of the garbage collector's way.

Python's cyclic collector walks every tracked object on a full pass, and a bot's start-up
loads millions of them (modules, lexicons, language lists, compiled templates and
statements) that live as long as the process. Each full pass is a stall of that process:
on the event loop every person's reply waits it out, in an extraction worker every reply
whose message it holds (docs/measurement.md).
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Exempt what the process holds once it has started from the collector's full passes:
    in `python -m bench --scale` rows of 10k people on SQLite (without / with it, in the bot's
    process), the longest loop lag under maximum ingest was 156.7 / 6.9 ms and DM p99 483 /
    271 ms. Called once, after a process's warm-up (the bot's, each extraction worker's);
    returns how many objects were frozen."""
    gc.collect()  # garbage of the start-up itself is freed, not frozen
    gc.freeze()
    return gc.get_freeze_count()
