"""Given names (profiles/given_names.py) come from the 1990 US census, with each one's share of
people, and count only where that use accounts for the word's frequency."""

import pytest

from profiles.given_names import given_name
from profiles.topics import zipf


@pytest.mark.parametrize("word", ["kevin", "sarah", "josh", "linda", "zonia"])
def test_names_people_bear_are_given_names(word):
    """From the list's head ("kevin") to its tail ("zonia", 0.0005 % of people)."""
    assert given_name(word, zipf(word, "en"))


@pytest.mark.parametrize("word", ["mac", "florida", "alpha", "jordan", "georgia", "anime", "Kevin"])
def test_other_words_are_not(word):
    """Census names used mostly otherwise ("mac", "florida", "alpha"), CLDR's countries
    ("jordan", "georgia"), words of no census list, and capitalised ones: the topic rules
    ask in lower case."""
    assert not given_name(word, zipf(word, "en"))


def test_a_name_is_told_by_its_frequency():
    """The same census share makes a given name of a rare word and not of a common one."""
    assert given_name("kevin", 4.5)
    assert not given_name("kevin", 7.5)
