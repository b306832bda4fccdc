"""Context assembly: everything the prompt needs about *this* person *now*.

Timezone precedence: explicit preference, then what the platform reports, then the
deployment default. The local date/time is computed with zoneinfo (tzdata ships with the
package), so daylight-saving changes are handled by the IANA database, not by us.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.events import PlatformContext
from bot.summaries import prompt_lines
from profiles.engine import ProfileSnapshot, StyleView
from profiles.preferences import ResolvedPreferences
from prompts.context import HistoryTurn, LocalTime, PromptContext


def day_part(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def resolve_timezone(
    prefs: ResolvedPreferences, platform: PlatformContext, default: str
) -> tuple[str, str]:
    """(IANA name, where it came from)."""
    if prefs.source("timezone") in ("explicit", "platform"):
        return prefs.get("timezone"), prefs.source("timezone")
    if platform.timezone and _valid_zone(platform.timezone):
        return platform.timezone, "platform"
    return default, "default"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# The prompt states the weekday in English whatever the reply language (the rest of the
# prompt is English); a 24-hour "HH:mm" is the same digits in every locale (Babel's pattern
# pads plain integers), so neither needs Babel: 57 -> ~8 µs a reply.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def local_time(now: dt.datetime, timezone: str, source: str) -> LocalTime:
    moment = now.astimezone(ZoneInfo(timezone))
    return LocalTime(
        date=moment.date().isoformat(),
        time=f"{moment.hour:02d}:{moment.minute:02d}",
        weekday=_WEEKDAYS[moment.weekday()],
        day_part=day_part(moment.hour),
        timezone=timezone,
        timezone_source=source,
    )


def local_hour(now: dt.datetime, timezone: str) -> int:
    return now.astimezone(ZoneInfo(timezone)).hour


def style_register(style: StyleView) -> str:
    """"formal", "casual" or "neutral": one set of thresholds for the prompt and /profile, so
    what the person reads about themselves is what the model was told."""
    if style.formality >= 0.35:
        return "formal"
    if style.formality <= -0.25:
        return "casual"
    return "neutral"


def message_length(style: StyleView) -> str:
    """"short", "medium-length" or "long" (the same thresholds everywhere, as above)."""
    if style.avg_length < 60:
        return "short"
    return "medium-length" if style.avg_length < 300 else "long"


def uses_emoji_often(style: StyleView) -> bool:
    return style.emoji_rate >= 0.3


def style_summary(style: StyleView | None, timezone: str | None = None) -> str:
    """One plain sentence; used both in prompts and in /profile. Active hours are named only
    with the ``timezone`` they were counted in (they mean nothing without it)."""
    if style is None or style.messages_seen == 0:
        return ""
    emoji = "often uses emoji" if uses_emoji_often(style) else "rarely uses emoji"
    parts = [
        f"{style_register(style)} register",
        f"{message_length(style)} messages (about {style.avg_length:.0f} chars)",
        emoji,
    ]
    if style.active_hours and timezone:
        hours = sorted(h for h, _ in style.active_hours[:3])
        parts.append(
            "most active around " + ", ".join(f"{h:02d}:00" for h in hours) + f" {timezone}"
        )
    return "; ".join(parts)


def relative_strengths(snapshot: ProfileSnapshot) -> list[tuple[str, float]]:
    """Interests scaled to the person's strongest (1.0): the model sees which ones matter
    more, whatever the absolute amount of evidence (a fixed cap would read 1.00 for all)."""
    top = max((i.weight for i in snapshot.interests), default=0.0)
    if top <= 0:
        return []
    return [(i.topic, round(i.weight / top, 2)) for i in snapshot.interests]


def build_prompt_context(
    *,
    bot_name: str,
    platform: str,
    surface: str,
    now: dt.datetime,
    prefs: ResolvedPreferences,
    platform_context: PlatformContext,
    default_timezone: str,
    snapshot: ProfileSnapshot | None,
    history: list[HistoryTurn],
    display_name: str | None,
    memories: list[str] | None = None,
) -> PromptContext:
    """``snapshot`` is None for people who have not allowed learning: they get explicit
    preferences and the conversation, nothing inferred."""
    timezone, tz_source = resolve_timezone(prefs, platform_context, default_timezone)
    language = prefs.get("language")
    language_source = prefs.source("language")
    if language_source == "default" and platform_context.locale:
        language, language_source = platform_context.locale.split("-")[0].lower(), "platform"
    return PromptContext(
        bot_name=bot_name,
        platform=platform,
        surface=surface,
        local=local_time(now, timezone, tz_source),
        language=language,
        language_source=language_source,
        tone=prefs.get("tone"),
        tone_source=prefs.source("tone"),
        verbosity=prefs.get("verbosity"),
        verbosity_source=prefs.source("verbosity"),
        emoji=prefs.get("emoji"),
        avoid_topics=prefs.avoid_topics,
        interests=relative_strengths(snapshot) if snapshot else [],
        workspace_popular=snapshot.workspace_popular if snapshot else [],
        style_summary=style_summary(
            snapshot.style,
            timezone if tz_source != "default" else f"{timezone} (their timezone is unknown)",
        )
        if snapshot
        else "",
        summary_notes=prompt_lines(snapshot.summary) if snapshot else [],
        display_name=display_name if snapshot else None,
        device=platform_context.device if snapshot else None,
        activity=platform_context.activity if snapshot else None,
        personalised=snapshot is not None,
        history=history,
        memories=list(memories or []),
    )
