"""The plain data a prompt is rendered from. Built by the core from the profile and the event;
this package never touches storage or platforms, so templates see only these fields."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LocalTime:
    date: str
    time: str
    weekday: str
    day_part: str
    timezone: str
    timezone_source: str


@dataclass(frozen=True, slots=True)
class HistoryTurn:
    role: str  # "user" | "assistant"
    text: str


@dataclass(frozen=True, slots=True)
class PromptContext:
    bot_name: str
    platform: str
    surface: str
    local: LocalTime
    language: str
    language_source: str
    tone: str
    tone_source: str
    verbosity: str
    verbosity_source: str
    emoji: str
    avoid_topics: list[str] = field(default_factory=list)
    interests: list[tuple[str, float]] = field(default_factory=list)
    workspace_popular: list[str] = field(default_factory=list)
    style_summary: str = ""
    display_name: str | None = None
    device: str | None = None
    activity: str | None = None
    summary_notes: list[str] = field(default_factory=list)
    personalised: bool = True
    history: list[HistoryTurn] = field(default_factory=list)
    # What the person explicitly asked to be remembered (newest last): data to respect, kept
    # for people who do not allow learning too, because asking was consent for each item.
    memories: list[str] = field(default_factory=list)
