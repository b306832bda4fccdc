"""Preference keys, their validation, and precedence.

Precedence is fixed and documented: an explicit value (set by the person) always wins, then a
value the platform reports (Slack/Discord timezone and locale), then one inferred from
behaviour, then the deployment default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError

from profiles.models import Source

SOURCE_RANK = {Source.EXPLICIT.value: 0, Source.PLATFORM.value: 1, Source.INFERRED.value: 2}


# What each PreferenceError code says, in English (logs, configuration files, the CLI). The
# bot words the same codes in the person's language (bot/profile_texts.py): profiles/ never
# imports bot/, so it reports a code and its values, not a sentence.
ERROR_TEXTS = {
    "choice": "{key} must be one of: {options}",
    "language": "{key} must be a language code such as en, fr, pt_BR or ja",
    "timezone": "{key} must be an IANA timezone such as Europe/Paris, America/New_York or UTC",
    "topics_empty": "{key}: give one or more topics separated by commas, e.g. politics, crypto",
    "topics_limit": "{key}: at most 50 topics of at most 60 characters each",
    "digest": "{key} must be off, or daily|weekdays|weekly with an optional HH:MM time",
    "digest_time": "{time} is not a time of day: HH:MM from 00:00 to 23:59",
    "unknown_key": "unknown preference '{given}'; valid keys: {keys}",
    "needs_value": "{key} needs a value: {valid}",
}


class PreferenceError(ValueError):
    """A bad key or value: ``code`` (a key of :data:`ERROR_TEXTS`) and the ``values`` its
    text needs; ``str()`` is the English text. A value error is raised without ``key`` by the
    parser and re-raised with it by :func:`validate`."""

    def __init__(self, code: str, **values: str) -> None:
        self.code = code
        self.values = values
        super().__init__(ERROR_TEXTS[code].format_map(_Filled(values)))


class _Filled(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "value"


def _choice(*options: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in options:
            raise PreferenceError("choice", options=", ".join(options))
        return lowered

    return check


def _language(value: str) -> str:
    code = value.strip().replace("-", "_")
    try:
        locale = Locale.parse(code)
    except (ValueError, UnknownLocaleError) as exc:
        raise PreferenceError("language") from exc
    return str(locale)


def _timezone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        lowered = {tz.lower(): tz for tz in available_timezones()}
        if name.lower() in lowered:
            return lowered[name.lower()]
        raise PreferenceError("timezone") from exc
    return name


def _topics(value: str) -> str:
    items = [t.strip().lower() for t in value.split(",")]
    items = [t for t in items if t]
    if not items:
        raise PreferenceError("topics_empty")
    if any(len(t) > 60 for t in items) or len(items) > 50:
        raise PreferenceError("topics_limit")
    return ", ".join(dict.fromkeys(items))


_DIGEST = re.compile(r"^(off|(daily|weekdays|weekly)(?: ([01]?\d|2[0-3]):([0-5]\d))?)$")
# A schedule whose only fault is its clock ("daily 24:00"): said as such, not as the syntax.
_BAD_CLOCK = re.compile(r"^(?:daily|weekdays|weekly) (\d{1,2}:\d{2})$")


def _digest(value: str) -> str:
    lowered = " ".join(value.strip().lower().split())
    match = _DIGEST.match(lowered)
    if not match:
        clock = _BAD_CLOCK.match(lowered)
        if clock:
            raise PreferenceError("digest_time", time=clock.group(1))
        raise PreferenceError("digest")
    if match.group(2) and not match.group(3):
        return f"{match.group(2)} 08:00"
    if match.group(3):
        return f"{match.group(2)} {int(match.group(3)):02d}:{match.group(4)}"
    return lowered


@dataclass(frozen=True, slots=True)
class PreferenceSpec:
    key: str
    description: str
    valid: str
    default: str
    parse: Callable[[str], str]


SPECS: dict[str, PreferenceSpec] = {
    spec.key: spec
    for spec in (
        PreferenceSpec(
            "tone",
            "how I sound",
            "casual | neutral | formal",
            "neutral",
            _choice("casual", "neutral", "formal"),
        ),
        PreferenceSpec(
            "verbosity",
            "how long my answers are",
            "brief | normal | detailed",
            "normal",
            _choice("brief", "normal", "detailed"),
        ),
        PreferenceSpec("emoji", "whether I use emoji", "on | off", "off", _choice("on", "off")),
        PreferenceSpec(
            "language",
            "the language I answer in",
            "a language code (en, fr, pt_BR…)",
            "en",
            _language,
        ),
        PreferenceSpec(
            "timezone", "your timezone", "an IANA name (Europe/Paris, UTC…)", "UTC", _timezone
        ),
        PreferenceSpec(
            "avoid_topics", "topics I never bring up", "comma-separated topics", "", _topics
        ),
        PreferenceSpec(
            "digest", "your digest schedule", "off | daily|weekdays|weekly [HH:MM]", "off", _digest
        ),
    )
}


def validate(key: str, value: str) -> str:
    spec = SPECS.get(key.strip().lower())
    if spec is None:
        raise PreferenceError("unknown_key", given=key, keys=", ".join(SPECS))
    if not value.strip():
        raise PreferenceError("needs_value", key=spec.key, valid=spec.valid)
    try:
        return spec.parse(value)
    except PreferenceError as exc:
        raise PreferenceError(exc.code, **{**exc.values, "key": spec.key}) from exc


@dataclass(frozen=True, slots=True)
class ResolvedValue:
    key: str
    value: str
    source: str  # explicit | platform | inferred | default
    set_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ResolvedPreferences:
    values: dict[str, ResolvedValue]

    def get(self, key: str) -> str:
        return self.values[key].value

    def source(self, key: str) -> str:
        return self.values[key].source

    @property
    def avoid_topics(self) -> list[str]:
        raw = self.get("avoid_topics")
        return [t.strip() for t in raw.split(",") if t.strip()]


def resolve(
    stored: list[tuple[str, str, str, dt.datetime]],
    inferred: dict[str, tuple[str, dt.datetime]],
    defaults: dict[str, str] | None = None,
) -> ResolvedPreferences:
    """``stored`` rows are (key, value, source, set_at); ``inferred`` are computed from the
    style profile. Lowest source rank wins for each key."""
    best: dict[str, ResolvedValue] = {}
    candidates = [*stored, *((k, v, Source.INFERRED.value, at) for k, (v, at) in inferred.items())]
    for key, value, source, set_at in candidates:
        if key not in SPECS:
            continue
        current = best.get(key)
        if current is None or SOURCE_RANK[source] < SOURCE_RANK[current.source]:
            best[key] = ResolvedValue(key, value, source, set_at)
    overrides = defaults or {}
    for key, spec in SPECS.items():
        if key not in best:
            best[key] = ResolvedValue(key, overrides.get(key, spec.default), "default", None)
    return ResolvedPreferences(best)
