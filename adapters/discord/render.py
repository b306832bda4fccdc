"""Core :class:`~bot.events.Reply` → what a Discord send needs (no I/O here).

* Text longer than Discord's 2,000 characters continues in follow-up messages, split by the
  core's one policy (:func:`bot.outbox.split_text`): paragraph, then line, then word
  boundaries, code fences closed and reopened; nothing is dropped.
* Buttons, the 👍/👎 feedback buttons the core's policy gives a reply
  (:func:`bot.outbox.feedback_buttons`), the attachment and ``Reply.native`` go on
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
from bot.outbox import feedback_buttons as feedback_policy
from bot.outbox import split_text

MESSAGE_LIMIT = 2000
NATIVE_KEYS = frozenset(
    {"embed", "embeds", "view", "allowed_mentions", "suppress_embeds", "silent"}
)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` characters, code fences intact and
    nothing dropped (the core's one policy, :func:`bot.outbox.split_text`)."""
    return split_text(text, limit)


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
    if feedback_buttons:  # the core's policy; views.py draws them as emoji-only buttons
        buttons += [Button(b.action_id, "", value=b.value) for b in feedback_policy(reply)]
    native = {k: v for k, v in (reply.native or {}).items() if k in NATIVE_KEYS}
    chunks = split_message(reply.text) if reply.text.strip() else [""]
    return Rendered(
        chunks=chunks,
        view=build_view(buttons, scope) if buttons else None,
        attachment=reply.attachment,
        native=native,
    )
