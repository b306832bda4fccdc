"""Slack markup in and out: what the core reads and what Slack is sent."""

import time

import pytest

from adapters.slack.markup import (
    emojize,
    mentioned_user_ids,
    mentions,
    normalise,
    split_text,
    to_mrkdwn,
)

BOT = "U0BOT"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<@U0BOT> what's up?", "what's up?"),
        ("ask <@U0GRACE> about it", "ask @Grace about it"),
        ("ask <@U0NOBODY|nobody> about it", "ask @nobody about it"),
        ("ask <@U0NOBODY> about it", "ask @U0NOBODY about it"),
        ("see <#C123|general> today", "see #general today"),
        ("<!here> lunch", "@here lunch"),
        ("hi <!subteam^S1|@devs>", "hi @devs"),
        ("<!date^1392734382^{date}|Feb 18, 2014> works", "Feb 18, 2014 works"),
        ("read <https://example.com/a?b=1&amp;c=2|the docs>",
         "read the docs (https://example.com/a?b=1&c=2)"),
        ("read <https://example.com>", "read https://example.com"),
        ("mail <mailto:ada@example.com|ada@example.com>", "mail ada@example.com"),
        ("I :heart: Rust :tada:", "I ❤️ Rust 🎉"),
        (":+1::skin-tone-3: ok", "👍🏼 ok"),
        ("our :partyparrot: custom", "our :partyparrot: custom"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("literally &amp;lt; here", "literally &lt; here"),
        ("meet at 10:30:45", "meet at 10:30:45"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw, bot_user_id=BOT, names={"U0GRACE": "Grace"}) == expected


def test_mentions_and_ids() -> None:
    text = "<@U0BOT> and <@U0GRACE|grace> and <@U0BOT>"
    assert mentioned_user_ids(text) == ["U0BOT", "U0GRACE"]
    assert mentions(text, "U0GRACE")
    assert not mentions("<@U0BOTX>", "U0BOT")
    assert not mentions("anything", "")


def test_huge_message_is_linear() -> None:
    raw = ("<@U0BOT> " + "a" * 50 + " <https://x.test|x> :tada: &amp; ") * 2000 + "<" * 5000
    started = time.perf_counter()
    text = normalise(raw, bot_user_id=BOT)
    assert time.perf_counter() - started < 1.0
    assert "<@U0BOT>" not in text and "🎉" in text


def test_emojize_leaves_unknown_codes() -> None:
    assert emojize("no colons") == "no colons"
    assert emojize(":not_an_emoji_code:") == ":not_an_emoji_code:"


def test_to_mrkdwn_converts_and_escapes() -> None:
    md = (
        "# Title\n**bold** and __also__ and ~~gone~~\n- item <one>\n"
        "[docs](https://example.com/x) & more\n`a<b>` and\n```\nif a < b && c:\n```"
    )
    out = to_mrkdwn(md)
    assert "*Title*" in out
    assert "*bold* and *also* and ~gone~" in out
    assert "• item &lt;one&gt;" in out
    assert "<https://example.com/x|docs> &amp; more" in out
    assert "`a&lt;b&gt;`" in out
    assert "if a &lt; b &amp;&amp; c:" in out


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("it is *really* fast", "it is _really_ fast"),
        ("*one* and **two** and *three*", "_one_ and *two* and _three_"),
        ("# A *small* title", "*A _small_ title*"),
        ("* item *stressed*\n* plain", "• item _stressed_\n• plain"),
        ("2*3*4 and a * b * c", "2*3*4 and a * b * c"),
        ("_already_ italic", "_already_ italic"),
    ],
)
def test_single_star_emphasis_becomes_slack_italics(markdown: str, mrkdwn: str) -> None:
    """CommonMark's ``*x*`` is italic; Slack shows ``*x*`` bold: a model's emphasis read as
    shouting. Bullets, arithmetic and bold keep their meaning."""
    assert to_mrkdwn(markdown) == mrkdwn


def test_a_fence_loses_its_language_word() -> None:
    """Slack has no highlighting and showed "python" as the code's first line."""
    out = to_mrkdwn("see:\n```python\nprint(a < b)\n```\nand ```c++\nx++;\n```")
    assert out == "see:\n```\nprint(a &lt; b)\n```\nand ```\nx++;\n```"


def test_usage_text_is_not_turned_into_links() -> None:
    assert to_mrkdwn("/prefs set <key> <value>") == "/prefs set &lt;key&gt; &lt;value&gt;"


def test_split_text_prefers_boundaries() -> None:
    text = ("para one " * 40).strip() + "\n\n" + ("para two " * 40).strip()
    pieces = split_text(text, 400)
    assert all(len(p) <= 400 for p in pieces)
    assert pieces[0].endswith("one")
    assert "".join(split_text("x" * 1000, 300)) == "x" * 1000
    assert split_text("", 10) == [""]


def test_split_text_never_breaks_a_code_fence() -> None:
    text = "Here:\n```\n" + "line of code\n" * 600 + "```"
    pieces = split_text(text, 3000)
    assert len(pieces) > 2
    assert all(p.count("```") % 2 == 0 for p in pieces)  # each section renders on its own
    assert sum(p.count("line of code") for p in pieces) == 600


def test_a_nul_in_the_text_neither_fails_nor_moves_a_link() -> None:
    """NUL marks the links set aside while the rest is escaped: one in the text made the
    restore fail (IndexError) or put a link where the text was."""
    assert to_mrkdwn("a\x000\x00b") == "a0b"
    assert to_mrkdwn("[x](https://a.example) and \x000\x00") == "<https://a.example|x> and 0"


@pytest.mark.parametrize(
    "text",
    ["see [d](https://a/><!channel><https://b)", "[x](https://a/|<!here>)",
     "[y](https://a/<@U0BOSS>)"],
)
def test_a_link_cannot_smuggle_a_mention(text: str) -> None:
    """Slack's control characters inside a Markdown link's URL closed the link early: the
    model (or a person it echoed) could ping the channel through the bot."""
    shown = to_mrkdwn(text)
    assert "<!" not in shown and "<@" not in shown, shown


def test_a_link_s_ampersand_is_escaped() -> None:
    assert to_mrkdwn("[docs](https://x.org/a?b=1&c=2)") == "<https://x.org/a?b=1&amp;c=2|docs>"
