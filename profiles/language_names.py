"""The English names of languages, which are subjects: "learning french", "chinese food".

The topic rules take a word the English lexicon does not know (lemminflect holds no proper
nouns) for a noun only below everyday frequency (``profiles.topics.UNKNOWN_MAX``, Zipf 5.0);
"french" (5.1), "chinese", "russian" and "english" are commoner, so "I'm learning french on
duolingo" taught only "duolingo" and "I love chinese food" only "food", while "learning
French", written with its capital, was a name and taught "learning french". The names come
from the Unicode CLDR data that Babel ships, not from a hand list.
"""

from __future__ import annotations

import functools


def language_name(word: str) -> bool:
    """Whether ``word`` (lower case) is the English name of a language ("french", "hindi")."""
    return word in _names()


@functools.lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    """Read once, from Babel's English locale (loaded for the calendar's names too)."""
    from babel import Locale

    return frozenset(name.lower() for name in Locale("en").languages.values() if " " not in name)
