"""What the core decides on an adapter's facts after a reconnect (bot/lifecycle.py): who of a
workspace is gone, and which workspaces the bot no longer is in; and erasures, at the same
moment, of people who learned from each other's words, and while learning batches write
their readers' interests. Real databases (SQLite and PostgreSQL); the outage journal is the
core's own file."""

from __future__ import annotations

import asyncio
import functools
import logging

import psycopg
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import lifecycle
from bot.core import Core
from bot.events import CommandEvent, Surface
from bot.journal import Erased, Journal
from bot.learning import Pending
from bot.lifecycle import AccountReport
from profiles.engine import PersonKey
from profiles.ingest import Claim, Observation
from profiles.models import Person, ProcessedEvent, Signal
from profiles.privacy import forget_person
from tests.conftest import MakeCore
from tests.profiles.test_borrowed import HOUR, T0, consenting, interests, learn, reacted, said
from tests.profiles.test_privacy import rows_about
from tests.support.helpers import (
    command,
    count,
    grant,
    message,
    person,
    person_id,
    reaction,
    until_one_waits_for_a_lock,
)


async def known(core: Core, *who: object) -> list[bool]:
    return [await person_id(core, ref) is not None for ref in who]  # type: ignore[arg-type]


async def test_forget_absent_erases_only_who_the_list_lacks_in_that_workspace(
    core: Core,
) -> None:
    alice, bob = person("alice", "G1", "discord"), person("bob", "G1", "discord")
    elsewhere = person("alice", "G2", "discord")
    in_dms = person("alice", "dm", "discord")
    other_platform = person("alice", "G1", "slack")
    for who in (alice, bob, elsewhere, in_dms, other_platform):
        await grant(core, who)

    assert await core.forget_absent("discord", "G1", {"bob"}) == 1

    assert await known(core, alice, bob, elsewhere, in_dms, other_platform) == [
        False, True, True, True, True]


async def test_forget_absent_asks_about_each_person_while_deciding(core: Core) -> None:
    """A live view of the members is asked inside the erasing transaction: whoever it says
    is present then stays, whatever a list taken earlier said."""
    alice, bob = person("alice", "G1", "discord"), person("bob", "G1", "discord")
    for who in (alice, bob):
        await grant(core, who)
    asked: list[str] = []

    class Live:
        def __contains__(self, user_id: object) -> bool:
            asked.append(str(user_id))
            return user_id == "bob"

    assert await core.forget_absent("discord", "G1", Live()) == 1
    assert sorted(asked) == ["alice", "bob"]
    assert await known(core, alice, bob) == [False, True]


async def test_forget_absent_empties_the_journal_of_who_is_gone(core: Core) -> None:
    """Events kept while the database was away, of someone with no row yet, would make them
    a row at the replay: an absent person's go, a present one's stay."""
    journal = core.services.journal
    gone, staying = person("gone", "G1", "discord"), person("staying", "G1", "discord")
    journal.keep(message(gone, "kept during an outage"))
    journal.keep(message(staying, "kept too"))

    assert await core.forget_absent("discord", "G1", {"staying"}) == 0

    assert journal.users("discord", "G1") == {"staying"}


async def test_forget_absent_workspaces_forgets_what_the_list_lacks_among_what_it_covers(
    core: Core,
) -> None:
    """G2 removed the bot; G3 is another process's (not covered); the DM scope is no server
    and never covered; G4 is known only by an event in the journal."""
    listed = person("alice", "G1", "discord")
    removed, removed_too = person("alice", "G2", "discord"), person("bob", "G2", "discord")
    not_ours = person("carol", "G3", "discord")
    in_dms = person("alice", "dm", "discord")
    for who in (listed, removed, removed_too, not_ours, in_dms):
        await grant(core, who)
    core.services.journal.keep(message(person("dave", "G4", "discord"), "waiting"))

    forgotten = await core.forget_absent_workspaces(
        "discord", {"G1"}, covered=lambda workspace: workspace in {"G1", "G2", "G4"})

    assert forgotten == {"G2": 2, "G4": 0}
    assert await known(core, listed, removed, removed_too, not_ours, in_dms) == [
        True, False, False, True, True]
    assert core.services.journal.workspaces("discord") == set()


async def test_a_list_without_any_known_workspace_forgets_none_of_them(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """Another bot's token, or a new application not yet invited, lists none of the servers
    the people were met in: nothing is forgotten, and the log says why. One workspace alone
    may well have removed the bot."""
    first, second = person("alice", "G1", "discord"), person("bob", "G2", "discord")
    for who in (first, second):
        await grant(core, who)

    everything = await core.forget_absent_workspaces(
        "discord", {"G9"}, covered=lambda workspace: workspace.startswith("G"))

    assert everything == {}
    assert await known(core, first, second) == [True, True]
    assert "lists the bot in none of the 2 workspaces" in caplog.text
    assert await core.forget_absent_workspaces(
        "discord", {"G1"}, covered=lambda workspace: workspace.startswith("G")) == {"G2": 1}
    assert await core.forget_absent_workspaces(
        "discord", set(), covered=lambda workspace: workspace.startswith("G")) == {"G1": 1}


# Erasures of people who learned from each other's words, at the same moment (PostgreSQL:
# SQLite's one writer runs one after the other).
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def same_interests(core: Core, reader: int, control: int) -> None:
    """The reader's interests are the control's, who learned the same except from the
    authors forgotten."""
    mine, theirs = await interests(core, reader), await interests(core, control)
    assert set(mine) == set(theirs)
    for topic, (weight, lasting, updated_ts, evidence) in mine.items():
        c_weight, c_lasting, c_updated_ts, c_evidence = theirs[topic]
        assert abs(weight - c_weight) < 1e-9 and abs(lasting - c_lasting) < 1e-9
        assert (updated_ts, evidence) == (c_updated_ts, c_evidence)


@ON_POSTGRES
async def test_an_author_forgotten_while_a_readers_forget_rolls_back_is_taken_back(
    make_core: MakeCore, database_url: str
) -> None:
    """Bob learned from Carol's words; his erasure holds him and then fails (anything after
    it in its transaction), while hers runs. It skipped him as being forgotten and still
    deleted the evidence in his profile (the foreign key's cascade would have too): rolled
    back, his erasure left her share in his interests with nothing to find it by (review).
    Now hers waits for his and takes her share back from the profile he keeps."""
    core = await make_core()
    services = core.services
    bob, control, carol, dave = await consenting(core, "bob", "control", "carol", "dave")
    for who in (bob, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0)])
    await learn(core, [reacted(bob, carol, {"jazz": 1.0, "hyperdrive": 1.0}, T0 + HOUR)])
    for who in (bob, control):  # the same latest evidence: comparable rows
        await learn(core, [reacted(who, dave, {"jazz": 1.0}, T0 + 2 * HOUR)])
    held, release = asyncio.Event(), asyncio.Event()

    async def failing(session: AsyncSession) -> None:
        found = await session.get(Person, bob)
        assert found is not None
        await lifecycle.forget_person(services, session, found)
        held.set()
        await release.wait()
        raise RuntimeError("what came after the erasure failed")

    bobs = asyncio.ensure_future(services.in_transaction(failing))
    await held.wait()
    carols = asyncio.ensure_future(core.handle(command(person("carol"), "forget", "confirm")))
    await until_one_waits_for_a_lock(core, unless=carols.done)
    release.set()
    with pytest.raises(RuntimeError, match="after the erasure"):
        await bobs
    assert "Done." in (await carols)[0].text

    assert await person_id(core, person("carol")) is None
    await same_interests(core, bob, control)
    assert await count(core, Signal, source_person_id=carol) == 0


@ON_POSTGRES
async def test_two_people_who_learned_from_each_other_forgotten_at_once_never_deadlock(
    make_core: MakeCore, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Bob and Carol reacted to each other's messages; Dave to Bob's. Their erasures, at the
    same moment, each held its own person, skipped the other as being forgotten, deleted
    the evidence read from its own words in the other's profile, then waited for the
    other's while holding its own: a deadlock, which PostgreSQL broke after a second by
    aborting one (review). Now each holds its person and their readers together, in id
    order: one waits for the other before it holds anything."""
    caplog.set_level(logging.INFO, logger="bot.services")
    core = await make_core()
    engine = core.services.engine
    bob, carol, dave, control = await consenting(core, "bob", "carol", "dave", "control")
    await learn(
        core,
        [
            reacted(bob, carol, {"chess": 1.0, "jazz": 1.0}, T0),
            reacted(carol, bob, {"film": 1.0, "jazz": 1.0}, T0),
        ],
    )
    for who in (dave, control):
        await learn(core, [said(who, {"jazz": 1.0}, T0)])
    await learn(core, [reacted(dave, bob, {"jazz": 1.0, "film": 1.0}, T0 + HOUR)])
    for who in (dave, control):
        await learn(core, [reacted(who, carol, {"jazz": 1.0}, T0 + 2 * HOUR)])
    # Each erasure pauses before and after taking back what its person lent, until told
    # to go on: both reach each point unless one waits for the other.
    withdraw = engine.withdraw_words_of
    arrived = {"before": 0, "after": 0}
    go = {"before": asyncio.Event(), "after": asyncio.Event()}

    async def pausing(session: AsyncSession, author_id: int) -> int:
        arrived["before"] += 1
        await go["before"].wait()
        removed = await withdraw(session, author_id)
        arrived["after"] += 1
        await go["after"].wait()
        return removed

    def both(point: str) -> bool:
        return arrived[point] == 2

    engine.withdraw_words_of = pausing  # type: ignore[method-assign]
    first = asyncio.ensure_future(core.handle(command(person("bob"), "forget", "confirm")))
    await until_one_waits_for_a_lock(core, unless=lambda: arrived["before"] == 1)
    second = asyncio.ensure_future(core.handle(command(person("carol"), "forget", "confirm")))
    for point in ("before", "after"):
        await until_one_waits_for_a_lock(core, unless=functools.partial(both, point))
        go[point].set()
    for forget in (first, second):
        assert "Done." in (await forget)[0].text

    assert "conflicted with another" not in caplog.text
    assert [await person_id(core, person(who)) for who in ("bob", "carol")] == [None, None]
    await same_interests(core, dave, control)


@ON_POSTGRES
async def test_a_reader_who_learned_while_the_erasure_waited_for_its_author_is_held_too(
    make_core: MakeCore, database_url: str
) -> None:
    """An erasure finds its person's readers, then waits for the person's row: a learning
    batch holds Carol while it writes Eve's reaction to her message. Eve is a reader by the
    time the erasure holds Carol, and is held with the others before anything is taken
    back (found again once the author is held: no evidence of her words can come after)."""
    core = await make_core(settle=False)
    services, learner = core.services, core.services.learner
    bob, carol, eve = await consenting(core, "bob", "carol", "eve")
    await learn(core, [reacted(bob, carol, {"jazz": 1.0}, T0)])
    still_learning = learner._still_learning
    locked, written = asyncio.Event(), asyncio.Event()

    async def paused(
        session: AsyncSession, person_ids: set[int], *, writing: bool
    ) -> set[int]:
        allowed = await still_learning(session, person_ids, writing=writing)
        locked.set()
        await written.wait()
        return allowed

    learner._still_learning = paused  # type: ignore[method-assign]
    withdraw = services.engine.withdraw_words_of
    held, go = asyncio.Event(), asyncio.Event()

    async def pausing(session: AsyncSession, author_id: int) -> int:
        held.set()  # the erasure holds everyone it will write for by now
        await go.wait()
        return await withdraw(session, author_id)

    services.engine.withdraw_words_of = pausing  # type: ignore[method-assign]
    await core.handle(
        reaction(
            person("eve"),
            "m-carol",
            "🔥",
            target_author="carol",
            target_text="Glorbnitzel hyperdrive maintenance matters",
        )
    )
    batch = asyncio.ensure_future(learner.flush())
    await locked.wait()

    async def erase(session: AsyncSession) -> dict[str, int]:  # nothing before the hold
        found = await session.get(Person, carol)
        assert found is not None
        return await lifecycle.forget_person(services, session, found)

    forget = asyncio.ensure_future(services.in_transaction(erase))
    await until_one_waits_for_a_lock(core)  # the erasure, for Carol's row
    written.set()
    await batch
    assert await count(core, Signal, person_id=eve, source_person_id=carol) > 0
    await held.wait()
    other = await psycopg.AsyncConnection.connect(database_url)
    try:
        with pytest.raises(psycopg.errors.LockNotAvailable):
            await other.execute("SELECT 1 FROM person WHERE id = %s FOR UPDATE NOWAIT", (eve,))
    finally:
        await other.close()
    go.set()

    assert (await forget)["person"] == 1
    assert await interests(core, eve) == {}
    assert await count(core, Signal, source_person_id=carol) == 0


async def test_accounts_reported_forgets_only_who_the_platform_says_is_deleted(
    core: Core,
) -> None:
    """A platform asked about known accounts: those it says are deleted go, in that workspace
    only; one it does not know (another workspace's token, another organisation's person) and
    one it said nothing of stay; waiting events of a deleted account go too."""
    deleted, unknown, present = (person(who, "T1", "slack")
                                 for who in ("deleted", "unknown", "present"))
    elsewhere = person("deleted", "T2", "slack")
    other_platform = person("deleted", "T1", "discord")
    for who in (deleted, unknown, present, elsewhere, other_platform):
        await grant(core, who)
    journal = core.services.journal
    journal.keep(message(person("waiting", "T1", "slack"), "kept during an outage"))
    journal.keep(message(person("waiting-too", "T1", "slack"), "kept too"))

    report = AccountReport(deleted=frozenset({"deleted", "waiting", "nobody-known"}),
                           unknown=frozenset({"unknown", "waiting-too"}))
    assert await core.accounts_reported("slack", "T1", report) == 1

    assert await known(core, deleted, unknown, present, elsewhere, other_platform) == [
        False, True, True, True, True]
    assert journal.users("slack", "T1") == {"waiting-too"}
    assert await core.accounts_reported("slack", "T1", AccountReport()) == 0


async def test_an_erasure_is_owed_even_when_its_id_went_to_someone_else(core: Core) -> None:
    """A /forget whose COMMIT took effect unseen owes what an erasure does after its commit
    (a digest's job, export files, the WAL scrubbed): its replay tells by the person's row
    being gone. On SQLite a row made meanwhile may take the deleted one's id, and that
    someone else's row made the erasure look undone."""
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    alice_id = await person_id(core, alice)
    assert alice_id is not None
    erased = Erased(alice_id, "test", alice.workspace, alice.user_id)
    async with core.services.db.session() as session:  # the erasure, committed unseen
        await forget_person(session, alice_id)
    await grant(core, bob)
    bob_id = await person_id(core, bob)
    assert bob_id is not None
    if core.services.db.sqlite:  # the premise: her id given again
        assert bob_id == alice_id
    async with core.services.transaction() as session:
        assert await lifecycle.erasures_owed(core.services, session, [erased]) == [erased]
        not_yet = Erased(bob_id, "test", bob.workspace, bob.user_id)  # a row still there
        assert await lifecycle.erasures_owed(core.services, session, [not_yet]) == []


async def test_known_accounts_and_workspaces_count_the_journal_too(core: Core) -> None:
    """Someone known only by events waiting in the outage journal is asked about as well:
    their replay would make them a row."""
    await grant(core, person("alice", "T1", "slack"))
    await grant(core, person("bob", "T9", "discord"))
    core.services.journal.keep(message(person("carol", "T1", "slack"), "waiting"))
    core.services.journal.keep(message(person("dave", "T2", "slack"), "waiting"))

    assert await core.known_accounts("slack", "T1") == {"alice", "carol"}
    assert await core.known_accounts("slack", "T2") == {"dave"}
    assert await core.known_workspaces("slack") == {"T1", "T2"}


# Learning batches and erasures of the same people at the same moment.
TOPICS = [f"topic {i:03d}" for i in range(100)]
ROUNDS = 24


async def queued(core: Core, user: str, observation: Observation) -> str:
    """Queue ``user``'s observation for the core's learner as the intake does (its event
    claimed in the batch); returns the event id."""
    async with core.services.db.read() as session:
        who = await core.services.engine.find_person(session, PersonKey("test", "W1", user))
    assert who is not None
    event = message(person(user), "observed", surface=Surface.CHANNEL, mentioned=False)
    await core.services.learner.submit(
        Pending(event=event, person=who, claim=Claim("test", "W1", event.event_id),
                observation=observation)
    )
    return event.event_id


@ON_POSTGRES
async def test_learning_batches_and_erasures_of_the_same_people_at_once_never_deadlock(
    make_core: MakeCore, database_url: str, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Round after round, three people whose words a reader learned from are forgotten at
    once (``/forget confirm``, whose command writes its person's row before the erasure
    holds anyone): an author, another author, and a fan who reacted to the author and was
    reacted to. Meanwhile two processes' learning batches write the reader's interests —
    their own message about every topic, in an order of its own — one with the author's
    message and reactions to and from the author, the other with the fan's message and
    none of the authors'. They start as the erasures begin to hold people, a little later
    each round.

    Before: the first batch held the reader (in id order) and waited for the author the
    command had written, while the erasure waited for the reader, whom it held FOR NO KEY
    UPDATE (not the FOR KEY SHARE meant); once that was a key share, a batch's upsert and
    an erasure's take-back locked the reader's interest rows in opposite orders. PostgreSQL
    broke each deadlock after a second by aborting one: the batch failed and was retried
    item by item (dropped if alone), or the /forget ran again.

    Now nobody is aborted (nothing logged, no conflict run again), nobody forgotten leaves
    a row anywhere (their share of the reader's interests included), and the learning of
    those who stay is applied once: every event claimed once, and the reader's profile
    the control's, who learned the same except from the people forgotten."""
    caplog.set_level(logging.INFO)
    # Every command writes its person's last_seen_at, as one after a pause does.
    core = await make_core(settle=False, last_seen_resolution_seconds=0)
    worker = await make_core(settle=False, last_seen_resolution_seconds=0)  # another process
    reader, control = await consenting(core, "reader", "control")
    for who in (reader, control):  # the reader's interest rows, ids in topic order
        await learn(core, [said(who, dict.fromkeys(TOPICS, 1.0), T0)])
    own = dict.fromkeys(reversed(TOPICS), 1.0)  # what the batches write, last row first
    hold = lifecycle.hold_for_erasure
    batches: list[asyncio.Future[None]] = []  # this round's
    pause = {"seconds": 0.0}

    async def holding(session: AsyncSession, person_id: int) -> None:
        """The batches start as the first erasure begins to hold people."""
        if not batches:
            batches.extend(asyncio.ensure_future(c.services.learner.flush())
                           for c in (core, worker))
        await asyncio.sleep(pause["seconds"])
        await hold(session, person_id)

    monkeypatch.setattr(lifecycle, "hold_for_erasure", holding)
    forgotten: list[int] = []
    claims: list[str] = []
    for round_ in range(ROUNDS):
        at = T0 + (round_ + 1) * HOUR
        later = at + HOUR / 2
        users = (f"author{round_}", f"other{round_}", f"fan{round_}")
        author, _, fan = ids = await consenting(core, *users)
        forgotten += ids
        await learn(core, [
            *(reacted(reader, pid, dict.fromkeys(TOPICS, 1.0), at) for pid in ids),
            reacted(fan, author, {"topic 002": 1.0}, at),
            reacted(author, fan, {"topic 003": 1.0}, at),
        ])
        await queued(core, users[0], said(author, own, later))
        await queued(core, users[0], reacted(author, reader, {"topic 000": 1.0}, later))
        await queued(core, "reader", reacted(reader, author, {"topic 001": 1.0}, later))
        for pid, user in ((reader, "reader"), (control, "control")):
            claims.append(await queued(core, user, said(pid, own, later)))
        await queued(worker, users[2], said(fan, own, later))
        for pid, user in ((control, "control"), (reader, "reader")):  # the other way round
            claims.append(await queued(worker, user, said(pid, own, later)))
        batches.clear()
        pause["seconds"] = 0.0005 * (round_ % 8)  # the erasures a little later each round
        forgets = await asyncio.gather(
            *(core.handle(command(person(user), "forget", "confirm")) for user in users)
        )
        assert ["Done." in replies[0].text for replies in forgets] == [True] * 3
        await asyncio.gather(*batches)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "conflicted with another" not in caplog.text
    for pid in forgotten:
        assert set((await rows_about(core, pid)).values()) == {0}
    for claim in claims:
        assert await count(core, ProcessedEvent, event_id=claim) == 1
    await same_interests(core, reader, control)


class Stopped(BaseException):
    """The process stopping where it is (a kill, a crash): nothing of the core catches it."""


async def test_a_replayed_forget_stopped_before_its_commit_is_still_waiting(make_core):
    """A /forget kept in the outage journal is replayed; it removes its person's waiting
    events before its transaction commits, and the process stops right then. Before, its own
    entry went with the others: the person had asked to be forgotten, nothing was, and
    nothing would be. It is still waiting (the file read anew, as the next start reads it),
    and replayed once more it erases the person and leaves the journal empty."""
    core = await make_core()
    alice = person()
    await grant(core, alice)
    journal = core.services.journal
    journal.keep(message(alice, "my words, waiting too"))
    journal.keep(command(alice, "forget", "confirm"))
    real_forget = journal.forget

    def forget_then_stop(*args, **kwargs):
        real_forget(*args, **kwargs)
        raise Stopped

    journal.forget = forget_then_stop
    with pytest.raises(Stopped):
        await core.drain_backlog()
    reopened = Journal(journal.path)
    waiting = reopened.first()
    assert waiting is not None and isinstance(waiting.event, CommandEvent)
    assert waiting.event.name == "forget" and len(reopened) == 1  # their words went
    reopened.close()
    assert await person_id(core, alice) is not None  # its transaction never committed
    journal.forget = real_forget
    assert await core.drain_backlog() == 1
    assert await person_id(core, alice) is None
    assert core.backlog_size == 0
