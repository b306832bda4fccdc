"""The workspace background (profiles/background.py) is counted off the reply path (issue 16).

Counting how many people of a workspace hold each topic took 66 ms a cache miss at 20k people
on PostgreSQL, inside context assembly. Now a reply serves the counts already known and one
refresh task per workspace counts what is missing or old, in sessions of its own; once it
finished the weights apply. Each test runs on SQLite and PostgreSQL. Statements are told
apart by the task that sent them: the reply's own task must send no count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event

from bot.core import Core
from bot.events import MessageEvent, Surface
from profiles import db_timeout
from profiles.background import WorkspaceBackground, distinctiveness
from profiles.engine import PersonKey
from profiles.models import ConsentStatus
from profiles.workspace_defaults import CONSENT_KEY, OPT_OUT, set_default
from tests.conftest import MakeCore
from tests.support.helpers import message, person

SHARED = "sourdough baking"
OWN = ["rust async", "film noir", "jazz piano", "kubernetes operators", "bird watching",
       "chess openings"]
# More of each person's own, so that nobody is a newcomer (fewer than three topics: the
# cold-start list of the workspace's popular topics is read too).
MORE = ["tide pools", "glass blowing", "fern spores", "vinyl pressing", "rope bridges",
        "moth wings", "tram lines", "paper kites", "salt marshes", "clock repair",
        "bee keeping", "sea kayaks"]
# How the workspace counts (its people with an interest, each topic's holders) are sent.
COUNT = "count(*)"


async def _seed(core: Core, workspace: str, user: str, topics: list[str], *,
                granted: bool = True) -> None:
    """Someone with ``topics`` (learned now: the core's clock decays them), consent granted
    or left unanswered."""
    engine, now = core.services.engine, core.services.now()
    async with core.services.db.session() as session:
        found = await engine.person(session, PersonKey("test", workspace, user))
        assert found.id is not None
        if granted:
            await engine.set_consent(session, found.id, ConsentStatus.GRANTED, now)
        else:
            await engine.consent(session, found.id)
        await engine.add_interests(session, found.id, [(t, 2.0) for t in topics], at=now)


async def _workspace(core: Core, workspace: str = "W1", people: int = 6) -> None:
    """``people`` who all talk about :data:`SHARED`, each also about a subject of their own."""
    for n in range(people):
        await _seed(core, workspace, f"u{n}", [SHARED, OWN[n], *MORE[2 * n : 2 * n + 2]])


def _ask(who: str = "u0", workspace: str = "W1") -> MessageEvent:
    return message(person(who, workspace), "what should I read next?", surface=Surface.DM)


@contextmanager
def counts_by_task(core: Core) -> Iterator[dict[str, list[str]]]:
    """The background counts sent while the block runs, by ``here`` (the block's own task)
    and ``elsewhere``."""
    mine = asyncio.current_task()
    seen: dict[str, list[str]] = {"here": [], "elsewhere": []}

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if COUNT in statement.lower():
            where = "here" if asyncio.current_task() is mine else "elsewhere"
            seen[where].append(" ".join(statement.split())[:110])

    sync = core.services.db.engine.sync_engine
    event.listen(sync, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sync, "before_cursor_execute", record)


def gate(background: WorkspaceBackground) -> asyncio.Event:
    """Hold the background's refreshes before they open a session until the returned event
    is set: what a reply sees while one is running is then not a race."""
    opened = asyncio.Event()
    sessions = background._sessions
    assert sessions is not None

    @asynccontextmanager
    async def gated() -> AsyncIterator[Any]:
        await opened.wait()
        async with sessions() as session:
            yield session

    background.refresh_with(gated)
    return opened


async def _factor(core: Core, workspace: str = "W1", topic: str = SHARED) -> float:
    """The weight the background gives ``topic`` now, without waiting for anything."""
    async with core.services.db.session() as session:
        factors = await core.services.engine.background.factors(
            session, "test", workspace, [topic])
    return factors[topic]


async def test_a_reply_on_a_cold_background_counts_nothing_and_the_refresh_weighs_later(
    make_core: MakeCore,
) -> None:
    core = await make_core(settle=False)
    await _workspace(core)
    background = core.services.engine.background
    opened = gate(background)
    with counts_by_task(core) as counts:
        await core.preview_request(_ask())
        assert await _factor(core) == 1.0  # not counted yet: no adjustment
        opened.set()
        await background.settle()
    assert counts["here"] == []  # the reply path paid no count
    assert counts["elsewhere"]  # the refresh did
    # Everyone shares it: once counted it weighs what everyone says does.
    assert await _factor(core) == distinctiveness(6, 6) < 0.1
    assert await _factor(core, topic=OWN[0]) == 1.0
    async with core.services.db.session() as session:
        found = await core.services.engine.find_person(session, PersonKey("test", "W1", "u0"))
        assert found is not None
        snapshot = await core.services.engine.snapshot(session, found, core.services.now())
    # Equal weights but for the background: what everyone says comes last.
    assert [v.topic for v in snapshot.interests][-1] == SHARED


async def test_old_counts_serve_while_a_refresh_follows_the_workspaces_consent_mode(
    make_core: MakeCore,
) -> None:
    """Six people who said yes, six who never answered and all talk about the same thing:
    in a workspace that asks first only the first six count; once an admin chose opt-out,
    the refresh after the cache's age counts all twelve (the consent gate's own rule)."""
    core = await make_core(workspace_opt_out_allowed=True, settle=False)
    clock = [1000.0]
    background = core.services.engine.background
    background.clock = lambda: clock[0]
    for n in range(6):
        await _seed(core, "W1", f"yes{n}", [OWN[n], *MORE[2 * n : 2 * n + 2]])
        await _seed(core, "W1", f"quiet{n}", [SHARED], granted=False)
    await core.preview_request(_ask("yes0"))
    await _factor(core)
    await background.settle()
    assert background.people("test", "W1") == 6
    assert await _factor(core) == 1.0  # nobody who counts holds it

    async with core.services.db.session() as session:
        await set_default(session, "test", "W1", CONSENT_KEY, OPT_OUT, core.services.now())
    clock[0] += background.ttl - 1  # still fresh: the counts stand
    await core.preview_request(_ask("yes0"))
    await background.settle()
    assert background.people("test", "W1") == 6

    clock[0] += 2  # old now
    opened = gate(background)
    with counts_by_task(core) as counts:
        await core.preview_request(_ask("yes0"))
        assert await _factor(core) == 1.0  # the old counts, served while the refresh waits
        assert background.people("test", "W1") == 6
        opened.set()
        await background.settle()
    assert counts["here"] == [] and counts["elsewhere"]
    assert background.people("test", "W1") == 12
    assert await _factor(core) == distinctiveness(6, 12) < 1.0  # half the workspace says it


async def test_each_workspace_is_counted_apart(make_core: MakeCore) -> None:
    core = await make_core(settle=False)
    await _workspace(core, "W1")
    for n in range(6):  # the same words in another workspace, held by one person there
        await _seed(core, "W2", f"v{n}", [OWN[n]] + ([SHARED] if n == 0 else []))
    await core.preview_request(_ask("u0", "W1"))
    await core.preview_request(_ask("v0", "W2"))
    await core.services.engine.background.settle()
    assert await _factor(core, "W1") == distinctiveness(6, 6)
    assert await _factor(core, "W2") == 1.0


async def test_closing_the_core_cancels_a_refresh_still_counting(make_core: MakeCore) -> None:
    core = await make_core(settle=False)
    await _workspace(core)
    background = core.services.engine.background
    started, never = asyncio.Event(), asyncio.Event()
    counting: list[asyncio.Task[Any]] = []
    mine = asyncio.current_task()

    async def slow_count(*args: Any) -> dict[str, int]:
        task = asyncio.current_task()
        assert task is not None and task is not mine, "counted on the reply path"
        counting.append(task)
        started.set()
        await never.wait()
        return {}

    background._df = slow_count  # type: ignore[method-assign]
    await core.preview_request(_ask())
    await asyncio.wait_for(started.wait(), 60)  # a guard: never hang if nothing counts
    await core.aclose()
    assert counting[0].cancelled()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("workspace background")]
    await core.preview_request(_ask("u1"))  # closed: nothing new starts
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("workspace background")]


async def test_an_engine_on_its_own_counts_in_the_callers_session(make_core: MakeCore) -> None:
    """Without sessions of its own (an engine used outside the bot) the background counts
    before answering, as it always did: the answer is the counted one at once."""
    core = await make_core(settle=False)
    await _workspace(core)
    background = WorkspaceBackground(opt_out_in=core.services.engine.opt_out_in)
    async with core.services.db.session() as session:
        factors = await background.factors(session, "test", "W1", [SHARED, OWN[0]])
        assert await background.people_in(session, "test", "W1") == 6
    assert factors == {SHARED: distinctiveness(6, 6), OWN[0]: 1.0}
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("workspace background")]


async def test_a_failed_refresh_is_retried_after_a_pause_and_warned_about_once(
    make_core: MakeCore, caplog: Any
) -> None:
    """The database away: replies keep coming and each would start a refresh that fails and
    warns. One failure pauses refreshes of that workspace for ``retry_seconds`` (on the
    injected clock), so an outage costs one warning and one attempt per pause; once the
    database answers the counts come back."""
    core = await make_core(settle=False)
    await _workspace(core)
    background = core.services.engine.background
    now = [1_000.0]
    background.clock = lambda: now[0]
    attempts: list[int] = []
    counted = background._df

    async def away(*args: Any) -> dict[str, int]:
        attempts.append(1)
        raise ConnectionError("database away")

    background._df = away  # type: ignore[method-assign]
    with caplog.at_level("WARNING", logger="profiles.background"):
        for who in ("u0", "u1", "u2", "u3"):
            await core.preview_request(_ask(who))
            await background.settle()
    assert len(attempts) == 1
    assert len([r for r in caplog.records if "not refreshed" in r.message]) == 1
    now[0] += background.retry + 1  # the pause is over and the database is back
    background._df = counted  # type: ignore[method-assign]
    await core.preview_request(_ask())
    await background.settle()
    assert background.people("test", "W1") == 6


async def test_the_cold_start_list_is_recounted_beside_the_replies(make_core: MakeCore) -> None:
    """The workspace's shared topics, shown to people with fewer than three topics of their
    own, are counted over the whole workspace: a workspace's first ask counts in place, but
    once the list is known a reply serves it, and an older one is recounted off the reply
    path (on the injected clock, so no waiting)."""
    core = await make_core(settle=False)
    await _workspace(core)
    await _seed(core, "W1", "newcomer", ["tide pools"])  # one topic: the list is shown
    engine, background = core.services.engine, core.services.engine.background
    now = [1_000.0]
    engine.monotonic = background.clock = lambda: now[0]
    with counts_by_task(core) as first:
        await core.preview_request(_ask("newcomer"))
    assert first["here"]  # nothing known yet: counted for this reply
    assert engine._popular_cache[("test", "W1")][0] == 1_000.0
    await background.settle()
    now[0] += 3_600.0  # an hour later: the list is old
    with counts_by_task(core) as later:
        await core.preview_request(_ask("newcomer"))
        await background.settle()
    assert later["here"] == []  # the reply served the old list
    assert later["elsewhere"]  # ... and the recount ran beside it
    assert engine._popular_cache[("test", "W1")][0] == now[0]


async def test_a_failed_recount_beside_the_replies_pauses_too(make_core: MakeCore) -> None:
    """The cold-start list's recount (run_beside) obeys the same pause after a failure as
    the workspace counts: one attempt per ``retry_seconds``, not one per reply."""
    core = await make_core(settle=False)
    background = core.services.engine.background
    now = [1_000.0]
    background.clock = lambda: now[0]
    attempts: list[int] = []

    async def away(session: Any) -> None:
        attempts.append(1)
        raise ConnectionError("database away")

    for _ in range(3):
        assert background.run_beside("popular test/W1", away)
        await background.settle()
    assert len(attempts) == 1
    now[0] += background.retry + 1
    assert background.run_beside("popular test/W1", away)
    await background.settle()
    assert len(attempts) == 2


async def test_a_refresh_started_by_patient_work_is_bounded(make_core: MakeCore) -> None:
    """A digest run is patient (no client-side bound: profiles/db_timeout.py); a workspace
    refresh it starts runs beside replies and must not inherit that (review)."""
    core = await make_core(settle=False)
    await _workspace(core)
    background = core.services.engine.background
    seen: list[bool] = []
    counted = background._df

    async def noting(*args: Any) -> dict[str, int]:
        seen.append(db_timeout._patient.get())
        return await counted(*args)

    background._df = noting  # type: ignore[method-assign]
    with core.services.db.patient():
        await core.preview_request(_ask("u0"))
    await background.settle()
    assert seen and not any(seen)
