"""The language a person's longer messages are written in (bot/written_languages.py): a
running majority per writer, bounded, forgettable — and forgotten wherever the process next
meets the writer not allowing learning (real SQLite and PostgreSQL through ``Core.handle``)."""

import pytest

from bot.events import Surface
from bot.written_languages import LEAD_MAX, WrittenLanguages, writer_of
from tests.bot.test_learning import STAGES, _queued
from tests.bot.test_profile_learning import GERMAN_LONGER
from tests.support.helpers import command, grant, message, person

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


async def _writing_german(core, who):
    """``who`` allows learning and wrote two longer German lines this process learned from."""
    await grant(core, who)
    for text in GERMAN_LONGER:
        await core.handle(message(who, text, surface=Surface.CHANNEL, mentioned=False))
    await core.services.learner.flush()
    assert core.services.written.usual(writer_of(message(who, ""))) == "de"


CHANGES = pytest.mark.parametrize("change", ["forget", "revoke"])


@STAGES
@CHANGES
async def test_a_message_waiting_when_another_worker_forgets_them_leaves_no_hint(
    make_core, stage, change
):
    """Their German line waits here (its language noted when it was extracted, or still to
    be resolved) while another worker runs their /forget or revocation, which cannot reach
    this process's memory. The batch (or the intake's read) that drops the line drops the
    hint of their writing too: it stayed here until evicted."""
    here, there = await make_core(settle=False), await make_core(settle=False)
    ida = person("ida")
    await _writing_german(here, ida)
    await _queued(here, message(
        ida, "Wir haben gestern Abend zusammen gekocht und lange am Tisch geredet",
        surface=Surface.CHANNEL, mentioned=False,
    ), stage)
    await there.handle(command(ida, "forget" if change == "forget" else "consent",
                               "confirm" if change == "forget" else "revoke"))
    await here.services.learner.flush()
    assert here.services.written.usual(writer_of(message(ida, ""))) is None


@CHANGES
@pytest.mark.parametrize("surface", [Surface.CHANNEL, Surface.DM])
async def test_their_next_message_after_another_worker_forgot_them_drops_the_hint(
    make_core, change, surface
):
    """Nothing of theirs waited here when another worker forgot them (or they revoked
    there): their next message here — a channel line or a DM, which meets them new or
    revoked — drops what this process kept of their writing."""
    here, there = await make_core(settle=False), await make_core(settle=False)
    ida, uwe = person("ida"), person("uwe")
    await _writing_german(here, ida)
    await _writing_german(here, uwe)
    await there.handle(command(ida, "forget" if change == "forget" else "consent",
                               "confirm" if change == "forget" else "revoke"))
    await here.handle(message(ida, "hallo", surface=surface, mentioned=False))
    await here.services.learner.flush()
    await here.chat.intake.flush()
    written = here.services.written
    assert written.usual(writer_of(message(ida, ""))) is None
    assert written.usual(writer_of(message(uwe, ""))) == "de"  # others keep theirs
