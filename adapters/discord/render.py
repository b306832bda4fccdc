"""Core :class:`~bot.events.Reply` → what a Discord send needs (no I/O here).

* Text longer than Discord's 2,000 characters is split at paragraph, then line, then word
  boundaries; a split inside a fenced code block closes the fence and reopens it (with its
  language) in the next message, so every message renders on its own.
* Buttons, a ``reply_id`` (👍/👎 feedback buttons), the attachment and ``Reply.native`` go on
  the last message of a split reply, where people read the end of the answer.
* ``Reply.native`` passes through as send keywords (``embed``, ``embeds``, ``view``, ...); a
  caller-built ``view`` replaces the one built from ``Reply.buttons``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord.views import build_view
from bot.events import Button, Reply

MESSAGE_LIMIT = 2000
MAX_CHUNKS = 10
CUT_NOTE = "\n… (the rest of this reply was too long for Discord)"
NATIVE_KEYS = frozenset(
    {"embed", "embeds", "view", "allowed_mentions", "suppress_embeds", "silent"}
)
FEEDBACK_BUTTONS = (Button("feedback.up", ""), Button("feedback.down", ""))
_FENCE = "```"


def split_message(text: str, limit: int = MESSAGE_LIMIT, max_chunks: int = MAX_CHUNKS) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` characters (see module docstring)."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    opener: str | None = None  # the fence line of a code block still open at the last cut
    remaining = text
    while remaining:
        prefix = f"{opener}\n" if opener else ""
        if len(prefix) + len(remaining) <= limit:
            chunks.append(prefix + remaining)
            break
        budget = max(limit - len(prefix) - len(_FENCE) - 1, limit // 4)
        cut = _cut_point(remaining, budget)
        piece, remaining = remaining[:cut].rstrip(), remaining[cut:].lstrip("\n")
        body = prefix + piece
        opener = _open_fence(body)
        if opener:
            body = f"{body}\n{_FENCE}"
        chunks.append(body)
    if len(chunks) > max_chunks:
        chunks = chunks[:max_chunks]
        chunks[-1] = chunks[-1][: limit - len(CUT_NOTE)] + CUT_NOTE
    return chunks


def _cut_point(text: str, budget: int) -> int:
    window = text[:budget]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at >= budget // 3:
            return at + len(separator)
    return budget


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
            opener = stripped  # a one-line ```code``` opens and closes: ignore it
    return opener


def preview(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """What a streaming message shows while the reply is still being written."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class Rendered:
    """A reply ready to send: ``chunks`` in order, ``last_extras()`` on the last one."""

    chunks: list[str]
    view: discord.ui.View | None = None
    attachment: tuple[str, bytes] | None = None
    native: dict[str, Any] = field(default_factory=dict)

    def last_extras(self) -> dict[str, Any]:
        """Keywords for the last message. Builds a fresh ``discord.File`` each call: a file
        object is consumed by one upload, and a fallback may need to send it again."""
        extras: dict[str, Any] = dict(self.native)
        if self.view is not None and "view" not in extras:
            extras["view"] = self.view
        if self.attachment is not None:
            name, data = self.attachment
            extras["file"] = discord.File(io.BytesIO(data), filename=name)
        return extras


def render(reply: Reply, *, scope: str, feedback_buttons: bool = True) -> Rendered:
    buttons = list(reply.buttons)
    if feedback_buttons and reply.reply_id and reply.purpose == "chat" and not buttons:
        buttons = [Button(b.action_id, b.label, value=reply.reply_id) for b in FEEDBACK_BUTTONS]
    native = {k: v for k, v in (reply.native or {}).items() if k in NATIVE_KEYS}
    chunks = split_message(reply.text) if reply.text.strip() else [""]
    return Rendered(
        chunks=chunks,
        view=build_view(buttons, scope) if buttons else None,
        attachment=reply.attachment,
        native=native,
    )
