"""Synthetic people and messages with realistic shape: a Zipf-like topic popularity, each
person with a few favourite topics, message lengths from one line to a paragraph."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

TOPICS = [
    "rust async",
    "distributed systems",
    "kubernetes operators",
    "sourdough bread",
    "jazz piano",
    "trail running",
    "machine learning",
    "postgres replication",
    "home espresso",
    "climbing",
    "science fiction",
    "board games",
    "woodworking",
    "photography",
    "urban gardening",
    "type theory",
    "mechanical keyboards",
    "chess openings",
    "cycling routes",
    "film noir",
    "data visualisation",
    "open source licensing",
    "python packaging",
    "web accessibility",
    "bird watching",
    "synthesizers",
    "category theory",
    "retro computing",
    "ultralight hiking",
    "tea ceremonies",
    "formula one",
    "home automation",
    "sci-fi novels",
    "indie games",
]
TEMPLATES = [
    "I've been reading about {a} lately, any tips?",
    "Do you know good resources on {a} and {b}?",
    "Quick question about {a}",
    "We spent the whole weekend on {a}. Honestly {b} was the highlight, but {a} is what "
    "I keep thinking about. What would you recommend to go deeper?",
    "thanks! {a} sounds great 😀",
    "Could you compare {a} with {b}? I'm trying to decide where to spend my time this month, "
    "and I'd like a balanced view with a couple of concrete next steps for each.",
]


@dataclass(frozen=True, slots=True)
class SyntheticMessage:
    user: str
    text: str


def people(n: int) -> list[str]:
    return [f"U{i:07d}" for i in range(n)]


def messages(users: list[str], count: int, seed: int = 7) -> Iterator[SyntheticMessage]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(TOPICS))]
    favourites: dict[str, list[str]] = {}
    for _ in range(count):
        user = rng.choice(users)
        fav = favourites.setdefault(user, rng.choices(TOPICS, weights=weights, k=3))
        a = rng.choice(fav) if rng.random() < 0.8 else rng.choices(TOPICS, weights=weights)[0]
        b = rng.choice(TOPICS)
        yield SyntheticMessage(user, rng.choice(TEMPLATES).format(a=a, b=b))


# A fuller day in a workspace -------------------------------------------------------------
# What the scale benchmark drives: channel chatter the bot only observes (most of the volume
# on Slack and Discord), direct messages and mentions it answers, reactions on its replies and
# on other people's messages, and people changing an explicit preference now and then.

FILLER = (
    "honestly",
    "I think",
    "last week",
    "at work",
    "my team",
    "the docs say",
    "for what it's worth",
    "after a few tries",
    "on the weekend",
    "compared to last year",
)
EMOJI = ("👍", "🎉", "😀", "👎", "🔥", "❤️")
PREFERENCE_CHANGES = (
    "verbosity brief",
    "verbosity detailed",
    "tone casual",
    "tone formal",
    "emoji on",
    "avoid_topics formula one",
)


@dataclass(frozen=True, slots=True)
class WorkloadEvent:
    """One synthetic platform event; ``kind`` is channel | dm | mention | reaction | prefs."""

    kind: str
    user: str
    channel: str
    text: str = ""
    topics: tuple[str, ...] = ()
    target_text: str = ""
    target_user: str = ""  # who wrote the reacted-to text (its consent counts too)
    emoji: str = ""


def message_length(rng: random.Random) -> int:
    """Characters of a chat message: log-normal with a median near 60 and a long tail, the
    shape published chat corpora show (most lines short, a few paragraphs)."""
    return max(8, min(1800, int(rng.lognormvariate(4.1, 0.9))))


def _text(rng: random.Random, topics: list[str], length: int) -> str:
    parts = [rng.choice(TEMPLATES).format(a=topics[0], b=topics[-1])]
    while sum(len(p) for p in parts) < length:
        topic = rng.choice(topics)
        parts.append(f"{rng.choice(FILLER)}, {topic} is worth a look")
    return " ".join(parts)[: max(length, 12)]


def events(
    users: list[str], count: int, *, seed: int = 11, channels: int | None = None
) -> Iterator[WorkloadEvent]:
    """A reproducible mix: 75 % channel messages, 8 % DMs, 5 % mentions, 10 % reactions,
    2 % preference changes. Each person has three favourite topics (Zipf-popular) and drifts:
    every 200 of their events, one favourite is replaced (a preference change the profile's
    decay has to follow)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(TOPICS))]
    n_channels = channels or max(5, len(users) // 50)
    favourites: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    recent: list[tuple[str, str]] = []  # (author, text) of the latest messages
    for _ in range(count):
        user = rng.choice(users)
        fav = favourites.setdefault(user, rng.choices(TOPICS, weights=weights, k=3))
        seen[user] = seen.get(user, 0) + 1
        if seen[user] % 200 == 0:
            fav[rng.randrange(3)] = rng.choices(TOPICS, weights=weights)[0]
        channel = f"C{int(user.lstrip('U') or 0) % n_channels:05d}"
        roll = rng.random()
        topics = [rng.choice(fav) if rng.random() < 0.8 else rng.choice(TOPICS) for _ in range(2)]
        if roll < 0.10 and recent:
            author, target = rng.choice(recent)
            yield WorkloadEvent(
                "reaction", user, channel, target_text=target, target_user=author,
                emoji=rng.choice(EMOJI),
            )
            continue
        if roll < 0.12:
            yield WorkloadEvent("prefs", user, channel, text=rng.choice(PREFERENCE_CHANGES))
            continue
        text = _text(rng, topics, message_length(rng))
        kind = "dm" if roll < 0.20 else "mention" if roll < 0.25 else "channel"
        recent.append((user, text))
        if len(recent) > 50:
            recent.pop(0)
        yield WorkloadEvent(kind, user, channel, text=text, topics=tuple(topics))
