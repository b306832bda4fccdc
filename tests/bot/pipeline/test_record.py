"""The record of an exchange (bot/pipeline/record.py): the model call's row and both turns,
written straight to the driver, and a reply that survives whatever the record meets."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import select

from bot.core import Core
from bot.digest.store import as_utc
from bot.events import PersonRef
from bot.llm import ScriptedBackend
from bot.llm.base import LLMRequest, LLMResult
from bot.llm.base import PartialCallback as Partial
from profiles.models import TOKEN_COUNT_MAX, ConversationTurn, LLMCall, Person
from tests.conftest import MakeCore
from tests.support.helpers import command, count, grant, message, person, person_id


class Misreporting(ScriptedBackend):
    """A model server whose body reports ``changes`` (still valid JSON, but token counts or
    a model name no column holds): its answer made as a backend makes one, with them."""

    def __init__(self, **changes: object) -> None:
        super().__init__()
        self.changes = changes

    async def generate(
        self, request: LLMRequest, *, on_partial: Partial | None = None
    ) -> LLMResult:
        result = await super().generate(request, on_partial=on_partial)
        return dataclasses.replace(result, **self.changes)  # type: ignore[arg-type]


async def answered_by(make_core: MakeCore, llm: ScriptedBackend) -> Core:
    """A core whose model is ``llm``, after one consenting person's message: its answer
    delivered, with a feedback id (so recorded)."""
    core = await make_core(llm)
    alice = person()
    await grant(core, alice)
    [reply] = await core.handle(message(alice, "hello there"))
    assert reply.purpose == "chat" and reply.reply_id is not None
    return core


async def test_a_reply_is_recorded_with_its_call_and_both_turns(make_core: MakeCore) -> None:
    core = await make_core(ScriptedBackend(["Rye wants a longer ferment."]))
    alice = person()
    await grant(core, alice)
    [reply] = await core.handle(message(alice, "How long for a rye sourdough?"))
    pid = await person_id(core, alice)
    async with core.services.db.read() as session:
        turns = (await session.exec(
            select(ConversationTurn).where(ConversationTurn.person_id == pid)
            .order_by(ConversationTurn.id)  # type: ignore[arg-type]
        )).all()
        calls = (await session.exec(select(LLMCall))).all()
    assert [(t.role, t.text) for t in turns] == [
        ("user", "How long for a rye sourdough?"), ("assistant", "Rye wants a longer ferment."),
    ]
    assert reply.reply_id == f"turn:{turns[1].id}"
    assert turns[1].topics is None  # read when first judged
    assert [(c.person_id, c.model, c.ok) for c in calls] == [(pid, "scripted-1", True)]


async def test_every_row_of_an_exchange_carries_the_bots_clock(make_core: MakeCore) -> None:
    """The person, the model call's record and the bot's turn are stamped by the services'
    clock, which retention ages them by (the person's own turn by when the platform says
    they wrote it): the model call's row and a new person used to take the process's own
    clock, so in a bot whose clock is not the machine's a model call outlived its 30 days."""
    at = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
    core = await make_core(ScriptedBackend(["Rye wants a longer ferment."]))
    core.services.clock = lambda: at
    alice = person()
    await grant(core, alice)
    await core.handle(message(alice, "How long for a rye sourdough?", occurred_at=at))
    async with core.services.db.read() as session:
        stamps = [
            *(await session.exec(select(Person.created_at))).all(),
            *(await session.exec(select(Person.last_seen_at))).all(),
            *(await session.exec(select(LLMCall.created_at))).all(),
            *(await session.exec(select(ConversationTurn.created_at))).all(),
        ]
    assert len(stamps) == 5
    assert {as_utc(stamp) for stamp in stamps} == {at}


async def test_token_counts_no_column_holds_are_bounded_not_fatal(make_core: MakeCore) -> None:
    """A model that reports 10^13 input tokens (and a negative output count) still has its
    answer delivered and recorded: the count is stored at the column's limit (PostgreSQL's
    INTEGER refused it, and the reply with it), the negative one as unknown."""
    core = await answered_by(
        make_core, Misreporting(input_tokens=10**13, output_tokens=-(10**13))
    )
    async with core.services.db.read() as session:
        [call] = (await session.exec(select(LLMCall))).all()
    assert (call.input_tokens, call.output_tokens) == (TOKEN_COUNT_MAX, None)


class ForgetsMidAnswer(ScriptedBackend):
    """The person confirms ``/forget`` through another worker (``elsewhere``: another core on
    the same database) while this one's model is still answering them. (Within one core a
    person's events are handled in order, so the forget would wait for the answer.)"""

    def __init__(self, elsewhere: list[Core], who: PersonRef) -> None:
        super().__init__(["Here is your answer."])
        self.elsewhere, self.who = elsewhere, who

    async def generate(
        self, request: LLMRequest, *, on_partial: Partial | None = None
    ) -> LLMResult:
        await self.elsewhere[0].handle(command(self.who, "forget", "confirm"))
        return await super().generate(request, on_partial=on_partial)


async def test_a_forget_during_the_answer_still_delivers_it_and_keeps_nothing(
    make_core: MakeCore,
) -> None:
    """The record then refers to a person who no longer exists (the database refuses it):
    the answer the person is waiting for is delivered all the same, and nothing of the
    exchange is stored."""
    alice = person()
    elsewhere: list[Core] = []
    core = await make_core(ForgetsMidAnswer(elsewhere, alice))
    elsewhere.append(await make_core())
    await grant(core, alice)
    [reply, *_] = await core.handle(message(alice, "Tell me about rye sourdough"))
    assert reply.text == "Here is your answer." and reply.reply_id is None
    await core.services.learner.flush()
    assert await person_id(core, alice) is None
    assert await count(core, ConversationTurn) == 0


async def test_a_model_name_longer_than_its_columns_is_cut_not_fatal(make_core: MakeCore) -> None:
    """The name comes from the server's body: recorded (cut to the columns' 128 characters)
    with its call and the answer's turn, and the answer delivered with a feedback id."""
    core = await answered_by(make_core, Misreporting(model="m" * 300))
    async with core.services.db.read() as session:
        [call] = (await session.exec(select(LLMCall))).all()
        models = (await session.exec(select(ConversationTurn.model))).all()
    assert call.model == "m" * 128 and "m" * 128 in models
