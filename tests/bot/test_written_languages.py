"""The language a person's longer messages are written in (bot/written_languages.py): a
running majority per writer, bounded, forgettable."""

from bot.written_languages import LEAD_MAX, WrittenLanguages

ANA = ("discord", "G1", "ana")
BEN = ("discord", "G1", "ben")


def test_one_message_in_a_language_is_not_enough():
    written = WrittenLanguages()
    written.note(ANA, "de")
    assert written.usual(ANA) is None
    written.note(ANA, "de")
    assert written.usual(ANA) == "de"


def test_a_message_whose_language_is_unnamed_says_nothing():
    written = WrittenLanguages()
    for _ in range(3):
        written.note(ANA, None)
    assert written.usual(ANA) is None and len(written) == 0


def test_a_stray_line_in_another_language_does_not_flip_it():
    written = WrittenLanguages()
    for language in ("de", "de", "de", "en", "de"):
        written.note(ANA, language)
    assert written.usual(ANA) == "de"


def test_a_writer_who_switches_is_read_in_the_new_language_after_a_few_messages():
    """The lead is capped: years in one language do not outvote a few weeks in another."""
    written = WrittenLanguages()
    for _ in range(100):
        written.note(ANA, "de")
    switched = 0
    while written.usual(ANA) != "es":
        written.note(ANA, "es")
        switched += 1
    assert switched == LEAD_MAX + 1, switched


def test_writers_are_apart_and_the_least_recent_go_first():
    written = WrittenLanguages(max_writers=2)
    carl = ("discord", "G1", "carl")
    for writer, language in ((ANA, "de"), (BEN, "fr"), (carl, "it")):
        written.note(writer, language)
        written.note(writer, language)
    assert len(written) == 2
    assert written.usual(ANA) is None  # the least recently noted, dropped
    assert (written.usual(BEN), written.usual(carl)) == ("fr", "it")


def test_a_forgotten_writer_is_gone():
    written = WrittenLanguages()
    written.note(ANA, "de")
    written.note(ANA, "de")
    written.forget(ANA)
    written.forget(BEN)  # never noted: nothing to do
    assert written.usual(ANA) is None and len(written) == 0
