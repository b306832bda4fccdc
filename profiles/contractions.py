"""English contractions typed without their apostrophe ("couldnt", "shes", "theyre").

Chat on a phone drops the apostrophe, and the topic rules read "couldnt", "wasnt", "hes" as
words nobody had heard of — rare, unknown words are names — so "i couldnt put it down"
taught "couldnt" and "theyre coming over" taught "theyre coming". The written forms come
from the stopword lists already installed; a form left without its apostrophe that the
English lexicon knows as a word ("ill", "well", "shell", "were", "id", "cant") is not
listed: it may be that word.
"""

from __future__ import annotations

from collections.abc import Iterable


def without_apostrophes(written: Iterable[str]) -> frozenset[str]:
    """The contractions among ``written`` ("couldn't", "she’s") as typed without their
    apostrophe, unless that spelling is a word of the lexicon's."""
    import lemminflect

    bare: set[str] = set()
    for word in written:
        head, apostrophe, tail = word.lower().replace("’", "'").partition("'")
        # "a's", "c's", "t's": a letter's plural, not a contraction; "i'm" is one
        if not apostrophe or (len(head) < 2 and head != "i") or not tail.isalpha():
            continue
        if not lemminflect.getAllLemmas(head + tail):
            bare.add(head + tail)
    return frozenset(bare)
