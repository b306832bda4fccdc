"""Post-generation shaping: avoided topics and emoji are enforced on the output as well,
because models do not always comply.

Length is not: verbosity shapes the prompt (``prompts/``), and an answer is never cut
afterwards. A hard cut at the verbosity ceiling silently dropped most of long answers (a
5,400-character answer reached Slack as 1,095 characters, steps 1–6 of 30); long answers now
continue in follow-up messages (:func:`bot.outbox.split_text`)."""

from __future__ import annotations

import re

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


def strip_emoji(text: str) -> str:
    import emoji as emoji_lib  # its tables cost ~0.1 CPU-s: loaded on first use, not at start

    return re.sub(r"[ \t]{2,}", " ", emoji_lib.replace_emoji(text, replace=""))


def shape_reply(text: str, *, emoji: str, avoid: list[str]) -> str:
    text = drop_avoided(text.strip(), avoid)
    if emoji == "off":
        text = strip_emoji(text)
    return text
