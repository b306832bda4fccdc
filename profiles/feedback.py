"""Reading a reaction as feedback. Emoji are mapped to their CLDR names by the ``emoji``
package (platform short codes like ``thumbsup``/``+1`` are accepted too), then classified."""

from __future__ import annotations

from profiles.signals import MessageSignals

_POSITIVE = (
    "thumbs_up",
    "+1",
    "thumbsup",
    "heart",
    "red_heart",
    "clap",
    "fire",
    "star",
    "tada",
    "party_popper",
    "100",
    "ok_hand",
    "check_mark",
    "white_check_mark",
    "raised_hands",
    "smile",
    "grinning",
    "joy",
    "laugh",
    "rolling_on_the_floor",
    "heart_eyes",
    "smiling_face",
    "sparkles",
    "rocket",
    "hundred_points",
    "muscle",
    "pray",
    "folded_hands",
    "bulb",
    "light_bulb",
    "sparkling_heart",
)
_NEGATIVE = (
    "thumbs_down",
    "-1",
    "thumbsdown",
    "angry",
    "rage",
    "pouting",
    "cross_mark",
    "x",
    "disappointed",
    "confused",
    "unamused",
    "face_vomiting",
    "nauseated",
    "pile_of_poo",
    "poop",
    "no_entry",
    "expressionless",
    "neutral_face",
    "frowning",
    "confounded",
    "weary",
    "sleeping",
)


def warm_up() -> None:
    """Load the emoji package's names (about 35 ms: its module and data) before the first
    reaction: the intake and the feedback handler name reactions on the event loop, where
    that load stalled every other reply once. Call it in a thread, at start."""
    emoji_name("\N{PARTY POPPER}")


def emoji_name(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith(":") and raw.endswith(":") and len(raw) > 2:
        return raw[1:-1].lower()
    import emoji as emoji_lib  # loaded on first use, not at start

    named = emoji_lib.demojize(raw, delimiters=("", ""))
    return named.lower().split("::")[0]


def teaches_interest(added: bool, text: str, value: int) -> bool:
    """Whether a reaction to someone else's message is learned as interest in its text:
    one added (not removed), to a text the adapter could tell ("" when it could not), and
    not a negative one."""
    return added and bool(text) and value >= 0


def reaction_value(raw: str) -> int:
    """+1 positive, -1 negative, 0 neutral (still engagement, but no judgement)."""
    name = emoji_name(raw)
    base = name.split("_skin-tone")[0].split("::skin-tone")[0]
    if base in ("+1", "-1"):
        return 1 if base == "+1" else -1
    if _matches(base, _NEGATIVE):
        return -1
    if _matches(base, _POSITIVE):
        return 1
    return 0


def _matches(name: str, tokens: tuple[str, ...]) -> bool:
    """Short tokens ("x", "100") must match whole names; longer ones may be part of a name
    ("thumbs_up" in "thumbs_up_light_skin_tone")."""
    return any(name == token or (len(token) > 3 and token in name) for token in tokens)


REPLY_TOPICS = 5


def reply_topics(signals: MessageSignals) -> list[str]:
    """The topics a 👍/👎 on a bot reply is about: the reply's own (``signals`` of the reply's
    text), not the question's (a 👍 on the answer to "can you show me a code example?" says
    nothing about "show")."""
    return [topic for topic, _ in signals.topics][:REPLY_TOPICS]
