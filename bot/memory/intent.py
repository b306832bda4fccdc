"""Recognise "remember that …" and "forget that …" addressed to the bot.

Deliberately narrow: only a sentence that *starts* by asking is a request (a question such as
"remember that film we saw?" is not), so ordinary conversation never turns into a memory by
accident. Anything subtler is left to the model, which has a remember tool.
"""

from __future__ import annotations

import re

_POLITE = (
    r"(?:(?:hey|ok|okay|so)[,\s]+)?(?:please[,\s]+|pls[,\s]+)?(?:(?:can|could|would) you[,\s]+)?"
)
_REMEMBER = re.compile(
    rf"^[\s,:;.-]*{_POLITE}(?:please\s+)?remember(?:\s+that\b|\s*:)?\s*(?P<fact>\S.*?)[\s.!]*$",
    re.IGNORECASE | re.DOTALL,
)
_FORGET = re.compile(
    rf"^[\s,:;.-]*{_POLITE}(?:please\s+)?forget\s+(?:that\b|about\b|what i said about\b)\s*:?\s*"
    r"(?P<fact>\S.*?)[\s.!]*$",
    re.IGNORECASE | re.DOTALL,
)


_NOT_A_FACT = frozenset({"that", "this", "it", "me", "everything", "all"})


def memory_intent(text: str) -> tuple[str, str] | None:
    """``(command, args)`` for the ``/memory`` command a sentence asks for, else None."""
    if text.rstrip().endswith("?"):
        return None
    for pattern, action in ((_FORGET, "forget"), (_REMEMBER, "add")):
        found = pattern.match(text)
        if found and found["fact"].strip().casefold() not in _NOT_A_FACT:
            # The fact as said: /memory's text is free text, kept as typed (input audit).
            return "memory", f"{action} {found['fact']}"
    return None
