"""Which sentences are requests to remember or forget (and which are only conversation)."""

import pytest

from bot.memory.intent import memory_intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remember that I am vegetarian", ["add", "I am vegetarian"]),
        ("Please remember: my team ships on Thursdays.", ["add", "my team ships on Thursdays"]),
        (", remember that I hate mornings", ["add", "I hate mornings"]),  # after "@bot,"
        ("could you remember I'm allergic to nuts!!", ["add", "I'm allergic to nuts"]),
        ("forget that I am vegetarian", ["forget", "I am vegetarian"]),
        ("please forget about the vegetarian thing", ["forget", "the vegetarian thing"]),
        ("remember that film we saw?", None),
        ("I remember that day", None),
        ("do you remember that I like tea", None),
        ("forget it", None),
        ("remember that", None),
        ("forget about it", None),
    ],
)
def test_memory_intent(text: str, expected: list[str] | None) -> None:
    found = memory_intent(text)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found[0] == "memory"
        # /memory keeps its text as typed: the fact follows the action word, unquoted
        assert found[1].split(" ", 1) == expected
