"""When digests are due: cron triggers in the person's timezone, daylight saving, periods."""

import datetime as dt

import pytest

from bot.digest.schedule import Schedule, parse_preference, within_grace

UTC = dt.UTC


def fires(schedule: Schedule, start: dt.datetime, count: int) -> list[dt.datetime]:
    trigger = schedule.trigger()
    out, fire = [], trigger.get_next_fire_time(None, start)
    while len(out) < count:
        out.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire)
    return out


def test_daily_paris_follows_spring_forward():
    paris = Schedule("daily", "08:00", "Europe/Paris")
    assert fires(paris, dt.datetime(2026, 3, 27, 12, tzinfo=UTC), 3) == [
        dt.datetime(2026, 3, 28, 7, 0, tzinfo=UTC),  # CET, UTC+1
        dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC),  # CEST from this morning, UTC+2
        dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC),
    ]


def test_daily_paris_follows_fall_back():
    paris = Schedule("daily", "08:00", "Europe/Paris")
    assert fires(paris, dt.datetime(2026, 10, 24, 0, tzinfo=UTC), 2) == [
        dt.datetime(2026, 10, 24, 6, 0, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
    ]


def test_a_time_in_the_repeated_hour_fires_twice_but_names_one_period():
    """02:30 happens twice in Paris on 2026-10-25; APScheduler fires at both, and both map to
    the same period, so the run table lets only one send (see test_runner)."""
    paris = Schedule("daily", "02:30", "Europe/Paris")
    first, second, third = fires(paris, dt.datetime(2026, 10, 24, 12, tzinfo=UTC), 3)
    assert second - first == dt.timedelta(hours=1)
    assert paris.period_key(first) == paris.period_key(second) == "2026-10-25"
    assert paris.period_key(third) == "2026-10-26"


def test_a_time_in_the_skipped_hour_still_fires_once_that_day():
    paris = Schedule("daily", "02:30", "Europe/Paris")
    day = [f for f in fires(paris, dt.datetime(2026, 3, 28, 12, tzinfo=UTC), 2)]
    assert [paris.period_key(f) for f in day] == ["2026-03-29", "2026-03-30"]


def test_weekdays_skip_the_weekend_and_weekly_means_monday():
    weekdays = Schedule("weekdays", "07:30", "UTC")
    friday = dt.datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert fires(weekdays, friday, 1) == [dt.datetime(2026, 11, 30, 7, 30, tzinfo=UTC)]
    weekly = Schedule("weekly", "09:00", "America/New_York")
    (monday,) = fires(weekly, friday, 1)
    assert monday == dt.datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert weekly.period_key(monday) == "2026-W49"


def test_last_fire_and_grace():
    daily = Schedule("daily", "08:00", "Europe/Paris")
    now = dt.datetime(2026, 11, 26, 7, 40, tzinfo=UTC)  # 08:40 in Paris
    last = daily.last_fire(now)
    assert last == dt.datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert within_grace(last, now, 3600)
    assert not within_grace(last, now, 1800)
    assert daily.last_fire(dt.datetime(2026, 11, 26, 6, 59, tzinfo=UTC)) == last - dt.timedelta(
        days=1
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("off", None),
        ("daily 08:00", Schedule("daily", "08:00", "UTC")),
        ("weekdays 07:30", Schedule("weekdays", "07:30", "UTC")),
        ("weekly", Schedule("weekly", "08:00", "UTC")),
    ],
)
def test_preference_values(value, expected):
    assert parse_preference(value, "UTC") == expected


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError):
        Schedule("hourly", "08:00", "UTC")
    with pytest.raises(ValueError):
        Schedule("daily", "25:00", "UTC")
    with pytest.raises(Exception):  # noqa: B017  (zoneinfo's own error type)
        Schedule("daily", "08:00", "Mars/Olympus_Mons")
