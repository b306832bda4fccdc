"""The outage journal: events that could not reach the database wait here, durably, in order.

Guarantee (documented in README "Database outages"): an event the core could not store because
the database was unreachable is written to a small SQLite file beside the process *before*
the person is told "I've kept your message". It survives a crash or a restart. One drainer
per process replays the journal in arrival order once the database answers again, removing
each entry only after it was processed; an entry replayed twice (a crash between processing
and removal) is dropped by the core's event-id deduplication, so every event takes effect
once. Entries are unique by (platform, workspace, event id): a platform's retry of an event
already waiting is not kept twice. The journal is bounded (``limit`` entries); when it is full
the person is told plainly that this message could not be kept.

Busy entries. An entry also says why it waits: the database was away (an *outage* entry), or
it answered but cut the work on a lock that other work held on some rows (*busy*,
:class:`~profiles.db.DatabaseBusy`). An outage entry holds everyone, as every entry used to:
a new event waits behind the whole journal (:meth:`Journal.ahead` says ``OUTAGE``), and a
replay that meets the database away stops the drain. A busy entry holds its own person only
— the one of the journal's (platform, workspace, user id) columns: others' events go ahead
of it, theirs wait behind it (``OWN``), and a drain whose replay of it is cut busy again
keeps it, skips that person's later entries in that pass (their order kept) and goes on with
other people's. So one person's row held by a long lock (an operator's transaction, an
erasure) no longer makes the bot unavailable to everybody.
The word is that of the last failure that kept or replayed the entry (``keep(..., busy=)``,
:meth:`Journal.mark`): a busy entry whose replay meets the database away becomes an outage
entry, and an outage entry whose replay is cut busy a busy one. Why the last failure's and
not the first's: an entry should hold back what would stop now too; an outage entry stuck
behind one person's lock would hold everyone again, and a busy one that met the database
away would let everyone try a database that does not answer (each waiting the database
timeout against a hang, where they are told at once). Claims, what an entry owes and its
merging, :meth:`Journal.done` and :meth:`Journal.forget` are the same for both kinds.
A journal an earlier version wrote has no such column: it is added on opening, its entries
outage ones, as they were.

The file holds people's words, so ``/forget`` removes that person's waiting events
(:meth:`Journal.forget`) and the file runs with ``secure_delete`` so removed text is
overwritten, not merely unlinked.

An event may be kept as claimed already, with what it still owes (:class:`Owed`): a message
addressed to the bot whose first transaction (the claim) committed but whose reply could not
be assembled because the database went away in between owes its answer and its learning
(bot/pipeline/chat.py); one that was answered but whose learning batch met the outage owes
its learning only (bot/learning.py); one that was answered but whose record (its two turns)
met the outage owes that record, with the answer as sent (:class:`RecordOwed`). Its replay
must not claim it again — the claim would call it a duplicate, and the person would never
get the answer, nor the profile the lesson — only do what is owed. A message whose claim
was sent but never answered (the database hung or was lost meanwhile) may be claimed or
not: it is kept with that claim's time (:attr:`Owed.claims`), and its replay tells which.
A command whose transaction erased people (``/forget``) keeps who they were as well
(:attr:`Owed.erased`): if its COMMIT took effect unseen, its replay does what the erasure
owed after the commit, which never ran.

API (small on purpose; the batched learner, bot/learning.py, builds its guarantee on it):
``Journal.keep(event, owed=None, busy=False) -> Kept`` (``keep_many`` for a batch),
``ahead(person) -> Ahead`` (what a new event of theirs waits behind),
``first(skipping=()) -> Entry`` (the oldest, but for these people's), ``mark(entry, busy=)``
(why its replay failed), ``done(entry)`` (removed after its replay unless that replay kept it
again with what it could not finish), ``len(journal)``,
``Journal.forget(...)``, and
:class:`Drainer` (``drain()``, ``wake()``, ``aclose()``), the single replayer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import enum
import json
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable, Container, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from bot.events import (
    ActionEvent,
    CommandEvent,
    DepartureEvent,
    Gone,
    JournaledEvent,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Reply,
    Surface,
)
from profiles.engine import PersonKey

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 10_000
_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (MessageEvent, ReactionEvent, CommandEvent, ActionEvent, DepartureEvent)
}
# An erasure a platform asked for and the database could not take yet (a DepartureEvent):
# never removed by another erasure, never refused for a full journal (see Journal.forget).
_NOT_DEPARTURE = "json_extract(payload, '$.type') <> 'DepartureEvent'"


class Kept(enum.Enum):
    KEPT = "kept"
    ALREADY = "already"  # a retry of an event that is already waiting
    FULL = "full"


class Ahead(enum.Enum):
    """What a new event of one person waits behind (:meth:`Journal.ahead`)."""

    NOTHING = "nothing"  # nothing waits, or only other people's busy entries: it goes ahead
    OWN = "own"  # busy entries only, and some are this person's: theirs go first
    OUTAGE = "outage"  # an outage entry waits: everyone's events wait behind the journal


@dataclasses.dataclass(frozen=True, slots=True)
class RecordOwed:
    """An exchange that was answered but whose record met the database gone: the answer as
    the person saw it, when, and the topics of their message (the record's user turn)."""

    answer: str
    answered_at: dt.datetime
    topics: tuple[str, ...] = ()
    model: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Erased:
    """A person a command's transaction erased (bot/lifecycle.py), kept with the command
    when its COMMIT met the database gone (:attr:`Owed.erased`): if that COMMIT took effect
    unseen, what the erasure does once committed — features' data outside the tables (a
    digest's scheduled job, held exchanges), the kept bindings of their replies (``turns``)
    — never ran, and the replay that finds the person gone does it. Identifiers only: the
    person's words never come here."""

    person_id: int
    platform: str
    workspace: str
    user_id: str
    turns: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Owed:
    """What an event that was claimed already still owes (see the module docstring).
    ``record``: the exchange's record only — it was answered (bot/pipeline/chat.py).

    ``claims``: not known to be claimed. These claims of it (their ``processed_at``) were
    sent to a database that then failed without answering — a hang past the database
    timeout, a reset — so each may have committed, at the failure or when the server
    thawed. Its replay claims it as a new event's, and only if it finds it claimed by one of
    these, owes what the rest says (its answer and its learning): without them a claim of
    its own that committed unseen made the replay a duplicate, never answered."""

    answer: bool = False
    learning: bool = False
    record: RecordOwed | None = None
    claims: tuple[dt.datetime, ...] = ()
    erased: tuple[Erased, ...] = ()
    """People whom an attempt whose claim is among ``claims`` erased (a ``/forget``): see
    :class:`Erased`."""


ANSWER_AND_LEARNING = Owed(answer=True, learning=True)
LEARNING_ONLY = Owed(learning=True)


class Entry(NamedTuple):
    """The oldest waiting event: its place in the file, the event, and what it still owes
    if it was claimed already (None: it was not, and is replayed whole); ``payload`` is the
    stored text, so :meth:`Journal.done` can tell whether the entry changed meanwhile.
    ``person``: whose entry it is (the journal's columns); ``busy``: kept because the
    database was busy, not away (module docstring)."""

    seq: int
    event: JournaledEvent
    person: PersonKey
    owed: Owed | None = None
    payload: str = ""
    busy: bool = False


def encode(event: JournaledEvent, *, owed: Owed | None = None) -> str:
    """An event as JSON (type tag, datetimes as ISO text); :func:`decode` is its inverse."""
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, dt.datetime):
            value = {"$dt": value.isoformat()}
        elif isinstance(value, PersonRef | PlatformContext):
            value = dataclasses.asdict(value)
        elif isinstance(value, enum.Enum):
            value = value.value
        fields[field.name] = value
    payload: dict[str, Any] = {"type": type(event).__name__, "fields": fields}
    if owed is not None:
        # "answer_owed" alone is what journals written before learning was batched hold: the
        # answer owed, the learning done (it committed with the claim then).
        payload["answer_owed"] = owed.answer
        payload["learning_owed"] = owed.learning
        if owed.record is not None:
            record = owed.record
            payload["record_owed"] = {
                "answer": record.answer, "at": record.answered_at.isoformat(),
                "topics": list(record.topics), "model": record.model,
            }
        if owed.claims:
            payload["claims_sent"] = [claim.isoformat() for claim in owed.claims]
        if owed.erased:
            payload["erased"] = [dataclasses.asdict(erased) for erased in owed.erased]
    # ASCII escapes: a lone surrogate ("\ud83d", which a platform can send) has no UTF-8,
    # and the event it was in could not be kept at all; json.loads restores it as it was.
    return json.dumps(payload)


def decode(text: str) -> JournaledEvent:
    return _event_of(json.loads(text))


def _owed_of(data: dict[str, Any]) -> Owed | None:
    if "answer_owed" not in data and "learning_owed" not in data:
        return None
    record = data.get("record_owed")
    return Owed(
        answer=bool(data.get("answer_owed", False)),
        learning=bool(data.get("learning_owed", False)),
        record=RecordOwed(
            record["answer"], dt.datetime.fromisoformat(record["at"]),
            tuple(record["topics"]), record["model"],
        ) if record is not None else None,
        claims=tuple(dt.datetime.fromisoformat(at) for at in data.get("claims_sent", ())),
        erased=tuple(
            Erased(**{**erased, "turns": tuple(erased["turns"])})
            for erased in data.get("erased", ())
        ),
    )


def _merged(waiting: Owed | None, kept: Owed) -> Owed:
    """What an entry owes once ``kept`` is added to what it owed (``waiting``): every
    erasure either owed (whichever attempt's COMMIT took effect, its work after the commit
    is owed), and :func:`_merged_answer` for the rest."""
    merged = _merged_answer(waiting, kept)
    erased = tuple(dict.fromkeys((*(waiting.erased if waiting else ()), *kept.erased)))
    return merged if erased == merged.erased else dataclasses.replace(merged, erased=erased)


def _merged_answer(waiting: Owed | None, kept: Owed) -> Owed:
    """A record owed means the answer was given (never owed again); a record owed already
    stays owed. The learning ``waiting`` owed is kept unless it is the replay in progress
    of an unanswered message (``answer`` owed): that replay's own learning batch has run,
    or keeps its learning itself if it meets the outage — owing it again here would learn
    it twice."""
    if kept.record is not None:
        learning = kept.learning or (
            waiting is not None and waiting.learning and not waiting.answer
        )
        return Owed(answer=False, learning=learning, record=kept.record)
    if waiting is not None and waiting.record is not None:
        return dataclasses.replace(kept, answer=False, record=waiting.record)
    if waiting is not None and waiting.claims and kept.claims:
        # either delivery's claim may be the one that committed: a platform's retry kept
        # during the same outage, or a replay whose own claim met the outage again, must
        # not lose the first one's time (review)
        return dataclasses.replace(
            kept, claims=tuple(sorted(set(waiting.claims) | set(kept.claims)))
        )
    # ``kept`` without claims knows the event claimed (its answer owed, or its learning
    # after it was answered): the times that told a replay which claim was its own are
    # done with, and kept they would make the next replay answer it a second time.
    return kept


def _event_of(data: dict[str, Any]) -> JournaledEvent:
    cls = _TYPES[data["type"]]
    fields = dict(data["fields"])
    for name, value in fields.items():
        if isinstance(value, dict) and "$dt" in value:
            fields[name] = dt.datetime.fromisoformat(value["$dt"])
    fields["person"] = PersonRef(**fields["person"])
    fields["context"] = PlatformContext(**fields["context"])
    if "surface" in fields:
        fields["surface"] = Surface(fields["surface"])
    if "gone" in fields:
        fields["gone"] = Gone(fields["gone"])
    tuples = {f.name for f in dataclasses.fields(cls) if "tuple" in str(f.type)}
    for name in tuples & fields.keys():  # JSON has no tuples: give tuple fields theirs back
        fields[name] = tuple(fields[name])
    event: JournaledEvent = cls(**fields)
    return event


class Journal:
    """A durable FIFO of events in a SQLite file (``":memory:"`` for a process-local one).

    The file is opened lazily: a deployment that never meets an outage never creates it, but
    a journal left by a previous run is found (:meth:`exists`) and replayed at start-up."""

    def __init__(self, path: Path | str = ":memory:", *, limit: int = DEFAULT_LIMIT) -> None:
        self.path = str(path)
        self.limit = limit
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        # The entry whose replay runs now (set by the Drainer): a /forget's own, when that
        # replay forgets, which :meth:`forget` leaves in place (see there)
        self.replaying: Entry | None = None

    def exists(self) -> bool:
        """Whether the file is there. Asked on every event while it is not (the core's "older
        events first" check): ``os.path.exists`` is one stat, a fifth of what building a
        ``Path`` for it cost (3 against 16 µs, measured alone)."""
        return self.path != ":memory:" and os.path.exists(self.path)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # Durable before we tell anyone their message is kept; erased text overwritten.
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS outage_event ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL,"
                " event_id TEXT NOT NULL, payload TEXT NOT NULL,"
                " busy INTEGER NOT NULL DEFAULT 0,"
                " UNIQUE (platform, workspace, event_id))"
            )
            columns = {row[1] for row in conn.execute("PRAGMA table_info(outage_event)")}
            if "busy" not in columns:  # an earlier version's file: its entries are outages'
                conn.execute(
                    "ALTER TABLE outage_event ADD COLUMN busy INTEGER NOT NULL DEFAULT 0"
                )
            self._conn = conn
        return self._conn

    def __len__(self) -> int:
        if self._conn is None and not self.exists():
            return 0
        with self._lock:
            (count,) = self._db().execute("SELECT count(*) FROM outage_event").fetchone()
        return int(count)

    def keep(self, event: JournaledEvent, *, owed: Owed | None = None, busy: bool = False) -> Kept:
        """Write ``event`` durably (committed and synced when this returns); ``owed``: it was
        claimed already, and this is what its replay must still do; ``busy``: the database
        was busy, not away (module docstring) — an entry already waiting takes this word
        too."""
        return self.keep_many([event], [owed], busy=busy)[0]

    def keep_many(
        self, events: Sequence[JournaledEvent], owed: Sequence[Owed | None] | None = None, *,
        busy: bool = False,
    ) -> list[Kept]:
        """:meth:`keep` for several events in one synced transaction (a batch of learning
        the database refused), ``owed[i]`` for ``events[i]``: in order, each ``KEPT``,
        ``ALREADY`` or ``FULL``."""
        owing = list(owed) if owed is not None else [None] * len(events)
        outcome: list[Kept] = []
        with self._lock:
            db = self._db()
            (count,) = db.execute("SELECT count(*) FROM outage_event").fetchone()
            db.execute("BEGIN IMMEDIATE")
            try:
                for event, event_owed in zip(events, owing, strict=True):
                    ref = event.person
                    key = (ref.platform, ref.workspace, event.event_id)
                    payload = encode(event, owed=event_owed)
                    waiting = db.execute(
                        "SELECT payload FROM outage_event"
                        " WHERE platform = ? AND workspace = ? AND event_id = ?",
                        key,
                    ).fetchone()
                    if waiting is not None:
                        db.execute(  # the last failure's word (module docstring)
                            "UPDATE outage_event SET busy = ?"
                            " WHERE platform = ? AND workspace = ? AND event_id = ?",
                            (busy, *key),
                        )
                        if event_owed is None:  # a platform's retry of a waiting event
                            outcome.append(Kept.ALREADY)
                            continue
                        # Claimed, yet waiting here already: the entry is being replayed
                        # (only its replay can claim it), and this is what that replay
                        # could not finish — its learning batch met the database gone.
                        # Or an answered message's learning and its record both met the
                        # outage: the entry owes both. The entry now says so, and
                        # :meth:`done` will not remove it.
                        payload = encode(event, owed=_merged(_owed_of(json.loads(waiting[0])),
                                                             event_owed))
                        db.execute(
                            "UPDATE outage_event SET payload = ?"
                            " WHERE platform = ? AND workspace = ? AND event_id = ?",
                            (payload, *key),
                        )
                        outcome.append(Kept.KEPT)
                        continue
                    if count >= self.limit and not isinstance(event, DepartureEvent):
                        outcome.append(Kept.FULL)
                        continue
                    db.execute(
                        "INSERT INTO outage_event"
                        " (platform, workspace, user_id, event_id, payload, busy)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (ref.platform, ref.workspace, ref.user_id, event.event_id, payload,
                         busy),
                    )
                    count += 1
                    outcome.append(Kept.KEPT)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return outcome

    def ahead(self, person: PersonKey) -> Ahead:
        """What a new event of ``person`` waits behind (module docstring): one statement,
        asked on every event while anything waits."""
        if self._conn is None and not self.exists():
            return Ahead.NOTHING
        with self._lock:
            (least,) = self._db().execute(
                "SELECT min(busy) FROM outage_event"
                " WHERE busy = 0 OR (platform = ? AND workspace = ? AND user_id = ?)",
                (person.platform, person.workspace, person.user_id),
            ).fetchone()
        return Ahead.NOTHING if least is None else Ahead.OWN if least else Ahead.OUTAGE

    def first(self, *, skipping: Container[PersonKey] = ()) -> Entry | None:
        """The oldest waiting event of anyone not in ``skipping`` (people a drain left
        behind in this pass: their entries keep their order)."""
        if self._conn is None and not self.exists():
            return None
        with self._lock, contextlib.closing(self._db().execute(
            "SELECT seq, platform, workspace, user_id, payload, busy FROM outage_event"
            " ORDER BY seq"
        )) as rows:  # read row by row: it stops at the first it returns
            row = next((row for row in rows if PersonKey(*row[1:4]) not in skipping), None)
        if row is None:
            return None
        seq, platform, workspace, user_id, payload, busy = row
        data = json.loads(payload)
        return Entry(int(seq), _event_of(data), PersonKey(platform, workspace, user_id),
                     _owed_of(data), payload, bool(busy))

    def mark(self, entry: Entry, *, busy: bool) -> None:
        """Why ``entry``'s replay failed: the database busy, or away (module docstring)."""
        with self._lock:
            self._db().execute(
                "UPDATE outage_event SET busy = ? WHERE seq = ?", (busy, entry.seq)
            )

    def done(self, entry: Entry) -> None:
        """Remove ``entry`` after its replay — unless the replay kept it again meanwhile
        with what it still owes (:meth:`keep_many`): then it stays, to be replayed as that."""
        with self._lock:
            self._db().execute(
                "DELETE FROM outage_event WHERE seq = ? AND payload = ?",
                (entry.seq, entry.payload),
            )

    def _departure_bound(self) -> int:
        """Entries from this place on are not an erasure's to remove: while a platform's
        notice that someone is gone is replayed (a :class:`DepartureEvent` kept during an
        outage), the entries kept after it — a person who rejoined and wrote, a workspace
        that added the bot again — came after the departure, as they would have with the
        database there (what came before it left the journal when it was kept). Any other
        erasure removes everything."""
        replaying = self.replaying
        if replaying is not None and isinstance(replaying.event, DepartureEvent):
            return replaying.seq
        return sys.maxsize

    def forget_workspace(self, platform: str, workspace: str) -> int:
        """Remove every waiting event of a workspace the bot was removed from (everyone's,
        people without a row included: their words are here too); waiting erasures stay
        (:meth:`forget`)."""
        if self._conn is None and not self.exists():
            return 0
        with self._lock:
            cursor = self._db().execute(
                "DELETE FROM outage_event WHERE platform = ? AND workspace = ? AND seq < ?"
                f" AND {_NOT_DEPARTURE}",
                (platform, workspace, self._departure_bound()),
            )
            return int(cursor.rowcount)

    def workspaces(self, platform: str) -> set[str]:
        """The workspaces of ``platform`` with waiting events: a workspace the bot was removed
        from while disconnected may be known only here (nobody there has a row yet)."""
        if self._conn is None and not self.exists():
            return set()
        with self._lock:
            rows = self._db().execute(
                "SELECT DISTINCT workspace FROM outage_event"
                " WHERE platform = ? AND workspace <> ''",  # '': an account's erasure
                (platform,),
            ).fetchall()
        return {str(row[0]) for row in rows}

    def users(self, platform: str, workspace: str) -> set[str]:
        """The people of a workspace with waiting events: someone who left while the bot was
        disconnected may be known only here, and their replay would make them a row."""
        if self._conn is None and not self.exists():
            return set()
        with self._lock:
            rows = self._db().execute(
                "SELECT DISTINCT user_id FROM outage_event"
                " WHERE platform = ? AND workspace = ? AND user_id <> ''",  # '': the workspace's
                (platform, workspace),
            ).fetchall()
        return {str(row[0]) for row in rows}

    def forget(self, platform: str, user_id: str, workspace: str | None = None) -> int:
        """Remove a person's waiting events (``workspace=None``: in every workspace of the
        platform), and their words from others' waiting reactions to their messages (the
        reacted-to text, which a replay would learn from): the rest of such a reaction is
        the reactor's and stays. Part of ``/forget``: the journal holds their words.

        The entry being replayed (:attr:`replaying`) stays: a replayed ``/forget`` runs this
        before its transaction commits, and a process that stopped in between (a crash, a
        kill) had lost it — the person asked to be forgotten, and nothing was, nor would
        be. It leaves once its replay is done (:meth:`done`), and a replay that meets the
        database away keeps it, as any. What is left of it then is that command, not their
        words. A platform's notice that someone is gone, kept because the database was away
        (a :class:`DepartureEvent`: identifiers only), stays too, whoever's it is: it is an
        erasure still to be done, and done again it finds nothing. While such a notice is
        replayed, what was kept after it stays (:meth:`_departure_bound`)."""
        if self._conn is None and not self.exists():
            return 0
        where = "platform = ? AND {who} = ?"
        params: tuple[str | int, ...] = (platform, user_id)
        if workspace is not None:
            where += " AND workspace = ?"
            params += (workspace,)
        own = self.replaying.seq if self.replaying is not None else -1
        # Their words quoted in anyone's reaction go whenever it was kept: a reaction after a
        # departure may quote a message from before it.
        quoting = (
            where.format(who="json_extract(payload, '$.fields.target_author_id')")
            + " AND json_extract(payload, '$.fields.target_text') IS NOT NULL"
        )
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    f"DELETE FROM outage_event WHERE {where.format(who='user_id')}"
                    f" AND seq <> ? AND seq < ? AND {_NOT_DEPARTURE}",
                    (*params, own, self._departure_bound()),
                )
                db.execute(
                    "UPDATE outage_event SET payload = json_set(payload,"
                    f" '$.fields.target_text', NULL) WHERE {quoting}",
                    params,
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return int(cursor.rowcount or 0)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


Replay = Callable[[JournaledEvent, Owed | None], Awaitable[list[Reply]]]  # (event, owed)
Deliver = Callable[[JournaledEvent, list[Reply]], Awaitable[None]]


class Drainer:
    """The one replayer of a journal in this process. ``drain()`` may be called from anywhere
    (a new event, the retry loop, a test): calls are serialised by one lock, so an entry is
    never processed by two callers at once nor removed twice (the ``IndexError: pop from an
    empty deque`` of the in-memory backlog it replaces).

    ``replay(event, owed)`` processes an event and raises ``unavailable`` while the
    database is still away; the drain then stops and the retry loop tries again later (1 s,
    doubling up to a minute). What the replay got done before the database failed is kept
    with the entry first (``owed_of(exc)``, merged with what it owed, :meth:`Journal.keep`):
    a replay whose claim was sent into a hang, or committed before its answer failed, left
    the entry as it was, and with a database that hangs, thaws and hangs again the next
    replay found the claim and dropped the event as a duplicate, never answered (review).
    Callers that waited for that failed attempt return without one of their own: against a
    database that hangs each attempt takes the whole database timeout
    (profiles/db_timeout.py), and people writing together waited one attempt per person
    ahead of them (five at once: ten seconds for the last).
    A replay cut because the database was *busy* (``busy(exc)``: it answered, but a lock on
    that person's rows outlasted the wait) does not stop the drain: the entry is kept,
    marked busy, with what it owes as above, that person's later entries are skipped in this
    pass (their order is kept) and other people's are replayed; a later pass, or that
    person's next event, tries them again. A replay that meets the database away marks its
    entry an outage one and stops the drain, busy or not before (module docstring).
    Any other failure is logged and that entry is dropped, so one poisoned event cannot block
    everyone behind it."""

    def __init__(
        self,
        journal: Journal,
        replay: Replay,
        deliver: Deliver,
        *,
        unavailable: type[Exception],
        owed_of: Callable[[Exception], Owed | None] = lambda _exc: None,
        busy: Callable[[Exception], bool] = lambda _exc: False,
        before: Callable[[], Awaitable[None]] | None = None,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        self.journal = journal
        self._replay = replay
        self._deliver = deliver
        self._unavailable = unavailable
        self._owed_of = owed_of
        self._busy = busy
        # Run before each attempt (Database.fence_lost: what a connection lost in a hang
        # was sent has landed or never will); raising ``unavailable`` stops it, as a replay
        self._before = before
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.replaying = False
        self._failed_attempts = 0

    @property
    def draining(self) -> bool:
        return self._lock.locked()

    async def drain(self) -> int:
        """Replay waiting events in order until the journal is empty, but for the entries of
        people whose replay was cut busy in this pass, or the database fails again; returns
        how many were processed (0 as well when the attempt this call waited for failed: the
        database is still away, see the class docstring)."""
        done = 0
        failed_before = self._failed_attempts
        async with self._lock:
            if self._failed_attempts != failed_before:
                return 0
            if self._before is not None and self.journal.first() is not None:
                try:
                    await self._before()
                except self._unavailable:
                    self._failed_attempts += 1
                    return 0
            held: set[PersonKey] = set()  # people whose replay was cut busy in this pass
            while (head := self.journal.first(skipping=held)) is not None:
                event, owed = head.event, head.owed
                self.replaying = True
                self.journal.replaying = head
                try:
                    replies = await self._replay(event, owed)
                except self._unavailable as exc:
                    busy = self._busy(exc)
                    self._keep_what_is_owed(head, exc, busy=busy)
                    if busy:
                        held.add(head.person)
                        continue
                    self._failed_attempts += 1
                    break
                except Exception:
                    log.exception("replayed event %s failed and was dropped", event.event_id)
                    replies = []
                finally:
                    self.replaying = False
                    self.journal.replaying = None
                self.journal.done(head)
                done += 1
                if replies:
                    try:
                        await self._deliver(event, replies)
                    except Exception:
                        log.exception("replies to replayed event %s not delivered", event.event_id)
        return done

    def _keep_what_is_owed(self, entry: Entry, exc: Exception, *, busy: bool) -> None:
        """``entry``, whose replay met the database gone (``busy``: busy), now says why and
        what the replay left owed (see the class docstring). A replayed ``/forget`` removes
        its person's other waiting events before its transaction commits, never its own
        (:meth:`Journal.forget`); should it be gone all the same, it is kept again, at the
        end: it must still be done."""
        self.journal.mark(entry, busy=busy)
        owed = self._owed_of(exc)
        if owed is None:
            return
        event = entry.event
        if self.journal.keep(event, owed=owed, busy=busy) is Kept.FULL:
            log.error("replayed event %s met the outage and could not be kept again: the "
                      "journal is full", event.event_id)

    def wake(self) -> None:
        """Make sure a retry loop is running while events wait."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry_until_empty())

    async def _retry_until_empty(self) -> None:
        delay = self.first_delay
        while len(self.journal):
            await asyncio.sleep(delay)
            await self.drain()
            delay = min(self.max_delay, delay * 2)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.journal.close()
