"""Words chat wrote without their accents are read as the language writes them
(profiles/accents.py): "musica" taught a topic apart from "música", "connaitre" (an
infinitive) was a topic, "vi una pelicula" was read past the noun."""

import pytest

from profiles.accents import bare, with_accents
from profiles.signals import SignalExtractor

extractor = SignalExtractor()


def topics(text: str, usual: str) -> list[str]:
    return [topic for topic, _ in extractor.extract(text, usual=usual).topics]


@pytest.mark.parametrize(
    ("word", "lang", "written"),
    [
        ("pelicula", "es", "película"),
        ("cancion", "es", "canción"),
        ("connaitre", "fr", "connaître"),
        ("citta", "it", "città"),
        ("agua", "pt", "água"),
    ],
)
def test_a_word_without_its_accents_is_read_with_them(word, lang, written):
    assert with_accents(word, lang) == written
    assert bare(written) == word


@pytest.mark.parametrize(
    ("word", "lang"),
    [
        ("esta", "es"),  # "está" is no commoner: both are words
        ("papa", "es"),
        ("linguista", "pt"),  # the accented "lingüista" is the rarer spelling
        ("burger", "de"),  # German is left alone: "Bürger" is another word
        ("cafe", "en"),
        ("música", "es"),
    ],
)
def test_a_spelling_that_is_a_word_of_its_own_stays(word, lang):
    assert with_accents(word, lang) == word


@pytest.mark.parametrize(
    ("plain", "accented", "usual"),
    [
        ("me gusta mucho la musica clasica", "me gusta mucho la música clásica", "es"),
        ("mi cancion favorita es de shakira", "mi canción favorita es de shakira", "es"),
        ("j'aime beaucoup le cafe", "j'aime beaucoup le café", "fr"),
        ("electricite est la nourriture des robots", "électricité est la nourriture des robots",
         "fr"),
    ],
)
def test_chat_without_accents_teaches_what_it_would_with_them(plain, accented, usual):
    taught = topics(accented, usual)
    assert taught, accented
    assert topics(plain, usual) == taught


def test_a_capital_survives_the_accents():
    assert "électricité" in topics("Electricite est la nourriture des robots.", "fr")
