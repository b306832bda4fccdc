"""Discord markup → plain text, before anything reaches the core.

The profile learns topics from words; ``<@80351110224678912>`` or ``<:blobwave:1234>`` are not
words, and a person's message should read the same to the model as it did to the people in the
channel. So mentions become ``@name``, channel links ``#name``, custom emoji ``:name:``,
timestamps a UTC date, and the bot's own mention is dropped (it is how people address the bot,
not part of what they say). Code blocks and inline code are kept byte for byte: they are what
the person wants the bot to look at.

Pure functions with injected lookups, so the rules are testable without a gateway.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

Lookup = Callable[[int], str | None]

# Fenced blocks first (they may contain backticks), then ``double`` and `single` inline code.
_CODE = re.compile(r"(```[\s\S]*?```|``[^`]+?``|`[^`\n]+?`)")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_EMOJI = re.compile(r"<a?:(\w+):\d+>")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::[tTdDfFR])?>")
_SLASH = re.compile(r"</([\w-]+(?: [\w-]+){0,2}):\d+>")
_LEADING_ADDRESS = re.compile(r"^\s*[,:]\s*")
_LEADING_MENTION = re.compile(r"^\s*<@([!&]?)(\d+)>")


@dataclass(frozen=True, slots=True)
class Names:
    """How to name the things a message refers to; each lookup may answer None (unknown)."""

    bot_id: int | None = None
    user: Lookup = lambda _id: None
    channel: Lookup = lambda _id: None
    role: Lookup = lambda _id: None
    bot_role_id: int | None = None


def normalise(text: str, names: Names) -> str:
    """Plain text of a Discord message (see module docstring for the rules)."""
    parts = _CODE.split(text)
    out: list[str] = []
    for index, part in enumerate(parts):
        out.append(part if index % 2 else _prose(part, names))
    result = "".join(out).strip()
    leading = _LEADING_MENTION.match(text)
    if leading and _is_bot(leading, names):
        # "@bot, what's up" / "@bot: hi" → "what's up" / "hi"
        result = _LEADING_ADDRESS.sub("", result)
    return result


def _is_bot(mention: re.Match[str], names: Names) -> bool:
    target = int(mention.group(2))
    if mention.group(1) == "&":
        return target == names.bot_role_id
    return target == names.bot_id


def _prose(text: str, names: Names) -> str:
    def user(match: re.Match[str]) -> str:
        user_id = int(match.group(1))
        if user_id == names.bot_id:
            return "\x00"
        return "@" + (names.user(user_id) or "someone")

    def role(match: re.Match[str]) -> str:
        role_id = int(match.group(1))
        if role_id == names.bot_role_id:
            return "\x00"
        return "@" + (names.role(role_id) or "role")

    text = _USER.sub(user, text)
    text = _ROLE.sub(role, text)
    text = _CHANNEL.sub(lambda m: "#" + (names.channel(int(m.group(1))) or "channel"), text)
    text = _EMOJI.sub(lambda m: f":{m.group(1)}:", text)
    text = _TIMESTAMP.sub(lambda m: _timestamp(int(m.group(1))), text)
    text = _SLASH.sub(lambda m: "/" + m.group(1), text)
    # The bot's own mention leaves no double space behind.
    return re.sub(r"[ \t]*\x00[ \t]*", " ", text)


def _timestamp(seconds: int) -> str:
    try:
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return "(a date)"
    return moment.strftime("%Y-%m-%d %H:%M UTC")
