"""A workspace's consent mode reaches every place that counts people the bot may learn from:
the model summaries' queue, linked identities' interests, the digest's "similar people" and
the workspace background (popular topics, distinctiveness). Each is checked on SQLite and
PostgreSQL with people who never answered the consent question, in a workspace whose admin
chose opt-out (the deployment asks first) and in one that asks first (the deployment is
opt-out): the same resolution as the consent gate (``ProfileEngine.may_learn_in``)."""

from __future__ import annotations

import datetime as dt

from bot.core import Core
from bot.digest.collaborative import WorkspaceSimilarity
from bot.memory.links import with_linked_interests
from bot.summaries import due_people
from profiles.engine import PersonKey
from profiles.memories import join_links
from profiles.models import ConsentStatus, ConversationTurn, Person
from profiles.workspace_defaults import CONSENT_KEY, OPT_IN, OPT_OUT, set_default
from prompts.context import LocalTime, PromptContext
from tests.conftest import MakeCore

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
TOPICS = ("kubernetes operators", "rust async", "sourdough baking")


async def _seed(core: Core, workspace: str, user: str, *, granted: bool = False,
                turns: int = 3) -> Person:
    """Someone with interests and conversation turns, consent unanswered unless ``granted``
    (rows written directly: what an earlier mode, or another worker, left behind)."""
    engine = core.services.engine
    async with core.services.db.session() as session:
        person = await engine.person(session, PersonKey("test", workspace, user))
        assert person.id is not None
        if granted:
            await engine.set_consent(session, person.id, ConsentStatus.GRANTED, NOW)
        else:
            await engine.consent(session, person.id)
        await engine.add_interests(session, person.id, [(t, 2.0) for t in TOPICS], at=NOW)
        for n in range(turns):
            session.add(ConversationTurn(person_id=person.id, role="user", text=f"hello {n}",
                                         created_at=NOW))
        await session.commit()
    return person


async def _mode(core: Core, workspace: str, mode: str) -> None:
    async with core.services.db.session() as session:
        await set_default(session, "test", workspace, CONSENT_KEY, mode, NOW)
        await session.commit()


async def test_summaries_queue_follows_each_workspaces_mode(make_core: MakeCore) -> None:
    core = await make_core(workspace_opt_out_allowed=True)
    await _mode(core, "OUT", OPT_OUT)
    quiet_out = await _seed(core, "OUT", "ana")
    quiet_in = await _seed(core, "IN", "ana")
    said_yes = await _seed(core, "IN", "ben", granted=True)
    due = await due_people(core.services, min_new_turns=2, limit=10)
    assert sorted(due) == sorted([quiet_out.id, said_yes.id])
    assert quiet_in.id not in due

    strict = await make_core(workspace_opt_out_allowed=False)  # the operator said no since
    assert await due_people(strict.services, min_new_turns=2, limit=10) == [said_yes.id]

    opt_out = await make_core(consent_mode="opt_out")
    await _mode(opt_out, "IN", OPT_IN)
    assert sorted(await due_people(opt_out.services, min_new_turns=2, limit=10)) == sorted(
        [quiet_out.id, said_yes.id])


async def test_workspace_background_counts_whom_the_gate_lets_in(make_core: MakeCore) -> None:
    core = await make_core(workspace_opt_out_allowed=True)
    await _mode(core, "OUT", OPT_OUT)
    for user in ("a", "b", "c"):
        await _seed(core, "OUT", user)
        await _seed(core, "IN", user)
    background = core.services.engine.background
    async with core.services.db.session() as session:
        await background.factors(session, "test", "OUT", TOPICS)
        await background.factors(session, "test", "IN", TOPICS)
    await background.settle()  # counted off the caller's path
    assert background.people("test", "OUT") == 3
    assert background.people("test", "IN") == 0


async def test_digest_similar_people_follow_the_workspaces_mode(make_core: MakeCore) -> None:
    core = await make_core(workspace_opt_out_allowed=True)
    await _mode(core, "OUT", OPT_OUT)
    for user in ("a", "b"):
        await _seed(core, "OUT", user)
        await _seed(core, "IN", user)
    similarity = WorkspaceSimilarity(core.services.engine)
    db = core.services.db
    assert await similarity._build(db, ("test", "OUT"), NOW) is not None
    assert await similarity._build(db, ("test", "IN"), NOW) is None  # nobody may be counted


def _context() -> PromptContext:
    local = LocalTime("2026-11-26", "12:00", "Thursday", "afternoon", "UTC", "default")
    return PromptContext(bot_name="bot", platform="test", surface="dm", local=local,
                         language="en", language_source="default", tone="neutral",
                         tone_source="default", verbosity="normal", verbosity_source="default",
                         emoji="off")


async def test_linked_identities_share_interests_by_their_own_workspaces_mode(
    make_core: MakeCore,
) -> None:
    core = await make_core(workspace_opt_out_allowed=True)
    await _mode(core, "OUT", OPT_OUT)
    asking = await _seed(core, "HOME", "ana", granted=True, turns=0)
    in_out = await _seed(core, "OUT", "ana", turns=0)
    in_in = await _seed(core, "IN", "ana", turns=0)
    engine = core.services.engine
    async with core.services.db.session() as session:
        assert asking.id is not None and in_out.id is not None and in_in.id is not None
        await join_links(session, asking.id, in_out.id, group_key="g1", at=NOW)
    async with core.services.db.session() as session:
        merged = await with_linked_interests(engine, session, asking, _context(), NOW)
    assert {topic for topic, _ in merged.interests} == set(TOPICS)

    async with core.services.db.session() as session:
        await join_links(session, asking.id, in_in.id, group_key="g2", at=NOW)
        await set_default(session, "test", "OUT", CONSENT_KEY, OPT_IN, NOW)
    async with core.services.db.session() as session:
        alone = await with_linked_interests(engine, session, asking, _context(), NOW)
    # both linked identities now sit in asking-first workspaces and never answered
    assert alone.interests == []
