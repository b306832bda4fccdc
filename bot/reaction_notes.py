"""What a console says after a reaction typed as text (the terminal's ``/react``).

Chat platforms show a reaction where it was made and the bot answers nothing; a console has
to answer in words, and the words must be true: ``/react banana`` is no reaction at all, and
a 🍌 on a reply rates nothing (only a positive or negative emoji is feedback,
``profiles.feedback.reaction_value``) — "noted" said otherwise.
"""

from __future__ import annotations

from bot.i18n import N_
from profiles.feedback import reaction_value

REACT_USAGE = N_("React to my last reply with one emoji, e.g. /react 👍 or /react 👎.")
NOT_AN_EMOJI = N_("“{text}” is not an emoji. React with one, e.g. /react 👍 or /react 👎.")
RATED = N_("(noted your {emoji} on my last reply)")
UNRATED = N_("({emoji} rates nothing: reactions such as 👍 or 👎 tell me how my reply was)")


def typed_reaction(text: str) -> str | None:
    """The emoji a typed reaction names: one emoji as typed (skin tones and joined sequences
    included), or a ``:name:`` alias as Slack spells them (``:thumbsup:`` → 👍); None for
    anything else."""
    import emoji as emoji_lib  # loaded on first use, not at start (profiles.feedback.warm_up)

    text = text.strip()
    if emoji_lib.is_emoji(text):
        return text
    if len(text) > 2 and text.startswith(":") and text.endswith(":"):
        named = emoji_lib.emojize(text, language="alias")
        if emoji_lib.is_emoji(named):
            return named
    return None


def reaction_note(emoji: str) -> str:
    """The console's note (a catalog text with ``{emoji}``) after ``emoji`` on the bot's reply."""
    return RATED if reaction_value(emoji) != 0 else UNRATED
