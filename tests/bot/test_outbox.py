"""One splitting policy for every platform (bot/outbox.py): nothing dropped, code fences
never broken."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.outbox import split_text


def test_short_text_is_one_piece() -> None:
    assert split_text("  hello  ", 100) == ["hello"]
    assert split_text("", 100) == [""]


def test_a_cut_inside_a_code_fence_closes_and_reopens_it() -> None:
    text = "Intro.\n\n```python\n" + "print('x')\n" * 200 + "```\n\nOutro."
    pieces = split_text(text, 500)
    assert len(pieces) > 3
    for piece in pieces:
        assert len(piece) <= 500
        assert piece.count("```") % 2 == 0  # every piece renders on its own
    assert all(p.startswith("```python\n") for p in pieces[1:-1])
    body = "".join(p.replace("```python\n", "").replace("\n```", "") for p in pieces)
    assert body.count("print('x')") == 200  # nothing lost


@given(st.text(alphabet=st.sampled_from("ab \n`"), max_size=3000), st.integers(40, 400))
def test_nothing_is_dropped_from_plain_text(text: str, limit: int) -> None:
    pieces = split_text(text.replace("`", "x"), limit)
    assert all(len(p) <= limit for p in pieces)
    words = text.replace("`", "x").split()
    assert " ".join(pieces).split() == words


def test_a_limit_too_small_for_a_fence_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("x" * 100, 8)


def test_a_long_fence_line_is_not_repeated_past_the_limit():
    """The reopened fence repeated the whole opening line: with one of ~2,000 characters
    every piece was longer than the platform's limit (Discord refused them: the answer was
    lost)."""
    text = "```" + "p" * 1990 + "\n" + "code\n" * 1000
    pieces = split_text(text, 2000)
    assert max(map(len, pieces)) <= 2000
    assert all(p.startswith("```") for p in pieces)
    assert "".join(pieces).count("code") == 1000


@pytest.mark.parametrize(
    "cluster",
    ["e\u0301", "👨\u200d👩\u200d👧", "ที่", "👍🏽"],
    ids=["combining accent", "zwj family", "thai", "skin tone"],
)
def test_a_cut_without_spaces_keeps_characters_whole(cluster):
    """Without whitespace near the limit the cut fell inside a character as displayed: the
    next piece began with a lone accent or half an emoji."""
    text = "x" + cluster * 3000
    pieces = split_text(text, 2000)
    assert "".join(pieces) == text
    for piece in pieces[1:]:
        assert piece.startswith(cluster), piece[:8]
