"""Topic quality on everyday chat: hobbies, family, pets, food, travel, games, TV — what a
community's Slack or Discord talks about beside work, and what the topic rules were tuned on
from the forty-fourth session (docs/measurement.md, "Topic rules").

``bench/data/everyday_chat.tsv``: 181 lines as people type them (lower case, "rn", "tbh",
emoji, titles of shows and games), each with the topics a reader would say it is about, 40
of them small talk labelled with nothing. The lines and labels were written for the purpose
by a helper that never saw the topic rules; only labels made of the line's own words were
kept (a label such as "fermentation" for "made kimchi" asks for knowledge no extractor here
has), and lines left with none were dropped. Scored as ``bench/devchat.py`` scores developer
chat, plus the small-talk lines that teach a topic anyway. The labels are strict (nothing is
marked acceptable beside them: "trail" from "the trails up north" counts as noise), so the
figures compare versions of the rules; they are no absolute measure.
"""

from __future__ import annotations

from importlib import resources

from bench.devchat import Line, score_lines

DATA = "everyday_chat.tsv"


def everyday_lines() -> list[Line]:
    """The labelled lines of :data:`DATA` (comment lines start with "#")."""
    text = (resources.files("bench") / "data" / DATA).read_text(encoding="utf-8")
    lines: list[Line] = []
    for row in text.splitlines():
        if not row.strip() or row.startswith("#"):
            continue
        message, _, labels = row.partition("\t")
        lines.append(Line(message, tuple(label for label in labels.split("|") if label)))
    return lines


def run_everyday() -> None:
    score_lines("everyday chat", everyday_lines(), "labelled lines")
