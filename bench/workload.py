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
