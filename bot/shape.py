"""Post-generation shaping: what the prompt asked for is enforced on the output as well,
because models do not always comply."""

from __future__ import annotations

import re

import emoji as emoji_lib

from prompts.render import VERBOSITY_CHAR_LIMITS

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
AVOIDED_NOTICE = "I'd rather not go into that: it's on your list of topics to avoid."


def mentions(text: str, topic: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(topic)}(?!\w)", text, re.IGNORECASE) is not None


def drop_avoided(text: str, avoid: list[str]) -> str:
    """Remove sentences that mention an avoided topic; say so if nothing is left."""
    if not avoid:
        return text
    kept_lines = []
    for line in text.splitlines():
        sentences = _SENTENCE_END.split(line)
        kept = [s for s in sentences if not any(mentions(s, t) for t in avoid)]
        if kept or not line.strip():
            kept_lines.append(" ".join(kept))
    result = "\n".join(kept_lines).strip()
    return result or AVOIDED_NOTICE


def limit_length(text: str, verbosity: str) -> str:
    """Cut at the last sentence end (or word) before the verbosity ceiling."""
    limit = VERBOSITY_CHAR_LIMITS.get(verbosity, VERBOSITY_CHAR_LIMITS["normal"])
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = max(head.rfind(". "), head.rfind("! "), head.rfind("? "), head.rfind("\n"))
    if cut >= limit // 2:
        return head[: cut + 1].rstrip()
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def strip_emoji(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", emoji_lib.replace_emoji(text, replace=""))


def shape_reply(text: str, *, verbosity: str, emoji: str, avoid: list[str]) -> str:
    text = drop_avoided(text.strip(), avoid)
    if emoji == "off":
        text = strip_emoji(text)
    return limit_length(text, verbosity)
