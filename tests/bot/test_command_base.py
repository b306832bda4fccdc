"""Command plumbing that every handler relies on."""

import pytest

from bot.command_base import MAX_ROW_ID, parse_row_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        (str(MAX_ROW_ID), MAX_ROW_ID),
        (str(MAX_ROW_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        ("-3", None),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("١٢", None),  # non-ASCII digits are not ids either
        ("12abc", None),
        ("", None),
    ],
)
def test_row_ids_are_ascii_and_within_64_bits(raw, expected):
    assert parse_row_id(raw) == expected
