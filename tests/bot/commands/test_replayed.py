"""Commands replayed from the outage journal after they took effect: their COMMIT went into a
database that hung and committed it when it thawed, and the replay finds their claim
(bot/handlers/commands.py). Staged without a hang (tests/bot/test_db_hang.py has the real
one): the command is handled, then kept as the core keeps it, with its claim's time, and
replayed. The person gets the answer the command gave, or, where running it again would act
on something else or answer untruly, that it was done; nothing is applied twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import select

from bot.core import Core
from bot.events import CommandEvent, Reply
from bot.journal import Owed
from profiles.memory_models import IdentityLink, Memory
from profiles.models import Preference, ProcessedEvent, ProfileSummary
from tests.bot.memory.test_links import DISCORD, SLACK, link
from tests.support.helpers import command, count, grant, person_id, replays_by_hand


async def handled_then_replayed(core: Core, event: CommandEvent) -> tuple[Reply, Reply]:
    """The answer ``event`` got, and the one its replay delivers once kept with its claim's
    time (as a command whose transaction met the database gone after its claim was sent)."""
    [first] = await core.handle(event)
    async with core.services.db.session() as session:
        at = (await session.exec(
            select(ProcessedEvent.processed_at).where(ProcessedEvent.event_id == event.event_id)
        )).one()
    claimed = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at  # SQLite's: naive UTC
    replays_by_hand(core)
    delivered: list[list[Reply]] = []

    async def deliver(_event: Any, replies: list[Reply]) -> None:
        delivered.append(replies)

    core.services.deliverers[event.person.platform] = deliver
    core.services.journal.keep(event, owed=Owed(answer=True, learning=True, claims=(claimed,)))
    assert await core.drain_backlog() == 1
    [[again]] = delivered
    return first, again


async def summarised(core: Core, who: Any) -> None:
    pid = await person_id(core, who)
    assert pid is not None
    async with core.services.db.session() as session:
        session.add(ProfileSummary(
            person_id=pid, summary={"interests": [{"topic": "jazz"}], "notes": []}, model="m",
            created_at=core.services.clock(),
        ))
        await session.commit()


@pytest.mark.parametrize(
    ("setup", "line", "same"),
    [
        (["prefs set tone casual"], "prefs reset tone", True),
        (["memory add I live in Lyon", "memory add I have a cat"], "memory clear", False),
        ([], "profile summary clear", False),
        ([], "profile summary remove jazz", False),
        (["link"], "link remove", True),
    ],
    ids=["prefs-reset", "memory-clear", "summary-clear", "summary-remove", "link-remove"],
)
async def test_a_command_replayed_after_it_took_effect_answers_as_it_did_once(
    make_core, setup, line, same
):
    """Run again, each of these found nothing left to do and said so ("Nothing to reset",
    "Nothing to forget", "There is no model summary of you", "not linked"): untrue, it was
    this command that did it. Those whose answer says what they did (a count, the summary
    corrected) are not run again and say it was done, and where to look."""
    core = await make_core()
    alice = SLACK
    await grant(core, alice)
    for words in setup:
        if words == "link":
            await grant(core, DISCORD)
            await link(core)
        else:
            await core.handle(command(alice, *words.split(" ", 1)))
    if line.startswith("profile summary"):
        await summarised(core, alice)
    name, args = line.split(" ", 1)
    first, again = await handled_then_replayed(core, command(alice, name, args))
    assert first.purpose == "command"
    if same:
        assert again.text == first.text
    else:
        assert again.text.startswith(f"I did “/{line}” just as my memory (database) stopped")
    pid = await person_id(core, alice)
    assert await count(core, Preference, person_id=pid, key="tone") == 0
    assert await count(core, Memory, person_id=pid) == 0
    assert await count(core, IdentityLink) == 0
    async with core.services.db.session() as session:
        row = await session.get(ProfileSummary, pid)
    if line.endswith("clear"):
        assert row is None or line.startswith("memory")
    elif line.endswith("jazz"):
        assert row is not None and row.summary["interests"] == []
