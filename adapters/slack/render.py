"""Core :class:`Reply` → Slack message payload (``text`` + Block Kit ``blocks``).

Pure functions. The ``text`` field is always set: Slack uses it for notifications, screen
readers and clients that cannot draw blocks. Blocks are only added when they carry something
the text cannot (buttons), so plain answers stay plain messages.

Limits honoured: a section holds 3,000 characters, a message 50 blocks, a button label 75
characters and a button value 2,000, a message's ``text`` 40,000 (Slack truncates the rest).
A reply longer than one message holds is several messages (:func:`message_payloads`): cut by
the core's one splitting policy (:func:`bot.outbox.split_text`), nothing dropped, its buttons on
the last, as on Discord.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.markup import escape, split_text, to_mrkdwn
from adapters.slack.types import ActionMessage
from bot.events import Button, ButtonStyle, Reply
from bot.outbox import FEEDBACK_UP
from bot.outbox import feedback_buttons as feedback_policy

SECTION_LIMIT = 3000
# One message's text, below the 40,000 characters past which Slack truncates it. A piece this
# long is cut into at most 41 sections (the splitting policy cuts a section at least a third
# into its 3,000 characters), so with the two rows of buttons a message never needs more than
# Slack's 50 blocks.
TEXT_LIMIT = 39_000
MAX_BLOCKS = 50
ACTIONS_BLOCK_ID = "tailorbot.actions"
FEEDBACK_BLOCK_ID = "tailorbot.feedback"


def button(item: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": item.action_id,
        "text": {"type": "plain_text", "text": item.label[:75], "emoji": True},
    }
    if item.value:
        element["value"] = item.value[:2000]
    if item.style != ButtonStyle.DEFAULT:
        element["style"] = item.style.value
    return element


def actions_block(buttons: list[Button], block_id: str = ACTIONS_BLOCK_ID) -> dict[str, Any]:
    """One actions block (Slack allows 25 elements; the core never sends more than a few)."""
    return {"type": "actions", "block_id": block_id, "elements": [button(b) for b in buttons[:25]]}


def feedback_acknowledged(
    message: ActionMessage, action_id: str, thanks: str
) -> dict[str, Any] | None:
    """``chat.update`` payload for an answer whose 👍/👎 button was pressed: the same text and
    blocks, with the button row replaced by the choice and the core's ``thanks`` (in the
    person's language: the adapter words nothing of its own), so the click is visibly taken
    in place. None when the message carries no feedback row (nothing to replace)."""
    blocks = message.get("blocks") or []
    if not any(block.get("block_id") == FEEDBACK_BLOCK_ID for block in blocks):
        return None
    noted = f"{'👍' if action_id == FEEDBACK_UP else '👎'} {escape(thanks)}"
    note = {"type": "context", "block_id": FEEDBACK_BLOCK_ID,
            "elements": [{"type": "mrkdwn", "text": noted}]}
    return {
        "text": str(message.get("text") or noted)[:TEXT_LIMIT],
        "blocks": [note if block.get("block_id") == FEEDBACK_BLOCK_ID else block
                   for block in blocks],
    }


def wants_feedback(reply: Reply) -> bool:
    """Whether the core's policy (:func:`bot.outbox.feedback_buttons`) gives ``reply``
    feedback buttons."""
    return bool(feedback_policy(reply))


def text_blocks(mrkdwn: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(mrkdwn, SECTION_LIMIT)
        if piece.strip()
    ]


def extra_blocks(reply: Reply) -> list[dict[str, Any]]:
    """Only the interactive part: the core's buttons, then feedback buttons. Used on its own
    when the text is streamed (``chat.stopStream`` appends these below the streamed text)."""
    blocks: list[dict[str, Any]] = []
    if reply.buttons:
        blocks.append(actions_block(reply.buttons))
    feedback = feedback_policy(reply)
    if feedback:  # a block of their own, so a press can be acknowledged in place
        blocks.append(actions_block(feedback, FEEDBACK_BLOCK_ID))
    return blocks


def message_payloads(reply: Reply, *, feedback: bool = True) -> list[dict[str, Any]]:
    """``text``/``blocks`` of each message ``reply`` takes, in order, for ``chat.postMessage``,
    ``chat.update``, ``chat.postEphemeral`` and ``response_url`` posts: one, unless its text is
    longer than a message holds (:data:`TEXT_LIMIT`); the rest continues in the next ones.
    Blocks are drawn only on the last, which carries the buttons. ``Reply.native`` is
    Slack-specific UI a caller built itself; it is merged over the last message untouched
    (typically ``{"blocks": [...]}``)."""
    mrkdwn = to_mrkdwn(reply.text)
    payloads: list[dict[str, Any]] = [
        {"text": piece} for piece in split_text(mrkdwn, TEXT_LIMIT)
    ]
    interactive = extra_blocks(reply) if feedback else (
        [actions_block(reply.buttons)] if reply.buttons else []
    )
    last = payloads[-1]
    if interactive:
        last["blocks"] = text_blocks(last["text"]) + interactive
    if reply.native:
        last.update(reply.native)
    return payloads


def placeholder_payload(partial: str) -> dict[str, Any]:
    """A message being written: the text so far and a cursor, no buttons yet. Only as much
    as the first message holds: the rest will follow in the next messages."""
    return {"text": split_text(to_mrkdwn(partial), TEXT_LIMIT)[0] + " ▍"}
