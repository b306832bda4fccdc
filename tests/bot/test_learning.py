"""The write-behind learner (bot/learning.py): observed channel messages and reactions
elsewhere are learned in batches, exactly as the per-event rule learns, once per event id,
never about someone who revoked or was forgotten meanwhile, and never lost to a database
outage or a graceful stop. Real SQLite and PostgreSQL; cores built with ``settle=False`` so
``handle`` returns before the batch, as in production."""

import asyncio
import datetime as dt
import logging

import pytest
from sqlmodel import col, select

from bot.core import Core
from bot.digest import digests_for
from bot.events import Surface
from bot.learning import Pending
from bot.llm import ScriptedBackend
from profiles.db import Database
from profiles.engine import PersonKey
from profiles.ingest import Claim, Observation
from profiles.models import (
    ChannelActivity,
    Consent,
    ConsentStatus,
    Interest,
    Person,
    ProcessedEvent,
    Signal,
    StyleProfile,
)
from tests.bot.test_db_hang import BOUND, NEVER, holding_person
from tests.profiles.test_borrowed import T0, consenting, said
from tests.profiles.test_ingest import relabel, state
from tests.support.helpers import (
    command,
    count,
    forget_once_held,
    grant,
    message,
    person,
    person_id,
    reaction,
    replays_by_hand,
)
from tests.support.tcp_proxy import proxied_database

TEXTS = [
    "Comparing event sourcing and CQRS for our billing service",
    "The kubernetes operator for postgres replication finally works",
    "Anyone tried sourdough baking with rye flour this weekend?",
    "Event sourcing snapshots make replaying the billing stream fast",
]


def channel(who, text, **kw):
    return message(who, text, surface=Surface.CHANNEL, mentioned=False, **kw)


async def test_batched_channel_learning_equals_the_per_event_rule(make_core):
    core = await make_core(settle=False, last_seen_resolution_seconds=0)
    digests_for(core.services)  # the digest feature observes channel activity in the same batch
    batched, single = person("bat"), person("one")
    for who in (batched, single):
        await grant(core, who)
    pid_b, pid_s = await person_id(core, batched), await person_id(core, single)
    async with core.services.db.session() as session:
        seen_before = (await session.get(Person, pid_b)).last_seen_at
    events = [channel(batched, text) for text in TEXTS]
    for event in events:
        assert await core.handle(event) == []
    await core.services.learner.flush()
    for event in events:  # the per-event path, one transaction per message
        signals = await core.services.extract(event.text, names=event.mentioned_names)
        async with core.services.db.session() as session:
            await core.services.engine.observe_message(
                session, pid_s, signals, at=event.occurred_at, local_hour=event.occurred_at.hour,
                event_id=event.event_id, excerpt=event.text,
            )
    got = await state(core, {pid_b})
    expected = relabel(await state(core, {pid_s}), {pid_s: pid_b})
    assert got[0] and got[0] == expected[0]  # interests
    assert got[1] == expected[1]  # habits
    assert got[2] == expected[2]  # style
    assert got[3] == expected[3]  # evidence rows
    for event in events:
        assert await count(core, ProcessedEvent, event_id=event.event_id) == 1
    assert await count(core, ChannelActivity, person_id=pid_b) > 0  # digest activity
    async with core.services.db.session() as session:
        seen = (await session.get(Person, pid_b)).last_seen_at
    assert seen > seen_before  # last_seen_at, batched too


async def test_a_command_right_after_a_message_shows_what_it_taught(make_core):
    """A message addressed to the bot is learned in the batch after its reply; /profile and
    /export sent before that batch ran still show it (the command settles that person's
    waiting learning first), while another person's command does not hurry the batch."""
    core = await make_core(settle=False)
    alice, bob = person("alice"), person("bob")
    for who in (alice, bob):
        await grant(core, who)
    core.services.learner.queue.max_delay = 3600.0  # the batch waits unless hurried
    replies = await core.handle(message(alice, "Rust async programming and distributed systems"))
    assert replies[0].purpose == "chat"
    await core.handle(command(bob, "help"))
    pid = await person_id(core, alice)
    assert await count(core, Interest, person_id=pid) == 0  # bob's command did not hurry it
    shown = await core.handle(command(alice, "profile"))
    assert "distributed system" in shown[0].text
    assert await count(core, Interest, person_id=pid) > 0


async def test_a_command_right_after_a_channel_message_shows_what_it_taught(make_core):
    """An observed channel message goes through the intake's batch before the learner's:
    /profile sent while it waited there showed nothing of it (the command settled only what
    waited in the learner). Another person's command still hurries nothing."""
    core = await make_core(settle=False)
    alice, bob = person("alice"), person("bob")
    for who in (alice, bob):
        await grant(core, who)
    core.chat.intake.queue.max_delay = 3600.0  # neither batch runs unless hurried
    core.services.learner.queue.max_delay = 3600.0
    await core.handle(channel(alice, "Kubernetes operators for postgres replication"))
    await core.handle(command(bob, "help"))
    pid = await person_id(core, alice)
    assert await count(core, Interest, person_id=pid) == 0  # bob's command did not hurry it
    shown = await core.handle(command(alice, "profile"))
    assert "kubernetes" in shown[0].text.lower()
    assert await count(core, Interest, person_id=pid) > 0


async def test_setting_a_preference_does_not_wait_for_learning_it_never_shows(make_core):
    """/prefs set stores what the person says and shows nothing their messages teach: it
    no longer hurries (and waits for) their waiting learning, which at maximum ingest was a
    learning backlog of 150-330 ms; /prefs show still does."""
    core = await make_core(settle=False)
    alice = person("alice")
    await grant(core, alice)
    core.chat.intake.queue.max_delay = 3600.0  # the batch runs only if hurried
    core.services.learner.queue.max_delay = 3600.0
    await core.handle(channel(alice, "Kubernetes operators for postgres replication"))
    key = ("test", alice.workspace, alice.user_id)
    saved = await core.handle(command(alice, "prefs", "set tone casual"))
    assert "casual" in saved[0].text
    assert core.chat.intake.waiting(key)  # not hurried: still waiting for its batch
    shown = await core.handle(command(alice, "prefs", "show"))
    assert "casual" in shown[0].text
    assert not core.chat.intake.waiting(key)
    assert await count(core, Interest, person_id=await person_id(core, alice)) > 0


async def test_a_retried_event_is_learned_once_within_and_across_batches(make_core):
    core = await make_core(settle=False)
    alice = person()
    await grant(core, alice)
    first = channel(alice, TEXTS[0], event_id="ev-retried")
    await core.handle(first)
    await core.handle(channel(alice, TEXTS[0], event_id="ev-retried"))  # same batch
    await core.services.learner.flush()
    await core.handle(channel(alice, TEXTS[0], event_id="ev-retried"))  # a later batch
    await core.services.learner.flush()
    pid = await person_id(core, alice)
    async with core.services.db.session() as session:
        style = await session.get(StyleProfile, pid)
        interests = (await session.exec(select(Interest).where(Interest.person_id == pid))).all()
    assert style is not None and style.messages_seen == 1
    assert interests and all(i.evidence_count == 1 for i in interests)
    assert await count(core, ProcessedEvent, event_id="ev-retried") == 1
    assert await count(core, Signal, person_id=pid, kind="style") == 1


async def test_reactions_elsewhere_are_batched_and_counted_once(make_core):
    core = await make_core(settle=False)
    alice = person()
    await grant(core, alice)
    text = "Kubernetes operators for postgres replication"
    again = reaction(alice, "m-9", event_id="re-1", target_text=text, target_author="alice")
    for _ in range(2):
        await core.handle(again)
    await core.services.learner.flush()
    pid = await person_id(core, alice)
    kinds = await count(core, Signal, person_id=pid, kind="reaction")
    assert kinds > 0
    await core.handle(again)
    await core.services.learner.flush()
    assert await count(core, Signal, person_id=pid, kind="reaction") == kinds


STAGES = pytest.mark.parametrize("stage", ["intake", "learner"])


async def _queued(core: Core, event, stage: str = "intake") -> None:
    """Handle ``event`` with the learner gathering for a long time: it stays queued until a
    flush (no timing luck involved): in the intake, which resolves it, then in the learner."""
    core.services.learner.queue.max_delay = 3600.0
    core.chat.intake.queue.max_delay = 3600.0
    assert await core.handle(event) == []
    if stage == "learner":  # resolved by the intake, waiting in the learner's queue
        await core.chat.intake.flush()
        learner = core.services.learner.queue
        assert learner.pending >= 1 or (learner._task is not None and not learner._task.done())


@STAGES
async def test_forget_while_queued_leaves_no_row(make_core, stage):
    core = await make_core(settle=False)
    alice, bob = person("alice"), person("bob")
    for who in (alice, bob):
        await grant(core, who)
    pid = await person_id(core, alice)
    await _queued(core, channel(alice, TEXTS[0], event_id="ev-forgotten"), stage)
    await _queued(core, channel(bob, TEXTS[1], event_id="ev-kept"), stage)
    replies = await core.handle(command(alice, "forget", "confirm"))
    assert replies
    await core.services.learner.flush()
    for model in (Signal, Interest, StyleProfile, ChannelActivity, ProcessedEvent):
        assert await count(core, model, person_id=pid) == 0
    assert await count(core, ProcessedEvent, event_id="ev-forgotten") == 0
    assert await person_id(core, alice) is None
    assert await count(core, ProcessedEvent, event_id="ev-kept") == 1  # others still learn


@STAGES
async def test_forgotten_by_another_worker_while_queued_leaves_no_row(make_core, stage):
    """Two workers on one database: the person's observation waits in one worker's queue
    while another worker runs their /forget (it cannot reach the first worker's memory).
    The waiting batch finds them gone — the intake's read, or the learner's re-check — and
    writes nothing about them."""
    here, there = await make_core(settle=False), await make_core(settle=False)
    alice, bob = person("alice"), person("bob")
    for who in (alice, bob):
        await grant(here, who)
    await _queued(here, channel(alice, TEXTS[0], event_id="ev-gone"), stage)
    await _queued(here, channel(bob, TEXTS[1], event_id="ev-stays"), stage)
    assert await there.handle(command(alice, "forget", "confirm"))
    await here.services.learner.flush()
    assert await person_id(here, alice) is None
    assert await count(here, ProcessedEvent, event_id="ev-gone") == 0
    assert await count(here, Signal, event_id="ev-gone") == 0
    assert await count(here, ProcessedEvent, event_id="ev-stays") == 1  # others still learn


@STAGES
@pytest.mark.parametrize("change", ["forget", "revoke"])
async def test_a_reaction_to_an_author_who_left_while_queued_teaches_nothing(
    make_core, stage, change
):
    """The reacted-to text is its author's words: decided while Carol allowed learning, the
    reaction waits in a queue while another worker runs her /forget (or she revokes). The
    learner's batch rechecks her with its own people, under the same lock: nothing of her
    message reaches Alice's profile, and the batch's other events are still learned (a
    signal naming a forgotten author would have failed the whole batch on its foreign key)."""
    here, there = await make_core(settle=False), await make_core(settle=False)
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    for who in (alice, bob, carol):
        await grant(here, who)
    await _queued(here, reaction(
        alice, "m-carol", "🔥", event_id="re-carol", target_author="carol",
        target_text="Glorbnitzel hyperdrive maintenance matters",
    ), stage)
    await _queued(here, channel(bob, TEXTS[1], event_id="ev-stays"), stage)
    if change == "forget":
        assert await there.handle(command(carol, "forget", "confirm"))
    else:
        assert await there.handle(command(carol, "consent", "revoke"))
    await here.services.learner.flush()
    alice_id = await person_id(here, alice)
    assert await count(here, Signal, person_id=alice_id) == 0
    assert await count(here, Interest, person_id=alice_id) == 0
    assert await count(here, ProcessedEvent, event_id="re-carol") == 0
    assert await count(here, ProcessedEvent, event_id="ev-stays") == 1  # others still learn


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_forget_while_a_batch_of_theirs_is_written_waits_for_it(
    make_core, database_url, caplog
):
    """PostgreSQL only (SQLite's one writer serialises the two). A batch with the person's
    message has share-locked them and not yet written when their /forget starts. The
    forget used to delete their interests, wait for the batch's lock on their consent, and
    the batch then waited to upsert one of those interests: a deadlock, and PostgreSQL
    aborted the forget. Now the forget waits for the batch before deleting anything, then
    deletes what the batch wrote too; nothing fails or is logged as an error."""
    caplog.set_level(logging.WARNING)
    core = await make_core(settle=False)
    alice, bob = person("alice"), person("bob")
    for who in (alice, bob):
        await grant(core, who)
    await _queued(core, channel(alice, TEXTS[2], event_id="ev-earlier"))
    await core.services.learner.flush()
    pid = await person_id(core, alice)
    assert await count(core, Interest, person_id=pid) > 0  # rows the forget must delete
    learner = core.services.learner
    still_learning = learner._still_learning
    locked, written = asyncio.Event(), asyncio.Event()

    async def paused(session, person_ids, **kw):  # the batch's people locked, then a pause
        allowed = await still_learning(session, person_ids, **kw)
        locked.set()
        await written.wait()
        return allowed

    learner._still_learning = paused  # type: ignore[method-assign]
    await _queued(core, channel(alice, TEXTS[0], event_id="ev-in-flight"))
    await _queued(core, channel(bob, TEXTS[1], event_id="ev-bob"))
    batch = asyncio.ensure_future(learner.flush())
    forget = await forget_once_held(core, core, alice, locked, written)

    replies = await forget
    await batch
    assert [reply.purpose for reply in replies] == ["command"]
    assert "Done." in replies[0].text
    assert await person_id(core, alice) is None
    for model in (Signal, Interest, StyleProfile, ProcessedEvent):
        assert await count(core, model, person_id=pid) == 0
    assert await count(core, ProcessedEvent, event_id="ev-bob") == 1  # the batch committed
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("opted_out_by", ["deployment", "workspace"])
async def test_a_reaction_to_an_author_with_no_consent_row_is_learned_where_opt_out_allows(
    make_core, opted_out_by
):
    """An author the bot has a row for but who never met the consent gate has no consent
    row: in an opt-out workspace (the deployment's mode, or an admin's where the operator
    allows it) the reaction's decision allows learning from their words, and the batch's
    recheck must too (it read consent by an inner join, and dropped them: review)."""
    from profiles.workspace_defaults import CONSENT_KEY, OPT_OUT, set_default

    opt_out = opted_out_by == "deployment"
    core = await make_core(
        settle=False,
        consent_mode="opt_out" if opt_out else "opt_in",
        workspace_opt_out_allowed=not opt_out,
    )
    alice = person("alice")
    await grant(core, alice)
    async with core.services.db.session() as session:
        carol = await core.services.engine.person(session, PersonKey("test", "W1", "carol"))
        if not opt_out:
            await set_default(session, "test", "W1", CONSENT_KEY, OPT_OUT, core.services.clock())
    async with core.services.db.session() as session:
        assert await session.get(Consent, carol.id) is None
    await core.handle(
        reaction(
            alice,
            "m-carol",
            "🔥",
            event_id="re-carol",
            target_author="carol",
            target_text="Glorbnitzel hyperdrive maintenance matters",
        )
    )
    await core.services.learner.flush()
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid, source_person_id=carol.id) > 0
    assert await count(core, ProcessedEvent, event_id="re-carol") == 1


@STAGES
async def test_a_workspace_switched_to_opt_in_while_queued_stops_unanswered_learning(
    make_core, stage
):
    """An unanswered consent allows learning only while the workspace learns unless told
    otherwise: the batch re-checks by the consent gate's own rule, the workspace's mode too."""
    from profiles.workspace_defaults import CONSENT_KEY, OPT_IN, set_default

    core = await make_core(settle=False, consent_mode="opt_out")
    alice = person()
    await core.handle(message(alice, TEXTS[0]))  # never answers the consent notice
    await core.services.learner.flush()
    await _queued(core, channel(alice, TEXTS[1], event_id="ev-opt-in"), stage)
    async with core.services.db.session() as session:  # an admin, in another process
        await set_default(session, "test", "W1", CONSENT_KEY, OPT_IN, core.services.clock())
    await core.services.learner.flush()
    assert await count(core, ProcessedEvent, event_id="ev-opt-in") == 0
    assert await count(core, Signal, event_id="ev-opt-in") == 0


@STAGES
async def test_revocation_while_queued_stops_the_learning(make_core, stage):
    core = await make_core(settle=False)
    alice = person()
    await grant(core, alice)
    pid = await person_id(core, alice)
    await _queued(core, channel(alice, TEXTS[1], event_id="ev-revoked"), stage)
    async with core.services.db.session() as session:  # revoked by another process
        await core.services.engine.set_consent(
            session, pid, ConsentStatus.REVOKED, core.services.clock()
        )
    await core.services.learner.flush()
    assert await count(core, Signal, person_id=pid) == 0
    assert await count(core, Interest, person_id=pid) == 0
    assert await count(core, ProcessedEvent, event_id="ev-revoked") == 0


async def test_graceful_close_flushes_the_queue_and_stops_the_task(make_core):
    core = await make_core(settle=False)
    alice = person()
    await grant(core, alice)
    learner, intake = core.services.learner, core.chat.intake
    assert learner.queue._task is None  # nothing started until there is something to learn
    assert intake.queue._task is None
    await _queued(core, channel(alice, TEXTS[2], event_id="ev-closing"))
    waiting = [learner.queue, intake.queue]
    assert sum(q.pending + (q._task is not None) for q in waiting) >= 1
    await core.aclose()
    assert learner.queue._task is None and intake.queue._task is None
    assert await count(core, ProcessedEvent, event_id="ev-closing") == 1
    assert await count(core, Signal, person_id=await person_id(core, alice)) > 0


@pytest.mark.postgres
async def test_database_away_mid_batch_journals_the_events_and_they_are_learned_once(
    postgres_database, settings_for
):
    proxy, proxied = await proxied_database(postgres_database)
    core = Core(settings_for(proxied), Database(proxied), ScriptedBackend())
    replays_by_hand(core)
    learner = core.services.learner
    alice = person()
    try:
        await grant(core, alice)
        pid = await person_id(core, alice)
        async with core.services.db.session() as session:
            who = await core.services.engine.find_person(session, PersonKey("test", "W1", "alice"))
        events = [channel(alice, text) for text in TEXTS[:2]]
        await proxy.stop()  # the database goes away with two observations accepted
        for event in events:
            signals = await core.services.extract(event.text)
            await learner.submit(
                Pending(
                    event=event,
                    person=who,
                    claim=Claim("test", "W1", event.event_id),
                    observation=Observation.of_message(
                        pid, signals, at=event.occurred_at, local_hour=event.occurred_at.hour,
                        event_id=event.event_id, excerpt=event.text,
                    ),
                    seen_at=event.occurred_at,
                    signals=signals,
                )
            )
        await learner.flush()
        assert core.backlog_size == 2  # handed to the durable journal, not lost, not spinning
        await proxy.start()  # ... and comes back
        assert await core.drain_backlog() == 2
        await learner.flush()
        assert core.backlog_size == 0
        assert await core.drain_backlog() == 0  # nothing replays twice
        for event in events:
            assert await count(core, ProcessedEvent, event_id=event.event_id) == 1
        assert await count(core, Signal, person_id=pid, kind="style") == 2
        async with core.services.db.session() as session:
            style = await session.get(StyleProfile, pid)
        assert style is not None and style.messages_seen == 2
    finally:
        await core.aclose()
        await core.services.db.dispose()
        await proxy.stop()


@pytest.mark.postgres
async def test_database_away_when_the_intake_reads_journals_the_messages(
    postgres_database, settings_for
):
    """The intake's read (who sent these, do they allow learning) finds the database away:
    the observed messages wait in the outage journal and are learned once it is back."""
    proxy, proxied = await proxied_database(postgres_database)
    core = Core(settings_for(proxied), Database(proxied), ScriptedBackend())
    replays_by_hand(core)
    alice = person()
    try:
        await grant(core, alice)
        pid = await person_id(core, alice)
        events = [channel(alice, text) for text in TEXTS[:2]]
        await proxy.stop()
        for event in events:
            assert await core.handle(event) == []
        await core.services.learner.flush()
        assert core.backlog_size == 2
        await proxy.start()
        assert await core.drain_backlog() == 2
        await core.services.learner.flush()
        assert core.backlog_size == 0
        for event in events:
            assert await count(core, ProcessedEvent, event_id=event.event_id) == 1
        assert await count(core, Signal, person_id=pid, kind="style") == 2
    finally:
        await core.aclose()
        await core.services.db.dispose()


@pytest.mark.postgres
async def test_a_batch_cut_busy_by_one_persons_held_row_learns_everyone_elses(
    postgres_database, settings_for
):
    """Alice's row is held (a /forget's transaction, an operator's) while a batch with her
    message and Bob's is written: the lock cut it as busy. Before, the whole batch went to
    the outage journal as if the database were away, Bob's learning with it, and each replay
    brought it back into a batch with hers. Now the batch is applied again person by person:
    Bob's is learned at once, only Alice's waits in the journal, kept busy (it holds back
    nobody else: Bob is answered), and is learned once her row is free."""
    core = Core(
        settings_for(postgres_database, database_timeout_seconds=BOUND),
        Database(postgres_database, timeout=BOUND), ScriptedBackend(),
    )
    replays_by_hand(core)
    learner = core.services.learner
    learner.queue.max_delay = 3600.0  # one batch, written when the test flushes
    alice, bob = person("alice"), person("bob")
    try:
        for who in (alice, bob):
            await grant(core, who)
        pid = await person_id(core, alice)
        hers, his = channel(alice, TEXTS[0]), channel(bob, TEXTS[1])
        async with holding_person(core.services.db, pid, asyncio.Event()):
            for event in (hers, his):
                assert await core.handle(event) == []
            await asyncio.wait_for(learner.flush(), NEVER)
            assert await count(core, ProcessedEvent, event_id=his.event_id) == 1
            waiting = core.services.journal.first()
            assert core.backlog_size == 1 and waiting is not None
            assert waiting.event == hers and waiting.busy
            asked = message(bob, "and what about vacuum tuning?")
            assert [r.purpose for r in await core.handle(asked)] == ["chat"]
        assert await core.drain_backlog() == 1
        await learner.flush()
        assert core.backlog_size == 0
        assert await count(core, ProcessedEvent, event_id=hers.event_id) == 1
    finally:
        await core.aclose()
        await core.services.db.dispose()


async def test_a_batch_that_prunes_interests_learns_everything(make_core, monkeypatch):
    """A batch that crosses a person's pruning point reads and deletes their weakest
    interests in its own transaction (on SQLite, all of it in one call to the worker thread,
    where it may await nothing but its statements): the messages are all learned, the
    profile is cut to its cap, nothing is dropped."""
    import profiles.ingest

    monkeypatch.setattr(profiles.ingest, "PRUNE_EVERY", 2)
    core = await make_core(settle=False)
    core.services.engine.max_interests = 3
    who = person("pruned")
    await grant(core, who)
    events = [channel(who, text) for text in TEXTS]
    for event in events:
        assert await core.handle(event) == []
    await core.services.learner.flush()
    pid = await person_id(core, who)
    assert await count(core, Interest, person_id=pid) == 3  # cut to the cap
    for event in events:  # every message was learned (claimed in the batch that learned it)
        assert await count(core, ProcessedEvent, event_id=event.event_id) == 1
    assert core.services.learner.lost == 0


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_workers_batches_that_write_the_same_peoples_last_seen_never_deadlock(
    make_core, database_url, caplog
):
    """Two processes' learners apply, at the same moment, batches of observed messages by
    the same people, so both write each person's ``last_seen_at``. Before: each batch held
    its people ``FOR SHARE`` and then updated their rows, each waiting for the other's
    share: a deadlock in nearly every round, PostgreSQL aborting one batch (which was then
    split, an item aborted again dropped). Now the batches hold the people they write
    ``FOR NO KEY UPDATE`` in id order and one waits for the other: no conflict at all, every
    event learned once, and everyone's ``last_seen_at`` the latest message's."""
    caplog.set_level(logging.INFO)
    core = await make_core(settle=False, last_seen_resolution_seconds=0)
    worker = await make_core(settle=False, last_seen_resolution_seconds=0)  # another process
    users = [f"seen{i:02d}" for i in range(30)]
    ids = await consenting(core, *users)
    async with core.services.db.read() as session:
        found = [
            await core.services.engine.find_person(session, PersonKey("test", "W1", user))
            for user in users
        ]
    # after the last_seen_at their rows were created with (never moved back in time)
    start = max(T0, *(who.last_seen_at for who in found if who and who.last_seen_at))
    rounds = 10
    for round_ in range(rounds):
        at = start + dt.timedelta(hours=round_ + 1)
        for n, learner in enumerate((core.services.learner, worker.services.learner)):
            seen = at + dt.timedelta(minutes=n)
            order = list(zip(users, ids, found, strict=True))
            for user, pid, who in order if n == 0 else order[::-1]:
                assert who is not None
                event = channel(person(user), "observed")
                await learner.submit(Pending(
                    event=event, person=who, claim=Claim("test", "W1", event.event_id),
                    observation=said(pid, {"jazz": 1.0}, seen), seen_at=seen,
                ))
        await asyncio.gather(core.services.learner.flush(), worker.services.learner.flush())

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "conflicted with another" not in caplog.text
    learned = 2 * rounds * len(users)
    assert core.services.learner.queue.applied + worker.services.learner.queue.applied == (
        learned
    )
    assert await count(core, ProcessedEvent) == learned
    latest = start + dt.timedelta(hours=rounds, minutes=1)
    async with core.services.db.read() as session:
        rows = (await session.exec(
            select(Person.last_seen_at, Interest.evidence_count)
            .join(Interest, col(Interest.person_id) == Person.id)
            .where(col(Person.id).in_(ids))
        )).all()
    assert sorted(rows) == [(latest, 2 * rounds)] * len(users)


@pytest.mark.parametrize("setting", [None, 5])
async def test_a_learning_batch_holds_at_most_its_limit(make_core, setting):
    """On SQLite a learning batch holds the one writer that every reply's claim and record
    wait for, so by default it takes at most 32 events (a batch of ~90 held it ~30 ms at
    maximum ingest); on PostgreSQL, with no such writer, up to 500 (fewer round trips).
    ``learning_batch_max`` overrides both. Everything is learned either way."""
    core = await make_core(settle=False, learning_batch_max=setting)
    queue = core.services.learner.queue
    queue.max_delay = 3600.0  # a batch closes when full or flushed, not by time
    sizes: list[int] = []
    apply = queue._apply_batch

    async def counted(session, items):
        sizes.append(len(items))
        return await apply(session, items)

    queue._apply_batch = counted
    who = person("batched")
    await grant(core, who)
    events = [channel(who, f"{TEXTS[i % len(TEXTS)]} #{i}") for i in range(80)]
    for event in events:
        await core.handle(event)
    await core.services.learner.flush()
    assert sum(sizes) == 80, sizes
    limit = setting or (32 if core.services.db.sqlite else 500)
    assert max(sizes) == min(limit, 80), sizes
    for event in events:
        assert await count(core, ProcessedEvent, event_id=event.event_id) == 1
