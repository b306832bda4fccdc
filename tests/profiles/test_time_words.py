"""Words of the calendar and the clock (profiles/time_words.py) come from Babel's CLDR data.

"I play rugby on sundays" taught "sunday", and "see you on Friday" taught "friday"."""

import pytest

from profiles.time_words import time_word


@pytest.mark.parametrize(
    "word",
    [
        "friday", "sundays", "june", "september", "feb", "noon", "midnight", "min", "secs", "yr",
        "winter", "summer", "autumn",
    ],
)
def test_weekdays_months_day_periods_and_units_of_time_are_time_words(word):
    assert time_word(word)


@pytest.mark.parametrize("word", ["sun", "sat", "wed", "mar", "century", "spring", "fall"])
def test_an_abbreviation_that_is_a_word_and_other_words_are_not(word):
    """"the sun", "we sat down", "they wed": an abbreviation the English lexicon reads as a
    word of its own is not one; nor a unit that names a subject ("19th century novels"), nor
    a season's name that names other things as often ("spring boot", "a bad fall")."""
    assert not time_word(word)
