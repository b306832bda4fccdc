"""Text that came from a person is data: whatever it says, it cannot change the structure of
the system prompt. The test renders the prompt with each corpus entry in every user-derived
field and checks that the prompt's skeleton (everything outside the quoted literals) is the
same as with harmless values, and that every literal decodes back to exactly what was given."""

import json
import re
from pathlib import Path

import pytest

from prompts.context import LocalTime, PromptContext
from prompts.render import PromptRenderer

CORPUS = [
    line.encode().decode("unicode_escape") if "\\x" in line else line
    for line in (Path(__file__).parent / "adversarial_corpus.txt").read_text("utf-8").splitlines()
    if line.strip()
]
LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
LOCAL = LocalTime("2026-01-05", "08:15", "Monday", "morning", "Europe/Paris", "explicit")
renderer = PromptRenderer()


def context(value: str) -> PromptContext:
    return PromptContext(
        bot_name="tailorbot",
        platform="slack",
        surface="dm",
        local=LOCAL,
        language="en",
        language_source="explicit",
        tone="neutral",
        tone_source="default",
        verbosity="normal",
        verbosity_source="default",
        emoji="off",
        avoid_topics=[value[:60]],
        interests=[(value[:60], 0.9), ("jazz", 0.5)],
        workspace_popular=[value[:60]],
        style_summary="neutral register",
        display_name=value,
        device="desktop",
        activity=value,
        personalised=True,
        summary_notes=[value],
    )


def skeleton(system: str) -> str:
    return LITERAL.sub("<v>", system)


BASELINE = renderer.chat(context("harmless"), "hi", count_tokens=len).system


def test_corpus_is_substantial():
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("hostile", CORPUS)
def test_hostile_value_cannot_change_the_prompt_structure(hostile):
    system = renderer.chat(context(hostile), "hi", count_tokens=len).system
    assert skeleton(system) == skeleton(BASELINE)
    literals = [json.loads(lit) for lit in LITERAL.findall(system)]
    # The full display name and activity (capped) appear as exact, decodable literals.
    capped = hostile if len(hostile) <= 80 else hostile[:79] + "…"
    assert capped in literals
    assert len(system.splitlines()) == len(BASELINE.splitlines())
