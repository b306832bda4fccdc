"""The local token estimate (bot/llm/base.py): its fast form counts exactly what the plain
definition counts — a quarter token per Latin character, one per CJK character."""

from hypothesis import given
from hypothesis import strategies as st

from bot.llm.base import estimate_tokens


def by_definition(text: str) -> int:
    if not text:
        return 0
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    return (len(text) - wide) // 4 + wide + 1


@given(st.text())
def test_the_estimate_counts_as_defined(text: str) -> None:
    assert estimate_tokens(text) == by_definition(text)


def test_wide_characters_count_one_each() -> None:
    assert estimate_tokens("abcd" * 10) == 11
    assert estimate_tokens("日本語のテキスト") == 9  # eight wide characters, plus one
    assert estimate_tokens("\u2e80\u2e81") == 2  # U+2E80 is not wide, U+2E81 is
