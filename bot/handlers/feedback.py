"""Reactions and feedback buttons. On the bot's own reply: feedback on that reply. On anything
else: an interest signal in what was reacted to, learned in the learner's next batch
(bot/learning.py). Nothing from people who do not allow learning — neither the one who
reacts nor the one whose message it is: the reacted-to text is its author's words, and its
topics became the reactor's interests even when its author had never consented (privacy
audit; :func:`allowing_author`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import policy_for
from bot.events import ActionEvent, Event, ReactionEvent
from bot.learning import Pending
from bot.pipeline.identify import Identify
from bot.pipeline.intake import Intake
from bot.reply_bindings import turn_id_of
from bot.services import Services
from profiles.db import WriteNeeded, again_on_conflict
from profiles.engine import PersonKey
from profiles.feedback import reaction_value, reply_topics, teaches_interest
from profiles.ingest import Claim, Observation
from profiles.models import Consent, ConversationTurn, Person
from profiles.privacy import hold_against_erasure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UnreadReply:
    """The judged reply's topics are not read yet (``ConversationTurn.topics`` is None): its
    text, to read them from before its feedback is written."""

    text: str


async def allowing_author(
    services: Services, session: AsyncSession, event: ReactionEvent
) -> int | None:
    """The id of the author of the message ``event`` reacts to, if they allow learning from
    it by the rule their own messages are observed by (``ProfileEngine.may_learn_in``); None
    for someone the bot has no row for, or an author the adapter could not name. The id goes
    with what is learned, so that their ``/forget`` takes it back (profiles/borrowed.py)."""
    if event.target_author_id is None:
        return None
    ref = event.person
    author = await services.engine.find_person(
        session, PersonKey(ref.platform, ref.workspace, event.target_author_id)
    )
    if author is None or author.id is None:
        return None
    consent = await session.get(Consent, author.id)
    if consent is None:
        allows = await services.engine.opt_out_in(session, author.platform, author.workspace)
    else:
        allows = await services.engine.may_learn_in(session, author, consent)
    return author.id if allows else None


class Feedback:
    def __init__(self, services: Services, intake: Intake) -> None:
        """``intake``: where reactions wait to be resolved a batch at a time
        (bot/pipeline/intake.py), which hands some back (:meth:`reaction_one`)."""
        self.services = services
        self.identify = Identify(services)
        self.intake = intake
        intake.reactions = self

    async def reaction(self, event: ReactionEvent) -> None:
        """Queued for the intake's next batch, which hands back what only this event's own
        rule can decide (:meth:`reaction_one`): feedback on the bot's reply among it."""
        await self.intake.submit(event, event.target_text or "")

    async def reaction_one(self, event: ReactionEvent) -> None:
        await self.record(
            event,
            event.target_message_id,
            reaction_value(event.emoji),
            source="reaction",
            emoji=event.emoji,
            added=event.added,
        )

    async def button(self, event: ActionEvent) -> None:
        """The 👍/👎 buttons under a reply (``feedback.up`` / ``feedback.down``)."""
        await self.record(
            event,
            event.value or event.target_message_id or "",
            1 if event.action_id == "feedback.up" else -1,
            source="button",
            emoji=None,
            added=True,
        )

    async def record(
        self,
        event: Event,
        target: str,
        value: int,
        *,
        source: str,
        emoji: str | None,
        added: bool,
    ) -> None:
        """On the bot's reply to this person: feedback, idempotent by state (a replayed add
        or remove changes nothing twice, and adding the same reaction again after removing it
        counts again), applied at once. On anything else: an interest signal in what they
        reacted to (when the adapter could tell us its text), queued for the learner's next
        batch (bot/learning.py), which claims the event id so a retry counts once. Reactions
        from people who do not allow learning leave no trace at all."""
        engine = self.services.engine
        now = event.occurred_at
        read: list[str] | None = None  # the judged reply's topics, once read from its text
        # A reply whose binding is not committed yet, asked before any transaction below
        # reads: one committed in between has left memory, but is in what they read.
        unwritten = self.services.bindings.turn_for(target)

        async def decide(
            session: AsyncSession, writable: bool
        ) -> tuple[Person, str, int] | UnreadReply | None:
            """Feedback on a reply is written here (in a write transaction: the read-only
            first pass hands it on; a reply whose topics are not read yet is handed back to
            have them read first); a reaction elsewhere returns what to learn from."""
            person = await self.identify.learning_person(session, event)
            if person is None or person.id is None:
                return None
            turn = await self._bot_turn(session, person.id, target, unwritten)
            if turn is not None:
                if turn.topics is None and read is None:
                    return UnreadReply(turn.text)
                if not writable:
                    raise WriteNeeded("feedback on the bot's reply")
                # Before the first write: a /forget running meanwhile (another worker's)
                # either waits for this judgement or has gone first (profiles/privacy.py).
                if not await hold_against_erasure(session, person.id):
                    log.info("feedback %s not kept: its sender was forgotten meanwhile",
                             event.event_id)
                    return None
                if turn.topics is None:
                    turn.topics = read  # kept: taking the judgement back moves the same
                if not added:
                    await engine.withdraw_feedback(session, person.id, turn, emoji=emoji, at=now)
                elif value != 0:
                    await engine.record_feedback(
                        session, person.id, turn, value, at=now, source=source, emoji=emoji
                    )
                return None
            target_text = event.target_text if isinstance(event, ReactionEvent) else None
            if not (target_text is not None and emoji is not None
                    and teaches_interest(added, target_text, value)):
                return None
            if not (await policy_for(session, event)).learn:
                return None
            assert isinstance(event, ReactionEvent)  # only a reaction has a target text
            author_id = await allowing_author(self.services, session, event)
            if author_id is None:
                return None
            return person, target_text, author_id

        # Most reactions are to other people's messages and only read here: on SQLite a
        # read-only transaction does not queue for the writer. Quick: a few statements on
        # indexes about one person (profiles/db.py).
        async def decided() -> tuple[Person, str, int] | UnreadReply | None:
            nonlocal read
            found = await self.services.db.read_first(decide, quick=True)
            if isinstance(found, UnreadReply):
                # Read outside any transaction: on SQLite the write one holds the one
                # writer, which nobody should wait for while a worker extracts.
                read = await self._reply_topics(found.text)
                async with self.services.db.session(quick=True) as session:
                    found = await decide(session, True)
            return found

        # Feedback on a reply writes the person's interests and style, as a learning batch
        # of theirs may at the same moment: PostgreSQL broke such a deadlock by aborting the
        # feedback, which was dropped (a CI run).
        found = await again_on_conflict(decided, f"feedback {event.event_id}")
        if found is None or isinstance(found, UnreadReply):
            return
        person, target_text, author_id = found
        # decide returned them only for a reaction (with its emoji) from a known person
        assert isinstance(event, ReactionEvent)
        await self.learn_elsewhere(person, event, target_text, author_id)

    async def learn_elsewhere(
        self, person: Person, event: ReactionEvent, text: str, author_id: int
    ) -> None:
        """A reaction to someone else's message (``author_id``'s): interest in what it says,
        queued for the learner's next batch, which claims the event id so a retry counts
        once, and learns nothing if the author was forgotten or revoked meanwhile."""
        assert person.id is not None
        signals = await self.services.extract(text, names=event.target_mentioned_names)
        if not signals.topics:
            return
        ref = event.person
        await self.services.learner.submit(
            Pending(
                event=event,
                person=person,
                claim=Claim(ref.platform, ref.workspace, event.event_id),
                observation=Observation.of_reaction(
                    person.id, signals.topics, at=event.occurred_at, emoji=event.emoji,
                    event_id=event.event_id, author_id=author_id,
                ),
            )
        )

    async def _reply_topics(self, text: str) -> list[str]:
        """A judged reply's topics, read from its text. If they cannot be read the judgement
        still counts (the reply-length preference learns from it) and credits no topic —
        stored as none, so taking it back takes back exactly that."""
        try:
            return reply_topics(await self.services.extract(text))
        except Exception:
            log.exception("topics of a judged reply could not be read: it credits none")
            return []

    async def _bot_turn(
        self, session: AsyncSession, person_id: int, target: str, unwritten: int | None
    ) -> ConversationTurn | None:
        """``unwritten``: the turn whose binding to ``target`` is not written yet (a reply
        sent moments ago, bot/reply_bindings.py)."""
        if unwritten is not None:
            target = f"turn:{unwritten}"
        if target.startswith("turn:"):
            turn_id = turn_id_of(target)
            turn = None if turn_id is None else await session.get(ConversationTurn, turn_id)
            if turn is not None and turn.person_id == person_id and turn.role == "assistant":
                return turn
            return None
        result = await session.exec(
            select(ConversationTurn).where(
                ConversationTurn.platform_message_id == target,
                ConversationTurn.person_id == person_id,
                ConversationTurn.role == "assistant",
            )
        )
        return result.first()
