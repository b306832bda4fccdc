"""What one answered message costs the database, and that reading less never serves a stale
answer (issue 16).

The count: SQL statements one DM and one channel mention send, the model excluded, for a
person who allows learning and has a profile, from their second message on (first contact
creates rows), on the real engine of both databases. Transaction control is listed but not
counted against the goal of 8 (PostgreSQL's driver begins implicitly; SQLite's ``BEGIN`` goes
to the driver directly and is not seen here). The learning writes (signal, interest, trait
and style rows) are not the reply's: the learner's batch sends them after it, with other
events (bot/learning.py).

The freshness: consent, workspace consent mode, preferences and forgetting changed by
another core on the same database (another worker) are obeyed by the very next message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlmodel import select

from bot.core import Core
from bot.events import CommandEvent, MessageEvent, PlatformContext, ReactionEvent, Surface
from bot.llm import ScriptedBackend
from profiles.db import Database
from profiles.models import ConversationTurn, Interest, Person, ProcessedEvent, Signal
from tests.conftest import MakeCore
from tests.support.helpers import (
    command,
    count,
    grant,
    message,
    next_id,
    person,
    person_id,
    reaction,
)
from tests.support.sqlite_trace import LOOP, Traced
from tests.support.statements import statements_sent

TEXT = "I'm learning Rust async programming and reading about distributed systems"
GOAL = 8
# A learning write, alone or as a part of the batch's one statement (profiles/write_queue.py)
LEARNING_WRITE = re.compile(r"\bINSERT INTO (signal|interest|trait|style_profile)\b")
TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b")


@contextmanager
def statements(core: Core) -> Iterator[list[str]]:
    """The start of every statement sent to the database while the block runs (whitespace
    folded, 110 characters), filled in when the block ends."""
    folded: list[str] = []
    with statements_sent(core.services.db) as sent:
        try:
            yield folded
        finally:
            folded.extend(" ".join(statement.split())[:110] for statement in sent)


def reply_path(seen: list[str]) -> list[str]:
    return [s for s in seen if not LEARNING_WRITE.search(s) and not TRANSACTION.match(s)]


async def answered(core: Core, ev: MessageEvent) -> list[str]:
    with statements(core) as seen:
        replies = await core.handle(ev)
    assert replies and replies[0].purpose == "chat"
    return seen


async def test_an_answer_costs_at_most_eight_statements(
    make_core: MakeCore, database_url: str
) -> None:
    core = await make_core(settle=False)
    alice = person("alice")
    await grant(core, alice)
    await core.handle(message(alice, TEXT))  # first contact done: the profile exists
    await core.handle(message(alice, TEXT, surface=Surface.CHANNEL, mentioned=True))
    await core.services.learner.flush()
    core.services.learner.queue.max_delay = 3600.0  # the batch waits for the flush below
    dm = await answered(core, message(alice, "tell me more about tokio please"))
    mention = await answered(
        core, message(alice, "and what about zig?", surface=Surface.CHANNEL, mentioned=True)
    )
    for name, seen in (("DM", dm), ("mention", mention)):
        counted = [s for s in seen if not TRANSACTION.match(s)]
        print(f"\n{database_url.split(':')[0]} {name}: {len(counted)} counted, "
              f"{len(seen)} sent\n  " + "\n  ".join(seen))
        assert len(counted) <= GOAL, "\n".join(counted)
        # deduped: the claim, alone or with the sender's read (PostgreSQL)
        assert any("INSERT INTO processed_event" in s for s in counted)
        assert not [s for s in seen if LEARNING_WRITE.search(s)]
    with statements_sent(core.services.db) as batch:
        await core.services.learner.flush()
    learned = {table for s in batch for table in LEARNING_WRITE.findall(" ".join(s.split()))}
    assert learned == {"signal", "interest", "trait", "style_profile"}, batch


async def test_on_sqlite_a_reply_s_reads_begin_no_transaction(
    sqlite_url: str, settings_for: Any
) -> None:
    """SQLite, a steady sender: their rows are read and the message claimed in one quick
    transaction straight on the driver; then the profile is read in one statement straight
    on the driver, in no transaction — not a read transaction of its own held open while the
    assembly worked (at maximum ingest SQLite answered ~a fifth more without it:
    docs/measurement.md) — then the record. All on the event loop's thread. Fails if the
    profile is read through a session again. A preview reads as the reply does, the sender
    in no transaction either."""
    core = Core(settings_for(sqlite_url), Database(sqlite_url), ScriptedBackend())
    try:
        alice = person("alice")
        await grant(core, alice)
        await core.handle(message(alice, TEXT))  # first contact done: the profile exists
        await core.services.learner.flush()
        core.services.learner.queue.max_delay = 3600.0  # the batch waits: not traced below
        traced = Traced(core.services.db, words=3)
        await core.services.db.dispose()  # connections opened from here on are traced
        await core.handle(message(alice, "tell me more about tokio please"))
        replied = traced.take()
        await core.preview_request(message(alice, "and about zig?"))  # reads as a reply does
        previewed = [statement for statement, where in traced.take()
                     if where == LOOP and not statement.startswith("PRAGMA")]
    finally:
        await core.aclose()
        await core.services.db.dispose()
    assert previewed == [
        "SELECT person.id, person.platform,",
        "SELECT style_profile.person_id, style_profile.messages_seen,",
    ], "\n".join(previewed)
    # (the workspace's background figures, refreshed in the worker thread meanwhile, are
    # not the reply's)
    on_loop = [statement for statement, where in replied
               if where == LOOP and not statement.startswith("PRAGMA")]
    assert on_loop == [
        "BEGIN IMMEDIATE", "SELECT person.id, person.platform,", "INSERT INTO processed_event",
        "COMMIT",
        "SELECT style_profile.person_id, style_profile.messages_seen,",  # no BEGIN around it
        "BEGIN IMMEDIATE", "INSERT INTO llm_call", "INSERT INTO conversation_turn", "COMMIT",
    ], "\n".join(on_loop)


def claim_transaction(transactions: list[list[str]]) -> list[str]:
    """The statements of the transaction that claimed the message (``Traced.take_transactions``)."""
    return next(
        sent for sent in transactions
        if any(s.startswith("INSERT INTO processed_event") for s in sent)
    )


async def test_on_sqlite_a_steady_sender_is_claimed_on_the_driver_with_what_is_due(
    sqlite_url: str, settings_for: Any
) -> None:
    """SQLite: a steady sender's rows are read and the message claimed in one transaction
    straight on the driver, with their new display name or last-seen mark when due (one
    ``UPDATE``). A timezone the platform reports for the first time is written by the claim's
    session transaction, as before. A retried event is still a duplicate."""
    now = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)]
    core = Core(
        settings_for(sqlite_url, last_seen_resolution_seconds=300), Database(sqlite_url),
        ScriptedBackend(),
    )
    core.services.clock = lambda: now[0]
    on_driver = ["SELECT person.id, person.platform,", "INSERT INTO processed_event"]
    with_update = [on_driver[0], "UPDATE person SET", on_driver[1]]
    try:
        alice = person("alice")
        await grant(core, alice)
        await core.handle(message(alice, TEXT))
        traced = Traced(core.services.db, words=3)
        await core.services.db.dispose()  # connections opened from here on are traced
        steady = message(alice, "tell me more about tokio please")
        await core.handle(steady)
        assert claim_transaction(traced.take_transactions()) == on_driver
        assert await core.handle(steady) == []  # the platform's retry
        assert await count(core, ProcessedEvent, event_id=steady.event_id) == 1
        traced.take()

        renamed = dataclasses.replace(alice, display_name="Alice B.")
        await core.handle(message(renamed, "and about zig?"))
        assert claim_transaction(traced.take_transactions()) == with_update
        now[0] += dt.timedelta(seconds=300)
        await core.handle(message(renamed, "and ocaml?"))
        assert claim_transaction(traced.take_transactions()) == with_update
        await core.handle(message(renamed, "and forth?"))
        assert claim_transaction(traced.take_transactions()) == on_driver
        await core.handle(
            message(renamed, "and lisp?", context=PlatformContext(timezone="Asia/Tokyo"))
        )
        sent = traced.take_transactions()
        assert "INSERT INTO preference" in claim_transaction(sent)
        # the attempt on the driver found more to write, and wrote nothing
        attempts = [statements for statements in sent if statements[:1] == [on_driver[0]]]
        assert attempts[0] == [on_driver[0]]

        async with core.services.db.session() as session:
            stored = (await session.exec(select(Person).where(Person.user_id == "alice"))).one()
        assert stored.display_name == "Alice B."
        assert stored.last_seen_at.replace(tzinfo=dt.UTC) == now[0]
        assert "Asia/Tokyo" in core.services.llm.requests[-1].system  # type: ignore[attr-defined]
    finally:
        await core.aclose()
        await core.services.db.dispose()


async def observed_batch(
    core: Core, messages: Sequence[MessageEvent | ReactionEvent]
) -> tuple[list[str], list[str]]:
    """(statements the handlers sent, statements their batches sent) for channel messages
    not addressed to the bot (or reactions elsewhere), all gathered into one intake batch
    and one learner batch."""
    core.services.learner.queue.max_delay = 3600.0  # the batches wait for the flush below
    core.chat.intake.queue.max_delay = 3600.0
    with statements(core) as seen:
        for observed in messages:
            assert await core.handle(observed) == []
    with statements(core) as batch:
        await core.services.learner.flush()
    return seen, batch


async def test_an_observed_channel_message_costs_its_handler_no_statement(
    make_core: MakeCore, database_url: str
) -> None:
    """Not answered, only learned from: the handler queues it and sends nothing. The intake's
    batch reads senders (with consent and preference rows) and channel policies in two
    statements of a read-only transaction (bot/pipeline/intake.py); the learner's batch
    re-checks consent once and writes the claims, last_seen_at and learning (bot/learning.py)."""
    core = await make_core(settle=False)
    alice = person("alice")
    await grant(core, alice)
    await core.handle(message(alice, TEXT, surface=Surface.CHANNEL))
    await core.services.learner.flush()
    observed = message(alice, "sourdough bread baking in a dutch oven", surface=Surface.CHANNEL)
    seen, batch = await observed_batch(core, [observed])
    print(f"\n{database_url.split(':')[0]} channel: " + "\n  ".join(seen)
          + "\n batch: " + "\n  ".join(batch))
    assert seen == []
    # senders, channel policies | consent re-check, claim, last_seen_at
    assert len(reply_path(batch)) <= 5, "\n".join(reply_path(batch))
    assert any(s.startswith("INSERT INTO processed_event") for s in batch)  # deduped
    assert await count(core, Signal, event_id=observed.event_id) > 0  # it did learn


async def test_many_observed_messages_cost_the_statements_of_one(
    make_core: MakeCore, database_url: str
) -> None:
    """Set-based: nine messages from three people in three channels send no more statements
    than one message does (a per-message read would add one or more per message)."""
    core = await make_core(settle=False)
    people = [person(name) for name in ("alice", "bob", "carol")]
    for who in people:
        await grant(core, who)
        await core.handle(message(who, TEXT, surface=Surface.CHANNEL))
    await core.services.learner.flush()
    _, one = await observed_batch(
        core, [message(people[0], "sourdough bread baking", surface=Surface.CHANNEL)]
    )
    many = [
        message(who, f"sourdough bread baking, round {n}", surface=Surface.CHANNEL,
                channel_id=f"C{n}")
        for n in range(3) for who in people
    ]
    seen, batch = await observed_batch(core, many)
    assert seen == []
    assert len(reply_path(batch)) <= len(reply_path(one)), "\n".join(reply_path(batch))
    for observed in many:
        assert await count(core, Signal, event_id=observed.event_id) > 0


async def test_reactions_elsewhere_cost_their_handlers_nothing_and_batch_like_one(
    make_core: MakeCore,
) -> None:
    """A reaction to someone else's message waits in the intake like an observed message:
    its handler sends nothing; the batch reads senders, channel policies and which targets
    are the bot's replies (three statements for any number of reactions) in a read-only
    transaction — on SQLite a plain BEGIN, never the writer's BEGIN IMMEDIATE — and the
    learner's batch writes. Feedback on the bot's own reply is written at once
    (tests/bot/test_profile_learning.py)."""
    core = await make_core(settle=False)
    people = [person(name) for name in ("alice", "bob", "carol")]
    for who in people:
        await grant(core, who)
    text = "rust async runtimes compared"
    one = [reaction(people[0], "m-0", "🔥", target_text=text, target_author="bob")]
    many = [
        reaction(who, f"m-{n}", "🔥", target_text=f"{text}, part {n}", target_author="bob")
        for n in range(3) for who in people
    ]
    seen_one, batch_one = await observed_batch(core, one)
    # SQLite's own trace: BEGIN goes to the driver without SQLAlchemy's statement events.
    traced = Traced(core.services.db) if core.services.db.sqlite else None
    seen, batch = await observed_batch(core, many)
    assert seen_one == [] and seen == []
    if traced is not None:
        sent = [statement for statement, _ in traced.take()]
        read = sent[: sent.index("BEGIN IMMEDIATE")]
        assert read[0] == "BEGIN" and any(s.startswith("SELECT") for s in read), sent
        assert all(s.startswith(("BEGIN", "SELECT", "ROLLBACK")) for s in read), read
    assert len(reply_path(batch)) <= len(reply_path(batch_one)), "\n".join(reply_path(batch))
    for liked in one + many:
        assert await count(core, Signal, event_id=liked.event_id) > 0  # learned in the batch


async def test_a_channel_excluded_elsewhere_is_obeyed_by_the_next_message(
    make_core: MakeCore,
) -> None:
    here, there = await make_core(), await make_core()
    alice = person("alice")
    await grant(here, alice)
    await here.handle(message(alice, TEXT, surface=Surface.CHANNEL, mentioned=True))
    exclude = CommandEvent(event_id=next_id("cmd"), person=person("boss"), name="admin",
                           args="exclude learning here", channel_id="C1",
                           surface=Surface.CHANNEL, context=PlatformContext(admin=True))
    await there.handle(exclude)
    for mentioned in (True, False):
        quiet = message(alice, TEXT, surface=Surface.CHANNEL, mentioned=mentioned)
        await here.handle(quiet)
        assert await count(here, Signal, event_id=quiet.event_id) == 0


async def test_a_change_of_consent_elsewhere_is_obeyed_by_the_next_message(
    make_core: MakeCore,
) -> None:
    here, there = await make_core(), await make_core()  # two workers, one database
    alice = person("alice")
    await grant(here, alice)
    await here.handle(message(alice, TEXT))
    turns = await count(here, ConversationTurn)
    await there.handle(command(alice, "consent", "revoke"))
    quiet = message(alice, "sourdough bread baking in a dutch oven")
    await here.handle(quiet)
    assert await count(here, Signal, event_id=quiet.event_id) == 0
    assert await count(here, ConversationTurn) <= turns  # nothing of it kept
    await there.handle(command(alice, "consent", "grant"))
    learned = message(alice, "sourdough bread baking in a dutch oven")
    await here.handle(learned)
    assert await count(here, Signal, event_id=learned.event_id) > 0


async def test_a_workspace_switched_to_opt_out_is_obeyed_by_the_next_message(
    make_core: MakeCore,
) -> None:
    here = await make_core(workspace_opt_out_allowed=True)
    there = await make_core(workspace_opt_out_allowed=True)
    bob = person("bob")
    first = message(bob, TEXT)
    await here.handle(first)  # never answered the consent question: opt-in learns nothing
    assert await count(here, Signal, event_id=first.event_id) == 0
    admin = CommandEvent(event_id=next_id("cmd"), person=person("boss"), name="admin",
                         args="set consent opt_out", channel_id="C1",
                         surface=Surface.CHANNEL, context=PlatformContext(admin=True))
    await there.handle(admin)
    second = message(bob, TEXT)
    await here.handle(second)
    assert await count(here, Signal, event_id=second.event_id) > 0


async def test_forgotten_elsewhere_the_next_message_meets_a_new_person(
    make_core: MakeCore,
) -> None:
    here, there = await make_core(), await make_core()
    alice = person("alice")
    await grant(here, alice)
    await here.handle(message(alice, TEXT))
    await there.handle(command(alice, "forget", "confirm"))
    replies = await here.handle(message(alice, "hello again"))
    after = await person_id(here, alice)  # SQLite may hand the old id out again
    assert after is not None
    assert await count(here, Interest, person_id=after) == 0
    assert await count(here, ConversationTurn, person_id=after) == 0
    assert "rust" not in here.services.llm.requests[-1].system.lower()  # type: ignore[attr-defined]
    assert any(r.purpose == "consent_notice" for r in replies)  # asked again, as a stranger


async def test_preferences_changed_elsewhere_reach_the_next_prompt(make_core: MakeCore) -> None:
    here, there = await make_core(), await make_core()
    alice = person("alice")
    await grant(here, alice)
    await here.handle(message(alice, TEXT))
    assert "formal" not in here.services.llm.requests[-1].system  # type: ignore[attr-defined]
    await there.handle(command(alice, "prefs", "set tone formal"))
    await here.handle(message(alice, "what should I read next?"))
    assert "formal" in here.services.llm.requests[-1].system  # type: ignore[attr-defined]


async def test_a_memory_added_elsewhere_reaches_the_next_prompt(make_core: MakeCore) -> None:
    """People without memories skip the memory read: the read-ahead says there are none."""
    here, there = await make_core(), await make_core()
    alice = person("alice")
    await grant(here, alice)
    await here.handle(message(alice, TEXT))
    await there.handle(command(alice, "memory", "add my team ships on Thursdays"))
    await here.handle(message(alice, "when do we ship?"))
    assert "ships on Thursdays" in here.services.llm.requests[-1].system  # type: ignore[attr-defined]


async def test_a_timezone_the_platform_reports_reaches_the_same_prompt(
    make_core: MakeCore,
) -> None:
    """The platform's timezone is stored during the message and the prompt of that very
    message uses it: the preference rows read ahead with the sender are read again."""
    core = await make_core()
    alice = person("alice")
    await grant(core, alice)
    await core.handle(message(alice, TEXT, context=PlatformContext(timezone="Asia/Tokyo")))
    await core.handle(message(alice, TEXT, context=PlatformContext(timezone="America/Lima")))
    assert "America/Lima" in core.services.llm.requests[-1].system  # type: ignore[attr-defined]
    assert "Asia/Tokyo" not in core.services.llm.requests[-1].system  # type: ignore[attr-defined]


async def test_last_seen_is_written_at_most_once_per_resolution(make_core: MakeCore) -> None:
    core = await make_core(last_seen_resolution_seconds=300)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    now = [start]
    core.services.clock = lambda: now[0]
    alice = person("alice")
    await grant(core, alice)

    async def last_seen() -> dt.datetime:
        async with core.services.db.session() as session:
            row = (await session.exec(select(Person).where(Person.user_id == "alice"))).one()
            return row.last_seen_at.replace(tzinfo=dt.UTC)

    await core.handle(message(alice, TEXT))
    first = await last_seen()
    now[0] = first + dt.timedelta(seconds=299)
    with statements(core) as seen:
        await core.handle(message(alice, TEXT))
    assert await last_seen() == first
    assert not any(s.startswith("UPDATE person") for s in seen)
    now[0] = first + dt.timedelta(seconds=300)
    await core.handle(message(alice, TEXT))
    assert await last_seen() == now[0]


async def test_a_preview_reads_what_a_reply_reads(core: Core, database_url: str) -> None:
    """``Core.preview_request`` (``tailorbot prompt preview`` and the benchmarks' context
    assembly figure) reads the sender's small rows ahead in one statement, as a reply does,
    so it times what a reply's assembly costs: the same reads, nothing written."""
    alice = person("alice")
    await grant(core, alice)
    await core.handle(message(alice, TEXT))
    await core.handle(command(alice, "prefs", "set tone formal"))
    ev = message(alice, "tell me more about tokio please")
    with statements(core) as previewed:
        request = await core.preview_request(ev)
    assert "formal" in request.system and "rust" in request.system.lower()
    reads = reply_path(previewed)
    print(f"\n{database_url.split(':')[0]} preview: " + "\n  ".join(reads))
    assert all(s.startswith("SELECT") for s in reads), reads
    with statements(core) as seen:
        await core.handle(ev)
    reply_reads = [s for s in reply_path(seen) if s.startswith(("SELECT", "WITH claimed AS"))]
    # On PostgreSQL the reply's read of the sender carries its claim, the same rows and one
    # column more (profiles/preload.py sender_claiming_statement)
    if reply_reads and reply_reads[0].startswith("WITH claimed AS"):
        assert reads[0].startswith("SELECT person.id, person.platform"), reads
        reads, reply_reads = reads[1:], reply_reads[1:]
    # the reply's reads, in order (its learning batch, if it ran meanwhile, reads after)
    assert reads == reply_reads[: len(reads)], (reads, reply_reads)


async def test_a_preview_follows_the_workspace_s_mode_for_an_unanswered_consent(
    make_core: MakeCore,
) -> None:
    """Someone who never answered the consent question: the preview is the generic prompt
    while the workspace is opt-in, and personalised once it is opt-out (their consent read
    on the driver, the workspace's mode in a read-only transaction)."""
    core = await make_core(workspace_opt_out_allowed=True)
    bob = person("bob")
    await core.handle(message(bob, TEXT))
    generic = "has not allowed personalisation"
    assert generic in (await core.preview_request(message(bob, "what next?"))).system
    admin = CommandEvent(event_id=next_id("cmd"), person=person("boss"), name="admin",
                         args="set consent opt_out", channel_id="C1",
                         surface=Surface.CHANNEL, context=PlatformContext(admin=True))
    await core.handle(admin)
    await core.handle(message(bob, TEXT))
    await core.services.learner.flush()
    assert generic not in (await core.preview_request(message(bob, "what next?"))).system
