"""The outage journal on its own: durable order, deduplication, bound, erasure, one drainer."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3

import pytest

from bot.config import journal_path
from bot.events import (
    ActionEvent,
    CommandEvent,
    DepartureEvent,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Reply,
    Surface,
)
from bot.events import Gone as Who
from bot.journal import (
    ANSWER_AND_LEARNING,
    LEARNING_ONLY,
    Ahead,
    Drainer,
    Entry,
    Erased,
    Journal,
    Kept,
    Owed,
    RecordOwed,
    decode,
    encode,
)
from profiles.engine import PersonKey

ALICE = PersonRef("slack", "T1", "U1", "Alice")
BOB = PersonRef("slack", "T1", "U2")
AT = dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def msg(n: int, who: PersonRef = ALICE, text: str = "hello") -> MessageEvent:
    return MessageEvent(event_id=f"ev{n}", person=who, text=f"{text} {n}", occurred_at=AT)


class Gone(Exception):
    pass


def test_every_event_type_survives_encoding():
    events = [
        MessageEvent(
            event_id="m",
            person=ALICE,
            text="héllo ✨",
            surface=Surface.THREAD,
            thread_id="t",
            mentioned=True,
            occurred_at=AT,
            context=PlatformContext(timezone="Europe/Paris", locale="fr"),
        ),
        ReactionEvent(event_id="r", person=BOB, target_message_id="x", emoji="👍", added=False),
        CommandEvent(event_id="c", person=ALICE, name="prefs", args="set tone casual"),
        ActionEvent(event_id="a", person=ALICE, action_id="consent.grant", value="1"),
    ]
    for event in events:
        assert decode(encode(event)) == event


def test_order_dedupe_bound_and_restart(tmp_path):
    path = tmp_path / "outage.journal"
    journal = Journal(path, limit=3)
    assert not path.exists() and len(journal) == 0  # nothing written until needed
    assert journal.keep(msg(1)) is Kept.KEPT
    assert journal.keep(msg(2)) is Kept.KEPT
    assert journal.keep(msg(1)) is Kept.ALREADY  # a platform retry is kept once
    assert journal.keep(msg(3)) is Kept.KEPT
    assert journal.keep(msg(4)) is Kept.FULL
    journal.close()  # the process dies …
    again = Journal(path, limit=3)  # … and a new one finds everything, in order
    assert again.exists() and len(again) == 3
    seen = []
    while (head := again.first()) is not None:
        seen.append(head.event.event_id)
        again.done(head)
    assert seen == ["ev1", "ev2", "ev3"]


def test_what_a_claimed_event_owes_is_remembered_across_a_restart(tmp_path):
    """An event kept as claimed already must be replayed as such after a restart, owing what
    it owed, or its replay would be skipped as a duplicate claim. An entry written before
    learning was batched ("answer_owed" alone) owes its answer only: its learning committed
    with its claim."""
    path = tmp_path / "outage.journal"
    journal = Journal(path)
    journal.keep(msg(1), owed=ANSWER_AND_LEARNING)
    journal.keep(msg(2))
    journal.keep_many([msg(3), msg(4)], [LEARNING_ONLY, None])
    with journal._lock:
        journal._db().execute(
            "INSERT INTO outage_event (platform, workspace, user_id, event_id, payload)"
            " VALUES ('slack', 'T1', 'U1', 'ev5', ?)",
            (encode(msg(5)).replace('{"type"', '{"answer_owed": true, "type"', 1),),
        )
    journal.close()
    again = Journal(path)
    entries = []
    while (head := again.first()) is not None:
        entries.append((head.event.event_id, head.owed))
        again.done(head)
    assert entries == [
        ("ev1", Owed(answer=True, learning=True)),
        ("ev2", None),
        ("ev3", Owed(learning=True)),
        ("ev4", None),
        ("ev5", Owed(answer=True)),
    ]


def test_forget_removes_only_that_persons_words_from_the_file(tmp_path):
    path = tmp_path / "outage.journal"
    journal = Journal(path)
    journal.keep(msg(1, ALICE, "quixotic zephyr marmalade"))
    journal.keep(msg(2, BOB, "ordinary words"))
    journal.keep(msg(3, PersonRef("slack", "T2", "U1"), "other workspace"))
    assert journal.forget("slack", "U1", "T1") == 1
    assert [e.event_id for e in _all(journal)] == ["ev2", "ev3"]
    assert journal.forget("slack", "U1") == 1  # every workspace of the platform
    journal.close()
    assert b"quixotic zephyr" not in path.read_bytes()  # secure_delete overwrote it


def test_forget_removes_their_words_from_others_waiting_reactions(tmp_path):
    """Bob's reaction to Alice's message carries her text (a replay learns Bob's interests
    from it): the journal kept it after her /forget, which removed only her own events."""
    path = tmp_path / "outage.journal"
    journal = Journal(path)

    def reaction(n: int, author: str, workspace: str = "T1") -> ReactionEvent:
        return ReactionEvent(
            event_id=f"r{n}",
            person=PersonRef("slack", workspace, "U2"),
            occurred_at=AT,
            target_message_id=f"m{n}",
            emoji="thumbsup",
            target_author_id=author,
            target_text=f"quixotic zephyr marmalade {n}",
        )

    journal.keep(reaction(1, "U1"))
    journal.keep(reaction(2, "U3"))  # someone else's message
    journal.keep(reaction(3, "U1", workspace="T2"))  # another workspace's U1

    assert journal.forget("slack", "U1", "T1") == 0  # no event of hers

    kept = {e.event_id: e for e in _all(journal)}
    assert set(kept) == {"r1", "r2", "r3"}  # Bob's reactions stay, as his feedback
    assert kept["r1"].target_text is None and kept["r1"].emoji == "thumbsup"
    assert kept["r2"].target_text == "quixotic zephyr marmalade 2"
    assert kept["r3"].target_text == "quixotic zephyr marmalade 3"
    journal.close()
    assert b"marmalade 1" not in path.read_bytes()  # secure_delete overwrote it


def _all(journal: Journal) -> list:
    with journal._lock:
        rows = journal._db().execute("SELECT payload FROM outage_event ORDER BY seq").fetchall()
    return [decode(r[0]) for r in rows]


async def test_concurrent_drains_process_each_event_once_in_order():
    """The in-memory backlog crashed with `pop from an empty deque` when a new event and the
    retry loop drained at the same time; one lock now serialises every drain."""
    journal = Journal()
    for n in range(20):
        journal.keep(msg(n))
    processed: list[str] = []
    delivered: list[str] = []

    async def replay(event, owed):
        await asyncio.sleep(0)  # let the other drainers run in between
        processed.append(event.event_id)
        return [Reply(text="ok")]

    async def deliver(event, replies):
        delivered.append(event.event_id)

    drainer = Drainer(journal, replay, deliver, unavailable=Gone)
    counts = await asyncio.gather(*(drainer.drain() for _ in range(5)))
    assert sum(counts) == 20
    assert processed == [f"ev{n}" for n in range(20)] == delivered
    assert len(journal) == 0


async def test_drain_stops_while_unavailable_and_skips_a_poisoned_event(caplog):
    journal = Journal()
    for n in range(3):
        journal.keep(msg(n))
    state = {"down": True}

    async def replay(event, owed):
        if state["down"]:
            raise Gone()
        if event.event_id == "ev1":
            raise RuntimeError("poison")
        return []

    async def deliver(event, replies):
        raise AssertionError("nothing to deliver")

    drainer = Drainer(journal, replay, deliver, unavailable=Gone)
    assert await drainer.drain() == 0 and len(journal) == 3
    state["down"] = False
    assert await drainer.drain() == 3 and len(journal) == 0
    assert "ev1 failed and was dropped" in caplog.text


@pytest.mark.parametrize(
    ("url", "configured", "expected"),
    [
        ("sqlite:///data/bot.db", None, "data/bot.db.journal"),
        ("sqlite://", None, ":memory:"),
        ("sqlite:///:memory:", None, ":memory:"),
        ("postgresql://u@h/db", None, "tailorbot-outage.journal"),
        ("postgresql://u@h/db", "/var/lib/tb/j", "/var/lib/tb/j"),
    ],
)
def test_where_the_journal_lives(url, configured, expected):
    assert journal_path(url, configured) == expected


async def test_what_a_replay_could_not_finish_stays_and_is_replayed_as_owed():
    """A replayed message is claimed and answered; if its learning batch then meets the
    database gone again, the batch keeps the event as owing its learning — while the entry
    being replayed is still waiting. The entry takes that meaning and survives its replay's
    removal, so the learning is replayed next instead of being dropped with it."""
    journal = Journal()
    journal.keep(msg(1))
    journal.keep(msg(2))
    replayed: list[tuple[str, Owed | None]] = []

    async def replay(event, owed):
        replayed.append((event.event_id, owed))
        if event.event_id == "ev1" and owed is None:
            # the learner's batch, meeting an outage during this replay (bot/learning.py)
            assert journal.keep_many([event], [LEARNING_ONLY]) == [Kept.KEPT]
        return []

    async def deliver(event, replies):
        raise AssertionError("nothing to deliver")

    drainer = Drainer(journal, replay, deliver, unavailable=Gone)
    assert await drainer.drain() == 3
    assert replayed == [("ev1", None), ("ev1", LEARNING_ONLY), ("ev2", None)]
    assert len(journal) == 0
    journal.keep(msg(3))
    assert journal.keep(msg(3)) is Kept.ALREADY  # a platform's retry is still kept once


def test_an_event_with_a_lone_surrogate_is_kept_as_it_came(tmp_path):
    """A platform can send half an emoji; its event could not be written (no UTF-8 for it)
    and was lost, its batch with it, while the person was told it was kept."""
    journal = Journal(tmp_path / "outage.journal")
    odd = msg(1, text="hi \ud83d there")
    assert journal.keep_many([msg(0), odd]) == [Kept.KEPT, Kept.KEPT]
    assert [e.text for e in _all(journal)] == ["hello 0", "hi \ud83d there 1"]


def test_an_owed_record_is_kept_with_what_else_the_entry_owes(tmp_path) -> None:
    """An answered message can owe its learning and its record, journaled in either order
    by the learner and the reply: the entry owes both, and never the answer again."""
    record = Owed(record=RecordOwed("the answer", AT, ("tokio",), "m-1"))
    for first, second in ((LEARNING_ONLY, record), (record, LEARNING_ONLY)):
        journal = Journal(tmp_path / f"j-{first is record}")
        event = msg(7, text="tokio runtimes")
        assert journal.keep(event, owed=first) is Kept.KEPT
        assert journal.keep(event, owed=second) is Kept.KEPT
        entry = journal.first()
        assert entry is not None and len(journal) == 1
        assert entry.owed == Owed(answer=False, learning=True, record=record.record)
        journal.close()
    # the replay of an unanswered message whose record met the outage again: its learning
    # batch ran (or keeps its learning itself), so the entry owes the record only
    journal = Journal(tmp_path / "replayed")
    event = msg(8, text="tokio runtimes")
    journal.keep(event, owed=ANSWER_AND_LEARNING)
    journal.keep(event, owed=record)
    entry = journal.first()
    assert entry is not None and entry.owed == record
    journal.close()


def test_it_says_whose_events_wait_in_which_workspace(tmp_path) -> None:
    """What a reconcile after a reconnect asks (bot/lifecycle.py): people and workspaces
    known only here, per platform, without opening a journal that does not exist."""
    missing = Journal(tmp_path / "never")
    assert missing.users("slack", "T1") == set() and missing.workspaces("slack") == set()
    assert not (tmp_path / "never").exists()
    journal = Journal(tmp_path / "j")
    for n, who in enumerate((ALICE, BOB, ALICE, PersonRef("slack", "T9", "U5"),
                             PersonRef("discord", "T1", "U7"))):
        journal.keep(msg(n, who))
    assert journal.users("slack", "T1") == {"U1", "U2"}
    assert journal.workspaces("slack") == {"T1", "T9"}
    assert journal.workspaces("discord") == {"T1"}
    journal.close()


def test_a_workspace_the_bot_left_leaves_no_waiting_event(tmp_path) -> None:
    """Everyone's, people without a row included: a per-person forget never reaches them."""
    journal = Journal(tmp_path / "j")
    there = PersonRef("slack", "T9", "U5")
    for n, who in enumerate((ALICE, BOB, there)):
        journal.keep(msg(n, who))
    assert journal.forget_workspace("slack", "T1") == 2
    entry = journal.first()
    assert len(journal) == 1 and entry is not None and entry.event.person == there
    journal.close()


def test_an_erasure_kept_for_later_outlives_other_erasures_and_a_full_journal(tmp_path) -> None:
    """A platform's notice that someone is gone, kept while the database was away, is an
    erasure still owed: another erasure of the same people (their own /forget, the
    workspace's) removes their words, never it; a full journal still takes it; it survives
    a restart as it was; and its blank half (a workspace's has no user, an account's no
    workspace) is nobody a reconnect's check would ask the platform about."""
    path = tmp_path / "j"
    journal = Journal(path, limit=2)
    journal.keep(msg(1, ALICE))
    journal.keep(msg(2, BOB))
    departures = [
        DepartureEvent.of(Who.PERSON, "slack", "T1", "U1"),
        DepartureEvent.of(Who.WORKSPACE, "slack", "T1"),
        DepartureEvent.of(Who.ACCOUNT, "slack", user_id="U2"),
    ]
    assert [journal.keep(d) for d in departures] == [Kept.KEPT] * 3  # full for words only
    assert journal.keep(departures[0]) is Kept.ALREADY
    assert journal.keep(msg(3, ALICE)) is Kept.FULL
    assert journal.forget("slack", "U1", "T1") == 1  # her message
    assert journal.forget("slack", "U2") == 1  # his
    assert journal.forget_workspace("slack", "T1") == 0
    assert journal.users("slack", "T1") == {"U1"}
    assert journal.workspaces("slack") == {"T1"}
    journal.close()
    again = Journal(path)
    waiting = []
    while (entry := again.first()) is not None:
        waiting.append(entry.event)
        again.done(entry)
    assert waiting == departures
    again.close()


def test_a_replayed_erasure_removes_only_what_was_kept_before_it(tmp_path) -> None:
    """A member who left, came back and wrote while the database was away: their erasure's
    replay — even an attempt that meets the outage again — removed the words written after
    it too. Those stay now; any other erasure (their own /forget) still removes them all."""
    journal = Journal(tmp_path / "j")
    left = DepartureEvent.of(Who.PERSON, "slack", "T1", "U1")
    removed = DepartureEvent.of(Who.WORKSPACE, "slack", "T1")
    for event in (msg(1, ALICE), left, msg(2, BOB), removed, msg(3, ALICE), msg(4, BOB)):
        journal.keep(event)

    with contextlib.closing(sqlite3.connect(tmp_path / "j")) as db:
        seqs = [seq for (seq,) in db.execute("SELECT seq FROM outage_event ORDER BY seq")]
    left_entry = Entry(seqs[1], left, PersonKey("slack", "T1", "U1"))
    removed_entry = Entry(seqs[3], removed, PersonKey("slack", "T1", ""))
    journal.replaying = left_entry
    assert journal.forget("slack", "U1", "T1") == 1  # her first message, not her third
    journal.replaying = removed_entry
    assert journal.forget_workspace("slack", "T1") == 1  # bob's second, not his fourth
    journal.replaying = None
    assert journal.forget("slack", "U1", "T1") == 1  # no departure replayed: her third
    journal.close()


def test_the_claims_sent_for_an_event_survive_a_restart_and_a_second_outage(tmp_path) -> None:
    """A message whose claim was sent into a hang is kept with that claim's time, which its
    replay compares with the claim it finds: lost on a restart, the replay would call the
    message a duplicate if the claim committed. A replay whose own claim meets the outage
    again keeps both times (either may be the one that committed)."""
    path = tmp_path / "outage.journal"
    journal = Journal(path)
    later = AT + dt.timedelta(minutes=3)
    event = msg(1)
    journal.keep(event, owed=Owed(answer=True, learning=True, claims=(AT,)))
    journal.close()
    again = Journal(path)
    entry = again.first()
    assert entry is not None and entry.owed == Owed(answer=True, learning=True, claims=(AT,))
    again.keep(event, owed=Owed(answer=True, learning=True, claims=(AT, later)))
    entry = again.first()
    assert entry is not None and entry.owed is not None and entry.owed.claims == (AT, later)
    assert len(again) == 1
    # a platform's retry, kept during the same outage with its own claim's time only: the
    # first times stay (either may be the claim that committed; review)
    retried = AT + dt.timedelta(minutes=5)
    again.keep(event, owed=Owed(answer=True, learning=True, claims=(retried,)))
    entry = again.first()
    assert entry is not None and entry.owed is not None
    assert entry.owed.claims == (AT, later, retried)
    again.close()


def test_whom_a_command_erased_survives_a_restart_and_a_second_outage(tmp_path) -> None:
    """A /forget whose COMMIT met the outage keeps whom it erased: if it took effect, its
    replay does their erasure's work after the commit (bot/lifecycle.py). Lost on a restart,
    or on a second outage (a replay's own /forget erased the person made anew), the first
    person's scheduled job stayed. Identifiers only: no words."""
    path = tmp_path / "outage.journal"
    journal = Journal(path)
    event = msg(1)
    first = Erased(7, "slack", "T1", "U1", turns=(70, 71))
    journal.keep(event, owed=Owed(answer=True, learning=True, claims=(AT,), erased=(first,)))
    journal.close()
    again = Journal(path)
    entry = again.first()
    assert entry is not None and entry.owed is not None and entry.owed.erased == (first,)
    made_anew = Erased(8, "slack", "T1", "U1")
    later = AT + dt.timedelta(minutes=3)
    again.keep(event, owed=Owed(answer=True, learning=True, claims=(later,),
                                erased=(made_anew,)))
    entry = again.first()
    assert entry is not None and entry.owed is not None
    assert entry.owed.erased == (first, made_anew) and entry.owed.claims == (AT, later)
    again.close()


class OutageAfterClaim(Gone):
    """What a replay that met the outage got done first (the core's ``ClaimUnsure`` and
    ``AnswerOwed``): its claim sent, or committed."""

    def __init__(self, owed: Owed) -> None:
        super().__init__()
        self.owed = owed


async def test_a_replay_that_meets_the_outage_after_its_claim_keeps_what_it_owes() -> None:
    """The drain only stopped, and the entry stayed as it was: a replay whose claim went
    into a hang that committed it at the thaw, or whose claim committed before its answer
    failed, was found claimed by the next replay and dropped as a duplicate, never answered
    (review). The entry now owes what the failure says, with the claim times merged."""
    journal = Journal()
    first = Owed(answer=True, learning=True, claims=(AT,))
    journal.keep(msg(1), owed=first)  # its claim met a hang when it came in
    journal.keep(msg(2))
    later = AT + dt.timedelta(minutes=2)
    failures: list[Owed | None] = [
        Owed(answer=True, learning=True, claims=(AT, later)),  # the replay's claim, again
        ANSWER_AND_LEARNING,  # the next one's claim committed, then the database went
        None,  # nothing of the third took effect
    ]
    replayed: list[tuple[str, Owed | None]] = []

    async def replay(event, owed):
        replayed.append((event.event_id, owed))
        if failures:
            owed_now = failures.pop(0)
            raise OutageAfterClaim(owed_now) if owed_now is not None else Gone()
        return []

    async def deliver(event, replies):
        raise AssertionError("nothing to deliver")

    drainer = Drainer(
        journal, replay, deliver, unavailable=Gone,
        owed_of=lambda exc: exc.owed if isinstance(exc, OutageAfterClaim) else None,
    )
    for _ in range(3):
        assert await drainer.drain() == 0
    assert await drainer.drain() == 2
    assert replayed == [
        ("ev1", first),
        ("ev1", Owed(answer=True, learning=True, claims=(AT, later))),
        # known claimed: the claims that told its own from a duplicate's are done with
        ("ev1", ANSWER_AND_LEARNING),
        ("ev1", ANSWER_AND_LEARNING),
        ("ev2", None),
    ]
    assert len(journal) == 0


def test_an_event_known_claimed_owes_no_claim_times_any_more(tmp_path) -> None:
    """Claim times make a replay claim the event as new and answer it if the claim it finds
    is one of them. Once the event is known claimed — its answer owed after its claim
    committed, or its learning after it was answered — times kept with that would make the
    next replay answer it again (a replay answered, its learning batch met the outage)."""
    for known in (ANSWER_AND_LEARNING, LEARNING_ONLY):
        journal = Journal(tmp_path / f"j-{known.answer}")
        event = msg(1)
        journal.keep(event, owed=Owed(answer=True, learning=True, claims=(AT,)))
        assert journal.keep(event, owed=known) is Kept.KEPT
        entry = journal.first()
        assert entry is not None and entry.owed == known
        journal.close()


CAROL = PersonRef("slack", "T1", "U3")


def key(who: PersonRef) -> PersonKey:
    return PersonKey(who.platform, who.workspace, who.user_id)


class Busy(Gone):
    """The database answered but cut the replay on a lock held on that person's rows (the
    core's ``DatabaseBusy``)."""


async def test_a_drain_skips_a_busy_persons_later_entries_and_goes_on_with_others() -> None:
    """One person's rows held by a long lock stopped the drain at their entry, and everyone's
    events behind it waited until the lock went. Now their entry stays (marked busy, with
    what it owes), their later entries are skipped in that pass, in order, and other
    people's are replayed; once the lock goes, theirs are replayed in their order."""
    journal = Journal()
    for n, who in enumerate((ALICE, BOB, ALICE, CAROL, BOB)):
        journal.keep(msg(n, who), busy=who is ALICE)
    locked = {"U1"}
    replayed: list[str] = []

    async def replay(event, owed):
        if event.person.user_id in locked:
            raise Busy()
        replayed.append(event.event_id)
        return []

    async def deliver(event, replies):
        raise AssertionError("nothing to deliver")

    drainer = Drainer(journal, replay, deliver, unavailable=Gone,
                      busy=lambda exc: isinstance(exc, Busy))
    assert await drainer.drain() == 3
    assert replayed == ["ev1", "ev3", "ev4"]
    waiting = [(e.event_id, e.person.user_id) for e in _all(journal)]
    assert waiting == [("ev0", "U1"), ("ev2", "U1")]
    head = journal.first()
    assert head is not None and head.busy and head.person == key(ALICE)
    assert journal.ahead(key(BOB)) is Ahead.NOTHING  # others' events go ahead of it
    assert journal.ahead(key(ALICE)) is Ahead.OWN  # theirs wait behind it
    locked.clear()
    assert await drainer.drain() == 2
    assert replayed[3:] == ["ev0", "ev2"] and len(journal) == 0


async def test_an_outage_entry_holds_everyone_and_stops_the_drain() -> None:
    """An entry kept while the database was away holds every new event behind the whole
    journal, as before, and a replay that meets the database away stops the pass — a busy
    entry's too, which becomes an outage entry (the database is away for everyone now)."""
    journal = Journal()
    journal.keep(msg(0, ALICE), busy=True)
    assert journal.ahead(key(BOB)) is Ahead.NOTHING
    journal.keep(msg(1, CAROL))  # the database away
    assert [journal.ahead(key(who)) for who in (ALICE, BOB, CAROL)] == [Ahead.OUTAGE] * 3
    journal.keep(msg(2, BOB))
    replayed: list[str] = []

    async def replay(event, owed):
        replayed.append(event.event_id)
        raise Gone()

    async def deliver(event, replies):
        raise AssertionError("nothing to deliver")

    drainer = Drainer(journal, replay, deliver, unavailable=Gone,
                      busy=lambda exc: isinstance(exc, Busy))
    assert await drainer.drain() == 0
    assert replayed == ["ev0"]  # the pass stopped at the first entry
    head = journal.first()
    assert head is not None and head.event.event_id == "ev0" and not head.busy
    assert journal.ahead(key(BOB)) is Ahead.OUTAGE


async def test_a_busy_replay_keeps_what_it_owes_and_an_outage_entry_cut_busy_turns_busy() -> None:
    """A replay cut busy after its claim committed keeps what it owes, as one that met the
    outage does; an outage entry whose replay is cut busy (the database back, this person's
    row still held) now holds back only its person."""
    journal = Journal()
    journal.keep(msg(0, ALICE))  # kept while the database was away
    journal.keep(msg(1, BOB))

    async def replay(event, owed):
        if event.person == ALICE:
            raise OutageAfterClaim(ANSWER_AND_LEARNING)
        return []

    async def deliver(event, replies):
        raise AssertionError("nothing to deliver")

    drainer = Drainer(
        journal, replay, deliver, unavailable=Gone, busy=lambda exc: True,
        owed_of=lambda exc: exc.owed if isinstance(exc, OutageAfterClaim) else None,
    )
    assert await drainer.drain() == 1
    head = journal.first()
    assert head is not None and len(journal) == 1
    assert (head.event.event_id, head.owed, head.busy) == ("ev0", ANSWER_AND_LEARNING, True)
    assert journal.ahead(key(BOB)) is Ahead.NOTHING


def test_a_journal_an_earlier_version_wrote_opens_with_its_entries_as_outage_ones(tmp_path):
    """The file outlives an upgrade: an entry written before entries said why they wait is
    an outage one (it holds everyone, as it did), and the file takes busy entries after."""
    path = tmp_path / "outage.journal"
    with contextlib.closing(sqlite3.connect(path)) as old:
        old.execute(  # the table as the earlier version created it
            "CREATE TABLE outage_event ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL,"
            " event_id TEXT NOT NULL, payload TEXT NOT NULL,"
            " UNIQUE (platform, workspace, event_id))"
        )
        old.execute(
            "INSERT INTO outage_event (platform, workspace, user_id, event_id, payload)"
            " VALUES ('slack', 'T1', 'U2', 'ev0', ?)", (encode(msg(0, BOB)),),
        )
        old.commit()
    journal = Journal(path)
    assert journal.ahead(key(ALICE)) is Ahead.OUTAGE
    head = journal.first()
    assert head is not None and head.event == msg(0, BOB) and not head.busy
    assert journal.keep(msg(1, ALICE), busy=True) is Kept.KEPT
    journal.done(head)
    assert journal.ahead(key(BOB)) is Ahead.NOTHING
    assert journal.ahead(key(ALICE)) is Ahead.OWN
    journal.close()
