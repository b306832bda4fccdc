"""Logging set-up: plain text or one JSON object per line, and the id of the event being
handled on every line logged while handling it.

The event id travels in a :class:`contextvars.ContextVar`, which asyncio copies into every
task started while it is set, so lines from a reply's streaming task or a deferred hook carry
the id too, without each ``log.…`` call passing it. Lines outside an event have none.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator

current_event: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tailorbot_event_id", default=None
)

# Loggers of these packages are the bot's own: they log ids, never what people wrote.
FIRST_PARTY = ("bot", "profiles", "adapters", "prompts")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(event_tag)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class EventIdFilter(logging.Filter):
    """Adds ``event_id`` (only inside an event) and ``event_tag`` (" [id]" or "")."""

    def filter(self, record: logging.LogRecord) -> bool:
        event_id = current_event.get()
        if event_id:
            record.event_id = event_id
        record.event_tag = f" [{event_id}]" if event_id else ""
        return True


class LibraryLevelFilter(logging.Filter):
    """Drops library records below ``level`` whatever the root level. Why: below INFO several
    libraries log what people wrote — aiosqlite every statement with its values, the openai
    and anthropic SDKs each request's body, slack_sdk each payload — into a stream that
    ``/forget`` cannot reach. ``log_level = "DEBUG"`` is for the bot's own lines;
    ``log_library_level`` lets an operator who accepts that copy see the libraries' too."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.level:
            return True
        return record.name.split(".", 1)[0] in FIRST_PARTY


@contextlib.contextmanager
def event_context(event_id: str) -> Iterator[None]:
    token = current_event.set(event_id)
    try:
        yield
    finally:
        current_event.reset(token)


def configure(level: str, *, json: bool = False, library_level: str = "INFO") -> None:
    """Configure the root logger once (a second call replaces our handler, so tests and
    repeated ``build_core`` calls do not duplicate lines). ``library_level``: see
    :class:`LibraryLevelFilter`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("tailorbot")
    handler.addFilter(LibraryLevelFilter(logging.getLevelName(library_level.upper())))
    handler.addFilter(EventIdFilter())
    if json:
        from pythonjsonlogger.core import RESERVED_ATTRS
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
                static_fields={"app": "tailorbot"},
                reserved_attrs=[*RESERVED_ATTRS, "taskName", "event_tag"],
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "tailorbot":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())

