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
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import select

from bot.core import DB_UNAVAILABLE, Core
from bot.digest import install
from bot.events import CommandEvent, Reply
from bot.journal import Owed
from profiles.db import DatabaseUnavailable
from profiles.memory_models import IdentityLink, Memory
from profiles.models import Preference, ProcessedEvent, ProfileSummary
from tests.bot.memory.test_links import DISCORD, SLACK, link
from tests.support.helpers import (
    command,
    count,
    grant,
    message,
    person,
    person_id,
    replays_by_hand,
)


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


class CommitUnseen:
    """The next transaction that deletes a person commits, and its answer is lost: what the
    bot sees of a COMMIT sent into a hang that took effect when the server thawed
    (tests/bot/test_db_hang.py has the real one, on PostgreSQL)."""

    def __init__(self, core: Core) -> None:
        self.engine = core.services.db.engine.sync_engine
        self.deleting = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.deleting = self.deleting or statement.lstrip().startswith("DELETE FROM person")

    def committed(self, _session: Any) -> None:
        if self.deleting:
            self.deleting = False
            raise DatabaseUnavailable("no answer from the database (staged)")

    def __enter__(self) -> CommitUnseen:
        event.listen(self.engine, "before_cursor_execute", self)
        event.listen(Session, "after_commit", self.committed)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)
        event.remove(Session, "after_commit", self.committed)


async def test_a_forget_replayed_after_it_took_effect_does_what_its_commit_owed(make_core):
    """The /forget committed but its answer was lost, so what its erasure does after the
    commit never ran: the digest's scheduled job, a reply binding kept in memory. Its replay
    (its claim went with the person's rows) was a new /forget of the person made anew,
    which did that work for the new person's id and answered with the new person's row
    count. It does it for the person erased then, and says it is done without a count."""
    core = await make_core()
    digests = install(core.services, sources=[])
    try:
        alice = person()
        await grant(core, alice)
        await core.handle(command(alice, "digest", "subscribe daily 08:00"))
        await digests.settle()
        pid = await person_id(core, alice)
        assert pid is not None
        jobs = await digests.jobs()
        assert await jobs.job(pid) is not None
        core.services.bindings.delay = 3600.0  # kept in memory until the /forget
        [answer] = await core.handle(message(alice, "tell me about jazz"))
        assert answer.reply_id is not None
        await core.bind_reply(answer.reply_id, "M1")
        replays_by_hand(core)
        delivered: list[list[Reply]] = []

        async def deliver(_event: Any, replies: list[Reply]) -> None:
            delivered.append(replies)

        core.services.deliverers[alice.platform] = deliver
        forget = command(alice, "forget", "confirm")
        with CommitUnseen(core):
            [told] = await core.handle(forget)
        assert told.text == DB_UNAVAILABLE and len(core.services.journal) == 1
        assert await person_id(core, alice) is None  # it took effect
        assert await core.drain_backlog() == 1
        [[reply]] = delivered
        assert reply.text == (
            "Done. I deleted everything about you. If you talk to me again, I'll start from "
            "scratch and ask before learning anything."
        )
        assert await jobs.job(pid) is None and await jobs.scheduled_people() == set()
        assert core.services.bindings.kept == () and core.services.bindings.turn_for("M1") is None
        assert await person_id(core, alice) is None and len(core.services.journal) == 0
    finally:
        await digests.aclose()
