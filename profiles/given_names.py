"""Given names, written in lower case: the person spoken of, not what a message is about.

"i'll ask kevin", "lunch with sarah?": the English lexicon holds no proper nouns, so a word it
does not know is taken for a noun below everyday frequency (``profiles.topics.UNKNOWN_MAX``),
and "kevin" (Zipf 4.6) was learned as an interest. wordfreq cannot tell (its lists are
case-folded), nor can Wiktionary's casing as simplemma ships it ("Kevin", "Xbox" and "Texas"
are all capitalised there). The given names of the 1990 US census can
(``data/given_names.tsv``), with the share of people who bear each: a word is a given name
when that use accounts for its frequency, so "kevin" (0.3 % of people) is one, while "mac"
(0.003 %, Zipf 4.5: the computer) or "florida" (0.002 %, 4.8) are mostly something else. A
census name that is also the English name of a country in CLDR ("jordan", "georgia", "kenya",
via Babel) is the country.
"""

from __future__ import annotations

import functools
import math
from importlib import resources

# A word is a given name when its Zipf frequency exceeds log10 of its census share by less
# than this: names people bear come out between 4.3 ("linda") and 6.4 ("taylor", "wilson");
# "destiny" 6.6, "alpha" 6.8, "mac" 7.1 and "florida" 7.5 are used mostly otherwise.
NAME_MARGIN = 6.5


def given_name(word: str, zipf: float) -> bool:
    """Whether ``word`` (lower case, of Zipf frequency ``zipf``) is used mostly as a given
    name."""
    share = _shares().get(word)
    if share is None or word in _countries():
        return False
    return zipf - math.log10(share) < NAME_MARGIN


def country_name(word: str) -> bool:
    """Whether ``word`` (lower case) is CLDR's English name of a country or region ("india",
    "australia", "europe", "jordan"): a place, however common the word."""
    return word in _countries()


@functools.lru_cache(maxsize=1)
def _shares() -> dict[str, float]:
    """Read once: ~5,000 names, a few milliseconds."""
    text = (resources.files("profiles") / "data" / "given_names.tsv").read_text("utf-8")
    shares: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, share = line.split("\t")
            shares[name] = float(share)
    return shares


@functools.lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """CLDR's English names of countries and regions that are one word ("Jordan", "Asia")."""
    from babel import Locale

    names = Locale("en").territories.values()
    return frozenset(name.lower() for name in names if " " not in name)
