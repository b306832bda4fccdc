"""The language a person's longer messages are written in, as far as this process saw them.

Why: a short line ("ich liebe analoge Fotografie", "ho un cane") names no language, and is
read with the rules of the language its writer uses when the bot knows it: their ``/prefs``
language, or the locale the platform reports (profiles/signals.py, ``usual``). Discord
reports a locale only with an interaction, never with a message, so a Discord user who never
ran a command had none, and every short line of theirs was read with the English rules or
taught nothing (bench/languages.py: German subject lines teaching a topic 77 of 138 read so,
105 of 138 with the language known). Their longer messages name their language (lingua,
when it is sure): the one most of them were written in says it too, after the explicit
preference and the platform's locale (bot/pipeline/observe.py ``writing_language``).

A hint kept in memory, per process and bounded, not a record: noted only from messages the
bot learns from (those of people who allow it), and dropped when the person is forgotten or
revokes consent (bot/lifecycle.py), and again wherever this process next meets them not
allowing learning — the learner's batch that drops their message, the intake or a reply's
consent gate that finds them gone, revoked or new. So a message extracted before their
``/forget`` and noted after it (it then waits for a batch that drops it), or a ``/forget``
run by another worker, leaves no hint for longer than their next event here (or the
least-recently-noted eviction below). A restart or another worker starts without it and
learns it again from the next longer messages.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.events import Event

# (platform, workspace, user id)
Writer = tuple[str, str, str]


def writer_of(event: Event) -> Writer:
    ref = event.person
    return (ref.platform, ref.workspace, ref.user_id)


# How many more of a person's recent longer messages must be in one language than in others
# before their short ones are read in it: one message in German from an English writer (a
# quoted line, a song title) says nothing.
LEAD_TO_USE = 2
# The lead stops growing here, so a person who switches language is read in the new one
# after a few messages, not after as many as they ever wrote in the old one.
LEAD_MAX = 5
# People remembered at once; the least recently noted are dropped first (~150 bytes each).
MAX_WRITERS = 50_000


class WrittenLanguages:
    """A running majority vote per writer over the languages of their longer messages: the
    leading language and its lead (same language +1, another −1, replaced at zero)."""

    def __init__(self, max_writers: int = MAX_WRITERS) -> None:
        self.max_writers = max_writers
        self._lead: OrderedDict[Writer, tuple[str, int]] = OrderedDict()

    def note(self, writer: Writer, language: str | None) -> None:
        """A message of ``writer``'s that the bot learns from was written in ``language``
        (None: too short or too mixed to name one; it says nothing)."""
        if language is None:
            return
        leading, lead = self._lead.pop(writer, (language, 0))
        if leading == language:
            lead = min(lead + 1, LEAD_MAX)
        elif lead > 1:
            lead -= 1
        else:
            leading, lead = language, 1
        self._lead[writer] = (leading, lead)
        while len(self._lead) > self.max_writers:
            self._lead.popitem(last=False)

    def usual(self, writer: Writer) -> str | None:
        """The language ``writer``'s longer messages have been written in, once they lead
        by :data:`LEAD_TO_USE`; None before (or after they were forgotten)."""
        found = self._lead.get(writer)
        return found[0] if found is not None and found[1] >= LEAD_TO_USE else None

    def forget(self, writer: Writer) -> None:
        self._lead.pop(writer, None)

    def __len__(self) -> int:
        return len(self._lead)
