"""The style sentence the model reads and the one /profile shows share their thresholds."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.commands.profile import style_line
from bot.context import local_time, style_summary
from profiles.engine import StyleView

AT = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def style(formality: float, avg_length: float, emoji_rate: float) -> StyleView:
    return StyleView(
        messages_seen=10, avg_length=avg_length, formality=formality, emoji_rate=emoji_rate,
        liked_replies=0, disliked_replies=0, languages=[], active_hours=[], updated_at=AT,
    )


@pytest.mark.parametrize(
    ("formality", "avg_length", "emoji_rate", "words"),
    [
        (0.35, 59, 0.3, ("formal", "short", "often")),
        (0.34, 60, 0.29, ("neutral", "medium-length", "rarely")),
        (-0.25, 299, 0.0, ("casual", "medium-length", "rarely")),
        (-0.24, 300, 1.0, ("neutral", "long", "often")),
    ],
)
def test_prompt_and_profile_describe_a_style_alike(formality, avg_length, emoji_rate, words):
    view = style(formality, avg_length, emoji_rate)
    register, length, emoji = words
    prompt = style_summary(view)
    shown = style_line(view, "en")
    for text in (prompt, shown):
        assert f"{register} register" in text
        assert f"{length} messages (about {round(avg_length)} chars)" in text
        assert f"{emoji} uses emoji" in text


def test_profile_style_line_is_in_the_persons_language():
    line = style_line(style(0.5, 20, 0.0), "fr")
    assert line == (
        "registre soutenu; messages courts (environ 20 caractères); utilise rarement des emoji"
    )


@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        # Paris springs forward at 01:00 UTC on 29 March 2026: 01:59 is followed by 03:00.
        (dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC), "Europe/Paris",
         ("2026-03-29", "01:59", "Sunday", "night")),
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC), "Europe/Paris",
         ("2026-03-29", "03:00", "Sunday", "night")),
        # Kiritimati is a day ahead of UTC; St John's is half an hour off the hour.
        (dt.datetime(2026, 12, 31, 22, 5, tzinfo=dt.UTC), "Pacific/Kiritimati",
         ("2027-01-01", "12:05", "Friday", "afternoon")),
        (dt.datetime(2026, 7, 6, 2, 30, tzinfo=dt.UTC), "America/St_Johns",
         ("2026-07-06", "00:00", "Monday", "night")),
    ],
)
def test_local_time_is_24_hour_with_an_english_weekday(utc, zone, expected):
    """What the prompt states, whatever the person's language: the same text Babel's
    ``HH:mm`` and English ``EEEE`` gave before local_time stopped calling it."""
    local = local_time(utc, zone, "explicit")
    assert (local.date, local.time, local.weekday, local.day_part) == expected
