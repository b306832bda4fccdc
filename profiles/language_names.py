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


def language_name(word: str, lang: str = "en") -> bool:
    """Whether ``word`` (lower case) is the name of a language in ``lang`` ("french",
    "hindi"; in German "japanisch", in Spanish "japonés"): the other languages' names are
    adjectives in form there too, and are no less a subject ("ich lerne Japanisch")."""
    return word in _names(lang)


@functools.lru_cache(maxsize=8)
def _names(lang: str) -> frozenset[str]:
    """Read once per language, from Babel's locale (loaded for the calendar's names too)."""
    from babel import Locale, UnknownLocaleError

    try:
        names = Locale.parse(lang).languages.values()
    except (UnknownLocaleError, ValueError):  # a language CLDR has no names in
        return frozenset()
    return frozenset(name.lower() for name in names if " " not in name)
