"""The consent question as a person meets it: worded for the surface, the first exchange kept
for the model once they allow learning (and never stored before), and dropped otherwise."""

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlmodel import select

from bot.consent import AwaitingConsent, HeldTurn
from bot.llm import ScriptedBackend
from profiles.engine import PersonKey
from profiles.models import ConversationTurn, Interest, Signal
from tests.support.helpers import action, command, count, message, person


async def test_first_exchange_reaches_the_model_after_allow(make_core):
    llm = ScriptedBackend()
    core = await make_core(llm)
    alice = person()
    first = await core.handle(message(alice, "Can you help me plan a trip to Lisbon?"))
    assert first[-1].purpose == "consent_notice"
    assert await count(core, ConversationTurn) == 0  # nothing stored before consent
    assert await count(core, Signal) == 0

    await core.handle(action(alice, "consent.grant"))
    await core.handle(message(alice, "Three days, in May"))
    turns = [(t.role, t.content) for t in llm.requests[-1].turns]
    assert turns == [
        ("user", "Can you help me plan a trip to Lisbon?"),
        ("assistant", "(scripted) you said: Can you help me plan a trip to Lisbon?"),
        ("user", "Three days, in May"),
    ]
    async with core.services.db.read() as session:
        held = (await session.exec(select(ConversationTurn).order_by(ConversationTurn.id))).all()
    # the held reply's topics are read if it is ever judged, as any reply's
    assert [(t.role, t.topics) for t in held[:2]] == [("user", []), ("assistant", None)]


async def test_not_now_and_forget_drop_the_held_exchange(make_core):
    llm = ScriptedBackend()
    core = await make_core(llm)
    bob, cleo = person("bob"), person("cleo")
    await core.handle(message(bob, "my secret plans"))
    await core.handle(action(bob, "consent.decline"))
    await core.handle(command(bob, "consent", "grant"))
    assert await count(core, ConversationTurn) == 0

    await core.handle(message(cleo, "my other secret"))
    await core.handle(command(cleo, "forget", "confirm"))
    assert len(core.services.awaiting_consent) == 0
    await core.handle(command(cleo, "consent", "grant"))
    assert await count(core, ConversationTurn) == 0


async def test_not_now_after_allow_stops_learning_as_it_says(make_core):
    """"Not now" answered after an allow (a typed /consent decline, an older notice's
    button) replied "I won't learn from your messages" and left the consent granted."""
    core = await make_core(ScriptedBackend())
    alice = person("alice")
    await core.handle(command(alice, "consent", "grant"))
    [reply] = await core.handle(action(alice, "consent.decline"))
    assert "won't learn" in reply.text

    await core.handle(message(alice, "Kubernetes operators and Helm charts in production"))
    await core.services.learner.flush()

    assert await count(core, Signal) == 0 and await count(core, Interest) == 0
    [status] = await core.handle(command(alice, "consent"))
    assert "I am not learning anything." in status.text
    assert "no (declined or revoked)" in status.text  # not "revoked": she said Not now
    profile = " ".join(r.text for r in await core.handle(command(alice, "profile")))
    assert "You said no to learning from your messages" in profile


async def test_not_now_stays_a_no_when_the_workspace_turns_to_opt_out(make_core):
    """An opt-out workspace learns from whoever has not answered: someone who said "Not now"
    while it was opt-in was left unanswered, and learned from once it changed."""
    from profiles.workspace_defaults import CONSENT_KEY, OPT_OUT, set_default

    core = await make_core(ScriptedBackend(), workspace_opt_out_allowed=True)
    bob = person("bob")
    await core.handle(message(bob, "hello"))
    await core.handle(action(bob, "consent.decline"))
    async with core.services.db.session() as session:
        await set_default(session, "test", "W1", CONSENT_KEY, OPT_OUT, core.services.clock())

    await core.handle(message(bob, "Kubernetes operators and Helm charts in production"))
    await core.services.learner.flush()

    assert await count(core, Signal) == 0 and await count(core, Interest) == 0
    assert await count(core, ConversationTurn) == 0


def test_held_turns_expire_and_are_bounded():
    now = [dt.datetime(2030, 1, 1, tzinfo=dt.UTC)]
    held = AwaitingConsent(lambda: now[0], max_people=2, max_turns=3)
    key = PersonKey("test", "W1", "a")
    turn = HeldTurn("user", "x", "C1", None, None, now[0])
    held.hold(key, turn, turn, turn, turn)
    assert len(held.take(key)) == 3
    held.hold(key, turn)
    now[0] += dt.timedelta(hours=2)
    assert held.take(key) == []
    for user in "bcd":
        held.hold(PersonKey("test", "W1", user), turn)
    assert len(held) == 2  # the oldest person's turns went first


async def test_held_words_leave_memory_when_they_expire_even_if_never_taken():
    """The words of someone who never answers the notice are not kept past the hour: a
    later hold by anyone drops them (the longest silent first), and so does the timer on a
    bot that meets no one new. Before, only ``take`` filtered them: they stayed in memory
    until 10,000 other people pushed them out (privacy audit)."""
    now = [dt.datetime(2030, 1, 1, tzinfo=dt.UTC)]
    held = AwaitingConsent(lambda: now[0], sweep_every=dt.timedelta(milliseconds=20))
    dana, eve = PersonKey("test", "W1", "dana"), PersonKey("test", "W1", "eve")
    secret = HeldTurn("user", "my secret is vorpalquixote", "C1", None, None, now[0])
    held.hold(dana, secret)
    now[0] += dt.timedelta(minutes=61)
    held.hold(eve, HeldTurn("user", "hello", "C1", None, None, now[0]))
    assert dana not in held._held and len(held) == 1

    now[0] += dt.timedelta(minutes=30)
    held.hold(dana, secret)  # then eve's turn expires, and no one new comes
    now[0] += dt.timedelta(minutes=31)

    async def until(done: Callable[[], bool]) -> None:
        """The timer's sweeps, however slow the machine (a deadline, not a fixed sleep)."""
        for _ in range(500):
            if done():
                return
            await asyncio.sleep(0.02)

    await until(lambda: eve not in held._held)
    assert eve not in held._held and dana in held._held  # dana's newer turn is kept
    now[0] += dt.timedelta(hours=2)
    await until(lambda: held._sweeper is None)
    assert len(held) == 0 and held._sweeper is None  # nothing held: no timer either


async def test_notice_fits_the_surface(make_core):
    core = await make_core()
    workspace = await core.handle(message(person("dora"), "hello"))
    assert "colleagues" in workspace[-1].text
    assert [b.label for b in workspace[-1].buttons] == ["Allow", "Not now"]
    terminal = await core.handle(message(person("ed", "local", "terminal"), "hello"))
    assert "colleagues" not in terminal[-1].text and "channels" not in terminal[-1].text
    discord = await core.handle(message(person("fay", "dm", "discord"), "hello"))
    assert "every server" in discord[-1].text
    assert [b.action_id for b in discord[-1].buttons] == [
        "consent.grant_everywhere",
        "consent.grant",
        "consent.decline",
    ]


async def test_revoke_everywhere_drops_what_every_server_held(make_core):
    """The other servers' identities were revoked but their held exchanges (and digests)
    kept: a grant there within the hour then stored words said before the revocation."""
    core = await make_core(ScriptedBackend())
    here, there = person("fay", "G1", "discord"), person("fay", "G2", "discord")
    await core.handle(message(here, "hello"))
    await core.handle(message(there, "my secret plans for the G2 launch"))

    await core.handle(command(here, "consent", "revoke everywhere"))
    await core.handle(command(there, "consent", "grant"))

    assert await count(core, ConversationTurn) == 0
    assert len(core.services.awaiting_consent) == 0


async def test_revoke_everywhere_says_it_cancels_the_other_servers_digests(make_core):
    core = await make_core(ScriptedBackend())
    here, there = person("fay", "G1", "discord"), person("fay", "G2", "discord")
    await core.handle(command(here, "consent", "grant"))
    await core.handle(command(there, "consent", "grant"))
    subscribed = await core.handle(command(there, "digest", "subscribe daily 08:00"))
    assert subscribed[0].purpose != "error", subscribed[0].text

    [reply] = await core.handle(command(here, "consent", "revoke everywhere"))

    assert "I also cancelled your digest in 1 other server." in reply.text
