"""When a person's digest is due, as pure functions of their preference and timezone.

The ``digest`` preference (``daily 08:00``, ``weekdays 07:30``, ``weekly 09:00``, ``off``) is
what the person chose; :class:`Schedule` adds the timezone and turns it into an APScheduler
:class:`CronTrigger` in that zone, so daylight-saving changes are handled by zoneinfo: a daily
08:00 in Europe/Paris fires at 07:00Z in winter and 06:00Z in summer.

A *period* names one digest: the local date for daily and weekday digests, the ISO week for
weekly ones. It is computed from the scheduled fire time, not from when the job happened to
run, so a late or repeated firing (a restart, a misfire, the repeated hour when clocks go
back) maps to the same period and the database lets only one of them send.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.i18n import N_, t

CADENCES = ("daily", "weekdays", "weekly")
DEFAULT_TIME = "08:00"
_DAYS = {"daily": "*", "weekdays": "mon-fri", "weekly": "mon"}
# How far back a first digest looks, per cadence (weekdays: Monday's covers the weekend).
_LOOKBACK = {
    "daily": dt.timedelta(days=1),
    "weekdays": dt.timedelta(days=3),
    "weekly": dt.timedelta(days=7),
}


@dataclass(frozen=True, slots=True)
class Schedule:
    cadence: str
    time: str  # HH:MM, local
    timezone: str  # IANA name

    def __post_init__(self) -> None:
        if self.cadence not in CADENCES:
            raise ValueError(f"unknown cadence {self.cadence!r}")
        ZoneInfo(self.timezone)  # raises for an unknown zone
        self.hour_minute  # noqa: B018  (validates the time)

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, _, minute = self.time.partition(":")
        h, m = int(hour), int(minute)
        if not (0 <= h < 24 and 0 <= m < 60):
            raise ValueError(f"invalid time {self.time!r}")
        return h, m

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def preference(self) -> str:
        """The value of the ``digest`` preference this schedule stands for."""
        return f"{self.cadence} {self.time}"

    @property
    def lookback(self) -> dt.timedelta:
        return _LOOKBACK[self.cadence]

    def window_start(
        self, reference: dt.datetime, last_sent: dt.datetime | None
    ) -> dt.datetime:
        """Where a digest built at ``reference`` starts: one period back, but never before
        the last digest actually sent (nothing is shown twice)."""
        since = reference - self.lookback
        return last_sent if last_sent is not None and last_sent > since else since

    def trigger(self) -> CronTrigger:
        hour, minute = self.hour_minute
        return CronTrigger(
            day_of_week=_DAYS[self.cadence], hour=hour, minute=minute, timezone=self.zone
        )

    def next_fire(self, now: dt.datetime) -> dt.datetime | None:
        """The first fire time after ``now`` (the one at ``now`` is the current digest)."""
        fire: dt.datetime | None = self.trigger().get_next_fire_time(
            None, now + dt.timedelta(microseconds=1)
        )
        return fire

    def last_fire(self, now: dt.datetime) -> dt.datetime | None:
        """The latest fire time at or before ``now``: the digest that is (or was) due.
        Memoised: ``run-due`` asks it of every subscription at one ``now``, and most people
        share a handful of schedules."""
        return _last_fire(self, now)

    def period_key(self, fire_time: dt.datetime) -> str:
        local = fire_time.astimezone(self.zone)
        if self.cadence == "weekly":
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        return local.date().isoformat()

    def describe(self, locale: str | None = None) -> str:
        """``daily at 08:00 (Europe/Paris)`` — the wording /digest uses."""
        when = {
            "daily": N_("daily at {time} ({timezone})"),
            "weekdays": N_("on weekdays at {time} ({timezone})"),
            "weekly": N_("weekly on Mondays at {time} ({timezone})"),
        }
        return t(when[self.cadence], locale, time=self.time, timezone=self.timezone)


def parse_preference(value: str, timezone: str) -> Schedule | None:
    """The ``digest`` preference (already validated by profiles.preferences) → a schedule, or
    None for ``off``."""
    words = value.strip().lower().split()
    if not words or words[0] == "off" or words[0] not in CADENCES:
        return None
    time = words[1] if len(words) > 1 else DEFAULT_TIME
    return Schedule(words[0], time, timezone)


def within_grace(fire_time: dt.datetime, now: dt.datetime, grace_seconds: float) -> bool:
    """A fire time counts as due from itself until ``grace_seconds`` later."""
    late = (now - fire_time).total_seconds()
    return 0 <= late <= grace_seconds


@functools.lru_cache(maxsize=4096)
def _last_fire(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    trigger = schedule.trigger()
    fire: dt.datetime | None = trigger.get_next_fire_time(None, now - dt.timedelta(days=8))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return last
