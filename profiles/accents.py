"""Words written without their accents, read as the word the language's lexicon knows.

Chat on a phone or an English keyboard often leaves accents out: "me encanta la musica",
"vi una pelicula", "j'aime le cafe", "la citta di Roma". The bare spelling is a word the
lexicons barely know ("pelicula" Zipf 4.0 against "película" 5.2; simplemma has no lemma for
it), so the rules that tell a noun from a verb or an adjective misread it, and a person who
writes "musica" learned a topic apart from one who writes "música". A bare word is read as
its accented form when that form is clearly the commoner spelling in the language
(:data:`ACCENT_MARGIN`); a bare spelling that is a word of its own as often ("esta" / "está",
"papa" / "papá") is left as written.
"""

from __future__ import annotations

import functools
import unicodedata

# Languages whose words carry accents that chat leaves out, with a lexicon to restore them.
# Not German, whose writers without umlauts write "ue", "ae", "oe" ("fuer"), and whose bare
# spellings are loanwords as often ("Burger" is no "Bürger").
ACCENTED_LANGUAGES = frozenset(("es", "pt", "fr", "it", "nl"))
# How much commoner (Zipf) the accented spelling must be than the bare one as written: "pelicula"
# 4.04 / "película" 5.17, "connaitre" 4.15 / "connaître" 4.92; not "papa" 4.81 / "papá" 4.73.
ACCENT_MARGIN = 0.7
# The language's commonest words searched for an accented spelling (most frequent first: of
# two accented forms, "publico" is read as the commoner "público", not "publicó").
RESTORED_WORDS = 50_000


def bare(word: str) -> str:
    """``word`` without its diacritics ("película" → "pelicula", "città" → "citta")."""
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=len(ACCENTED_LANGUAGES))
def _accented_forms(lang: str) -> dict[str, str]:
    """Bare spelling → the commonest accented word written so, for ``lang``'s commonest
    words. Built on first use of a language in a process (~70 ms; wordfreq's list is
    the one its frequencies are read from, loaded already), ~1 MB."""
    import wordfreq

    found: dict[str, str] = {}
    for word in wordfreq.top_n_list(lang, RESTORED_WORDS):
        if not word.isascii():
            plain = bare(word)
            if plain != word:
                found.setdefault(plain, word)
    return found


@functools.lru_cache(maxsize=100_000)
def with_accents(word: str, lang: str) -> str:
    """``word`` (lower case) as the language writes it: the accented spelling when the word
    came without its accents and that spelling is clearly the commoner; else ``word``."""
    if lang not in ACCENTED_LANGUAGES or not word.isascii() or len(word) < 2:
        return word
    accented = _accented_forms(lang).get(word)
    if accented is None:
        return word
    import wordfreq

    written = wordfreq.zipf_frequency(word, lang)
    if wordfreq.zipf_frequency(accented, lang) - written < ACCENT_MARGIN:
        return word
    return accented
