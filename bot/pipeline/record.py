"""Stage 6: record the exchange in a second, short transaction (the model call record and the
bot's turn, so reactions to the reply can be read as feedback), or hold it in memory while
the person's consent is unanswered."""

from __future__ import annotations

from bot.consent import HeldTurn
from bot.events import MessageEvent, Reply
from bot.pipeline.answer import Answered
from bot.pipeline.identify import key_of
from bot.services import Services
from profiles.feedback import reply_topics
from profiles.models import ConversationTurn, LLMCall, Person


class Record:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def store(
        self,
        event: MessageEvent,
        person: Person,
        *,
        learn: bool,
        reply: Reply,
        answered: Answered,
        text: str,
        thread: str | None,
    ) -> None:
        """Sets ``reply.reply_id`` to the stored turn, when one is stored."""
        services = self.services
        llm, result, error = services.llm, answered.result, answered.error
        async with services.db.session() as session:
            person_id = person.id if learn else None
            if llm.configured:
                session.add(
                    LLMCall.of(
                        result,
                        purpose="chat",
                        backend=llm.name,
                        person_id=person_id,
                        error=error,
                        latency_ms=answered.latency_ms,
                        tools=result.tools if result else None,
                    )
                )
            if learn and error is None:
                # Feedback on a reply is about the reply: its own topics (a canned notice
                # from a missing model has none worth crediting).
                topics = reply_topics(await services.extract(text)) if llm.configured else []
                assert person.id is not None
                turn = ConversationTurn(
                    person_id=person.id,
                    role="assistant",
                    text=text,
                    channel_id=event.channel_id,
                    thread_id=thread,
                    topics=topics,
                    model=result.model if result else None,
                )
                session.add(turn)
                await session.flush()
                reply.reply_id = f"turn:{turn.id}"

    def hold_until_consent(
        self, event: MessageEvent, text: str, answer: str | None, thread: str | None
    ) -> None:
        """Nothing is stored before consent; the exchange waits in memory so that, if the
        person allows learning, the model still sees how the conversation began."""
        now = self.services.clock()
        turns = [
            HeldTurn("user", text, event.channel_id, event.thread_id, event.message_id,
                     event.occurred_at)
        ]
        if answer is not None:
            turns.append(HeldTurn("assistant", answer, event.channel_id, thread, None, now))
        self.services.awaiting_consent.hold(key_of(event), *turns)
