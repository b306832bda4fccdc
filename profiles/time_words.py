"""Words of the calendar and the clock: they say when, not what a message is about.

"see you on Friday", "I play rugby on sundays", "give me a min": a weekday, a month, a part of
the day, a season or a unit of time names no subject alone (in a phrase it may: "the june
release"). Before this, "sunday" was learned from "I play rugby on sundays" and "friday" from
"see you on Friday". The words come from the Unicode CLDR data that Babel ships (the bot's
translation library already), not from a hand list: the English names of the weekdays and
months, their abbreviations where the English lexicon does not read them as another word
("Sun", "Sat", "Wed", "Mar" and "May" are words of their own), the named day periods ("noon",
"midnight") and the units of time from a second to a year in their long, short and narrow
forms ("mins", "sec", "yr"); the seasons, which CLDR does not name, are listed here. The
same data names the lengths a distance is given in ("5k", "30 km"), which say how much of a
pastime, not what (:func:`length_unit`).
"""

from __future__ import annotations

import functools

# The seasons, which CLDR does not name: "excited about skiing this *winter*" taught
# "winter". Not "spring" nor "fall", which name other things as often ("spring boot", "a
# bad fall").
_SEASONS = ("summer", "winter", "autumn", "summers", "winters", "summertime", "wintertime")
# The day's turns CLDR's periods leave out (it names morning, noon, evening, night,
# midnight): "lights now turn on at *sunset*", "up before *dawn*" taught the time. Not
# "twilight", a title as often.
_DAY_TURNS = (
    "sunset", "sunrise", "dawn", "dusk", "daybreak", "nightfall", "midday", "bedtime",
    "lunchtime", "dinnertime", "teatime",
)
# CLDR's units of time that chat measures things in ("century" names a subject: "19th century
# novels").
_UNITS = ("second", "minute", "hour", "day", "week", "month", "year")


def time_word(word: str) -> bool:
    """Whether ``word`` (lower case) is a name of a weekday, a month, a day period, a season
    or a unit of time, in English."""
    return word in _time_words()


@functools.lru_cache(maxsize=1)
def _time_words() -> frozenset[str]:
    """Read once: ~25 ms, Babel's English locale data."""
    import lemminflect
    from babel.dates import get_day_names, get_month_names, get_period_names

    words: set[str] = set()
    weekdays = get_day_names("wide", locale="en").values()
    words.update(day.lower() for day in weekdays)
    words.update(day.lower() + "s" for day in weekdays)  # "on sundays"
    words.update(month.lower() for month in get_month_names("wide", locale="en").values())
    abbreviations = [
        *get_day_names("abbreviated", locale="en").values(),
        *get_month_names("abbreviated", locale="en").values(),
    ]
    words.update(
        short.lower() for short in abbreviations if not lemminflect.getAllLemmas(short.lower())
    )
    words.update(
        period.lower()
        for period in get_period_names("wide", locale="en").values()
        if len(period) > 2  # not "AM", "PM": too short to be a topic anyway
    )
    for unit in _UNITS:
        words.add(unit)  # CLDR names the plural: "seconds", "secs", "sec"
        words.update(_unit_names(f"duration-{unit}", ("en",)))
    words.update(_SEASONS)
    words.update(_DAY_TURNS)
    return frozenset(words)


def length_unit(word: str) -> bool:
    """Whether ``word`` names a length a run, a ride or a swim is measured in ("km",
    "miles", "metres", and the "k" of "5k", which the tokens split from its number), in
    the plural CLDR names or the singular ("1 *mile*")."""
    return word in _length_units() or word + "s" in _length_units()


@functools.lru_cache(maxsize=1)
def _length_units() -> frozenset[str]:
    names = {"k"}
    for unit in ("kilometer", "mile", "meter", "yard"):
        names.update(_unit_names(f"length-{unit}", ("en", "en_GB")))
    return frozenset(names)


def _unit_names(unit: str, locales: tuple[str, ...]) -> set[str]:
    """CLDR's long, short and narrow names of ``unit`` ("duration-hour", "length-mile") in
    ``locales``, lower case."""
    from babel.units import get_unit_name

    names = (
        get_unit_name(unit, length=length, locale=locale)
        for length in ("long", "short", "narrow")
        for locale in locales
    )
    return {name.lower() for name in names if name}


@functools.lru_cache(maxsize=64)
def calendar_words(lang: str) -> frozenset[str]:
    """The weekdays and months of another language, in lower case, from the same CLDR data
    ("vrijdag", "freitag", "vendredi", "junio"): "wir spielen jeden Freitag Brettspiele"
    taught "freitag brettspiele", "on joue aux jeux de société tous les vendredis"
    "vendredi". Their plurals are folded by the topic rules' lemmas. Empty for a language
    Babel has no locale for."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import get_day_names, get_month_names

    try:
        Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return frozenset()
    names = [
        *get_day_names("wide", locale=lang).values(),
        *get_month_names("wide", locale=lang).values(),
    ]
    return frozenset(name.lower() for name in names)
