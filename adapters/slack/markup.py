"""Slack markup in both directions.

Inbound (:func:`normalise`): Slack encodes mentions, channel links, URLs and special mentions
as ``<...>`` tokens and escapes ``&``, ``<`` and ``>`` as entities. None of that should reach the
profile: ``<@U123>`` would become a "topic", ``&amp;`` would count as words. The text is turned
into what a person sees on screen before the core reads it.

Outbound (:func:`escape`, :func:`to_mrkdwn`): language models write CommonMark, Slack's
``mrkdwn`` differs (``*bold*``, ``<url|label>``) and needs ``&<>`` escaped, otherwise a reply such
as ``/prefs set <key> <value>`` turns into broken links.

Everything here is pure and linear in the input size, so a 40,000-character message costs
microseconds, not a backtracking regex blow-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.outbox import split_text as split_pieces

# <@U123>, <@W123|legacy-name>, <#C123|general>, <!here>, <!subteam^S1|@team>, <https://x|y>
_TOKEN = re.compile(r"<([^<>\n]{1,2000})>")
_USER_ID = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>")
# Slack short codes: letters, digits, _ + - ' (e.g. :+1:, :woman-raising-hand:).
_SHORTCODE = re.compile(r":([a-z0-9_+\-']{1,60}):(?::skin-tone-([2-6]):)?")
_SKIN_TONES = {"2": "\U0001f3fb", "3": "\U0001f3fc", "4": "\U0001f3fd", "5": "\U0001f3fe",
               "6": "\U0001f3ff"}
_SPACES = re.compile(r"[ \t]{2,}")


def mentioned_user_ids(text: str) -> list[str]:
    """User ids mentioned in raw Slack text, in order, without duplicates; the adapter resolves
    their names (cached ``users.info``) before calling :func:`normalise`."""
    return list(dict.fromkeys(_USER_ID.findall(text)))


def mentions(text: str, user_id: str) -> bool:
    """True when raw Slack text mentions ``user_id`` (``<@U1>`` or legacy ``<@U1|name>``)."""
    return user_id in mentioned_user_ids(text) if user_id else False


def unescape(text: str) -> str:
    """Slack escapes exactly three characters; ``&amp;`` goes last so ``&amp;lt;`` stays
    ``&lt;`` (what the person actually typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emojize(text: str) -> str:
    """``:tada:`` → 🎉 using the alias table Slack shares with GitHub; unknown (custom
    workspace) codes are kept as written, since they carry meaning only inside Slack."""
    if ":" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        code = f":{match.group(1)}:"
        import emoji as emoji_lib  # loaded on first use, not at start

        converted = emoji_lib.emojize(code, language="alias")
        if converted == code:
            return match.group(0)
        tone = match.group(2)
        return converted + _SKIN_TONES[tone] if tone else converted

    return _SHORTCODE.sub(replace, text)


def _token(inner: str, bot_user_id: str | None, names: Mapping[str, str],
           channel_ids: bool = False) -> str:
    target, _, label = inner.partition("|")
    if channel_ids and target.startswith("#"):
        return f"<{inner}>"  # kept as Slack sent it: the id is what the command needs
    if target.startswith("@"):
        user_id = target[1:]
        if bot_user_id and user_id == bot_user_id:
            return ""
        name = names.get(user_id) or label or user_id
        return f"@{name.lstrip('@')}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        special = target[1:]
        if special in ("here", "channel", "everyone"):
            return f"@{special}"
        if special.startswith("subteam^"):
            return label if label.startswith("@") else f"@{label or 'group'}"
        # <!date^...|fallback> and anything newer: the fallback is what people see.
        return label
    # A link. Slack adds the label when someone writes [label](url) or pastes a titled link.
    if not label:
        return target
    bare = target.removeprefix("mailto:")
    if label in (target, bare) or bare.split("://", 1)[-1] == label:
        return label
    return f"{label} ({target})"


def normalise(
    text: str, *, bot_user_id: str | None = None, names: Mapping[str, str] | None = None,
    channel_ids: bool = False,
) -> str:
    """Slack wire text → what the person sees: mentions become ``@name`` (the bot's own
    mention disappears: "@tailorbot what's up" is just "what's up" to the core), channel links
    ``#name``, links ``label (url)``, emoji codes unicode, entities unescaped.
    ``channel_ids`` keeps channel links as ``<#C123|name>`` for commands that act on a
    channel (/admin): a name is not an id."""
    names = names or {}
    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        parts.append(emojize(unescape(text[last:match.start()])))
        parts.append(unescape(_token(match.group(1), bot_user_id, names, channel_ids)))
        last = match.end()
    parts.append(emojize(unescape(text[last:])))
    joined = "".join(parts)
    return _SPACES.sub(" ", joined).strip()


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_FENCE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
# CommonMark's single-star emphasis, which Slack would show bold: its italics are ``_x_``.
# Not a bullet's star, not arithmetic ("2*3*4"), not a star inside bold.
_ITALIC = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<![\s*])\*(?![*\w])")
# A fence's language ("```python"): Slack shows no highlighting, and would show the word as
# the code's first line.
_FENCE_LANGUAGE = re.compile(r"\A```[\w+#.-]+[ \t]*\n")
_STRIKE = re.compile(r"~~(.+?)~~")
# A URL holds none of Slack's control characters (``<``, ``>``, ``|``): one that did closed the
# link early, and "[d](https://a/><!channel><https://b)" pinged the whole channel. Such a
# "link" stays text, escaped like the rest.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s<>|]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)


def _inline(segment: str) -> str:
    # NUL marks the links set aside below: one in the text itself made the restore fail
    segment = segment.replace("\x00", "")
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        url = match.group(2).replace("&", "&amp;")
        links.append(f"<{url}|{escape(match.group(1)).replace('|', '¦')}>")
        return f"\x00{len(links) - 1}\x00"

    segment = _LINK.sub(keep_link, segment)
    segment = escape(segment)
    segment = _ITALIC.sub(lambda m: f"_{m.group(1)}_", segment)  # before anything makes *x*
    segment = _HEADING.sub(lambda m: f"*{m.group(1)}*", segment)
    segment = _BULLET.sub(lambda m: f"{m.group(1)}• ", segment)
    segment = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", segment)
    segment = _STRIKE.sub(lambda m: f"~{m.group(1)}~", segment)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], segment)


def to_mrkdwn(text: str) -> str:
    """CommonMark-ish model output → Slack mrkdwn, escaped. Code spans and fences are only
    escaped (Slack renders them verbatim), so code samples survive untouched; a fence loses
    its language word."""
    out: list[str] = []
    for index, segment in enumerate(_FENCE.split(text)):
        if index % 2:
            out.append(escape(_FENCE_LANGUAGE.sub("```\n", segment)))
        else:
            out.append(_inline(segment))
    return "".join(out)


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters (Block Kit sections hold
    3,000 each) by the core's one policy, :func:`bot.outbox.split_text`: paragraph, then line,
    then word boundaries, code fences closed and reopened, nothing dropped."""
    return split_pieces(text, limit)
