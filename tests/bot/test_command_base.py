"""Command plumbing that every handler relies on."""

import pytest

from bot.command_base import MAX_ROW_ID, free_text, parse_row_id, split_args
from bot.events import PlatformContext
from bot.llm import ScriptedBackend
from tests.support.helpers import command, message, person


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


# Arguments: words split on whitespace, free text kept as typed (input audit: shlex refused
# "I'm", and every French elision, and ate the quotes it did not refuse).
@pytest.mark.parametrize(
    ("raw", "after", "expected"),
    [
        ("add I'm vegetarian", 1, "I'm vegetarian"),
        ('add  --here  on se voit au "centro"  ', 2, 'on se voit au "centro"'),
        ("set avoid_topics rock'n'roll,  politique", 2, "rock'n'roll,  politique"),
        ("add  it's\n two lines", 1, "it's\n two lines"),
        ("un livre d'aventure", 0, "un livre d'aventure"),
        ("add", 1, ""),
        ("add", 3, ""),
    ],
)
def test_free_text_is_the_rest_exactly_as_typed(raw, after, expected):
    args = split_args(raw)
    assert args == raw.split()
    assert free_text(args, after) == expected


def test_free_text_of_plain_words_joins_them():
    """A caller holding only words (the model's recommend tool) gets them joined."""
    assert free_text(["un", "livre", "d'aventure"], 0) == "un livre d'aventure"


async def test_apostrophes_and_quotes_reach_memory_and_prefs_as_typed(core):
    alice = person()
    for typed, kept in (
        ("I'm vegetarian", "I'm vegetarian"),  # the usage's own example
        ('my café is "centro"', 'my café is "centro"'),
        ('a 27" screen', 'a 27" screen'),  # an unbalanced quote is just a character
        ("--here don't ping me", "don't ping me"),
    ):
        [reply] = await core.handle(command(alice, "memory", f"add {typed}"))
        assert reply.purpose != "error", reply.text
        assert f"“{kept}”" in reply.text
    listing = (await core.handle(message(alice, "/memory")))[0].text
    assert "1. I'm vegetarian" in listing and '2. my café is "centro"' in listing
    assert '3. a 27" screen' in listing and "4. don't ping me" in listing
    # typed in a message, the same
    [forgot] = await core.handle(message(alice, "/memory remove I'm vegetarian"))
    assert forgot.text == "Forgotten: “I'm vegetarian”."

    [saved] = await core.handle(command(alice, "prefs", "set avoid_topics rock'n'roll, politique"))
    assert "avoid_topics = rock'n'roll, politique." in saved.text


async def test_french_elisions_are_kept_in_french(make_core):
    llm = ScriptedBackend(['{"items": [{"title": "Le Tour du monde", "topics": ["aventure"], '
                           '"reason": "un classique"}]}'])
    core = await make_core(llm)
    alice = person()
    french = PlatformContext(locale="fr")
    [added] = await core.handle(message(alice, "/memory add J'habite à Lyon", context=french))
    assert added.purpose != "error" and added.locale == "fr", added.text
    assert "J'habite à Lyon" in added.text and "quotation" not in added.text
    replies = await core.handle(message(alice, "/recommend un livre d'aventure", context=french))
    assert replies and replies[0].purpose == "recommendation", replies
    assert llm.requests[-1].turns[-1].content == 'Request: "un livre d\'aventure"'
