"""Markup rules in isolation (the end-to-end path is in test_messages.py)."""

from __future__ import annotations

from adapters.discord.markup import Names, normalise

NAMES = Names(
    bot_id=1,
    user={2: "Bob"}.get,
    channel={10: "general"}.get,
    role={20: "Mods"}.get,
    bot_role_id=21,
)


def test_mentions_channels_roles_and_emoji() -> None:
    text = "<@2> and <@!2> in <#10> ping <@&20> <:blob:99> <a:dance:98>"
    assert normalise(text, NAMES) == "@Bob and @Bob in #general ping @Mods :blob: :dance:"


def test_the_bots_own_mentions_are_dropped_cleanly() -> None:
    assert normalise("<@1> hello", NAMES) == "hello"
    assert normalise("<@!1>, what's up?", NAMES) == "what's up?"
    assert normalise("hey <@1> how are you", NAMES) == "hey how are you"
    assert normalise("<@&21>: status?", NAMES) == "status?"


def test_unknown_ids_get_neutral_names() -> None:
    assert normalise("<@3> <#11> <@&22>", NAMES) == "@someone #channel @role"


def test_timestamps_and_command_mentions() -> None:
    assert normalise("at <t:0:F> or <t:1700000000>", NAMES) == (
        "at 1970-01-01 00:00 UTC or 2023-11-14 22:13 UTC"
    )
    assert normalise("try </prefs set:123>", NAMES) == "try /prefs set"


def test_code_is_kept_byte_for_byte() -> None:
    text = "see `<@2>` and\n```py\nx = '<#10>'  # <:e:1>\n```\nthen <@2>"
    assert normalise(text, NAMES) == (
        "see `<@2>` and\n```py\nx = '<#10>'  # <:e:1>\n```\nthen @Bob"
    )
