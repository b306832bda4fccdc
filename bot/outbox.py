"""The core's policies for what leaves the bot, which adapters only render, and the one
:class:`Outbox` protocol every adapter that can send on its own implements.

* :class:`Outbox` — reply to an event (replays after a database outage, work that finishes
  after the event's own answer) and send to a person (scheduled digests). An adapter opens
  its outbox on the services (``Services.open_outbox``); the core and features find it there.
* :func:`feedback_buttons` — which replies carry 👍/👎 (adapters only draw them).
* :func:`split_text` — the one splitting policy every adapter uses for text longer than its
  platform allows in one message or block: paragraph, then line, then word boundaries; a cut
  inside a fenced code block closes the fence and reopens it (with its language) in the next
  piece, so every piece renders on its own. Nothing is ever dropped: a long answer continues
  in follow-up pieces.
"""

from __future__ import annotations

from typing import Protocol

import regex

from bot.events import AnyEvent, Button, Reply
from profiles.models import Person


class Outbox(Protocol):
    """How replies leave through one platform's adapter, outside its own request path."""

    @property
    def platform(self) -> str: ...

    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        """Answer ``event`` where the person would expect it (its channel or thread)."""

    async def send(self, person: Person, replies: list[Reply]) -> None:
        """Write to ``person`` directly (their DM with the bot, or the running terminal)."""


FEEDBACK_UP = "feedback.up"
FEEDBACK_DOWN = "feedback.down"

_FENCE = "```"
# What a reopened code block repeats of its opening line: the fence and its language, never
# the rest (a long opening line, repeated on every piece, made pieces longer than the limit)
_FENCE_OPENER = regex.compile(r"`{3,}[\w+.#-]{0,20}")
_GRAPHEME = regex.compile(r"\X")


def feedback_buttons(reply: Reply) -> list[Button]:
    """The one feedback policy for every platform: a chat answer the core stored (it has a
    reply id) gets 👍/👎 after any buttons of its own; nothing else does. A press comes back
    as ``feedback.up``/``feedback.down`` with ``value`` = the reply id."""
    if reply.purpose != "chat" or not reply.reply_id:
        return []
    return [
        Button(FEEDBACK_UP, "👍", value=reply.reply_id),
        Button(FEEDBACK_DOWN, "👎", value=reply.reply_id),
    ]


def split_text(text: str, limit: int) -> list[str]:
    """``text`` as pieces of at most ``limit`` characters (see the module docstring). Pieces
    are stripped at the cut; ``[""]`` for empty text."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    if limit < 16:
        raise ValueError("limit too small to carry a code fence")
    pieces: list[str] = []
    opener: str | None = None  # the fence line of a code block still open at the last cut
    remaining = text
    while remaining:
        prefix = f"{opener}\n" if opener else ""
        if len(prefix) + len(remaining) <= limit:
            pieces.append(prefix + remaining)
            break
        budget = max(limit - len(prefix) - len(_FENCE) - 1, limit // 4)
        cut = _cut_point(remaining, budget)
        piece, remaining = remaining[:cut].rstrip(), remaining[cut:].lstrip("\n")
        body = prefix + piece
        opener = _open_fence(body)
        if opener:
            body = f"{body}\n{_FENCE}"
        pieces.append(body)
    return pieces


def _cut_point(text: str, budget: int) -> int:
    window = text[:budget]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at >= budget // 3:
            return at + len(separator)
    return _grapheme_start(text, budget)


def _grapheme_start(text: str, at: int) -> int:
    """``at``, moved back to the start of the character as displayed (grapheme cluster) it
    falls in: a cut without whitespace near must not leave an accent, half a family emoji
    or a Thai vowel sign at the start of the next piece. Clusters are looked for from a
    little before ``at``; one longer than that (or starting the text) is cut where it is."""
    window = max(0, at - 32)
    for match in _GRAPHEME.finditer(text, window, at + 1):
        if match.end() > at:
            # a cluster found at the window's edge may have begun before it: cut where it is
            return match.start() if match.start() > window else at
    return at


def _open_fence(text: str) -> str | None:
    """The opening fence line (``\u0060\u0060\u0060py``) if ``text`` ends inside a code block."""
    opener: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped.startswith(_FENCE):
            continue
        if opener is not None:
            opener = None
        elif not (stripped.count(_FENCE) >= 2 and len(stripped) > len(_FENCE)):
            # a one-line ```code``` opens and closes: ignore it
            found = _FENCE_OPENER.match(stripped)
            opener = found.group(0) if found is not None else _FENCE
    return opener
