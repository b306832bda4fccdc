"""The English names of languages (profiles/language_names.py) come from Babel's CLDR data."""

import pytest

from profiles.language_names import language_name


@pytest.mark.parametrize("word", ["french", "chinese", "english", "hindi", "swahili"])
def test_names_of_languages_are_known(word):
    assert language_name(word)


@pytest.mark.parametrize("word", ["france", "food", "anime", "French"])
def test_other_words_and_capitalised_ones_are_not(word):
    """Countries are not languages; the topic rules ask in lower case."""
    assert not language_name(word)
