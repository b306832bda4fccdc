"""Property: a reply's claim straight to the driver (``Identify.claim_if_steady``) decides and
writes what the claim's session transaction would have, whatever the sender's state — new,
consented, declined, revoked; renamed or not; last seen long ago or just now; a timezone the
platform reports for the first time, again, or none. Two cores, each on its own database,
are given the same events on the same clock; one may only claim through its session."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.config import Settings
from bot.core import Core
from bot.events import PlatformContext
from bot.llm import ScriptedBackend
from bot.pipeline.identify import SteadyClaim
from profiles.db import Database
from profiles.models import Consent, ConversationTurn, Person, Preference, ProcessedEvent, Signal
from tests.support.helpers import command, message, person
from tests.support.statements import statements_sent

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("message"),
            st.sampled_from(["Carol", "Carol B.", None]),  # display name the platform sends
            st.sampled_from([None, "Asia/Tokyo", "Europe/Paris"]),  # timezone it reports
            st.sampled_from([0, 30, 301]),  # seconds since the previous step
        ),
        st.tuples(
            st.just("command"),
            st.sampled_from(["consent grant", "consent decline", "consent revoke"]),
            st.none(),
            st.just(0),
        ),
    ),
    min_size=1,
    max_size=7,
)


async def stored(core: Core) -> dict[str, Any]:
    """Everything either path writes about the person, in comparable form."""
    await core.services.learner.flush()
    async with core.services.db.read() as session:
        people = (await session.exec(select(Person))).all()
        consents = (await session.exec(select(Consent))).all()
        preferences = (await session.exec(select(Preference))).all()
        claims = (await session.exec(select(ProcessedEvent.event_id))).all()  # type: ignore[call-overload]
        turns = (await session.exec(select(ConversationTurn.role, ConversationTurn.text))).all()  # type: ignore[call-overload]
        signals = (await session.exec(select(Signal.event_id))).all()  # type: ignore[call-overload]

    def naive(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=None)

    return {
        "people": sorted((p.user_id, p.display_name, naive(p.last_seen_at)) for p in people),
        "consents": sorted((c.status, naive(c.notice_shown_at)) for c in consents),
        "preferences": sorted((p.key, p.value, p.source) for p in preferences),
        "claims": sorted(claims),
        "turns": sorted(tuple(t) for t in turns),
        "signals": sorted(set(signals)),
    }


def core_on(template: Path, folder: Path, name: str, clock: list[dt.datetime]) -> Core:
    path = folder / f"{name}.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    core = Core(
        Settings(database_url=url, last_seen_resolution_seconds=300, _env_file=None),  # type: ignore[call-arg]
        Database(url),
        ScriptedBackend(),
    )
    core.services.clock = lambda: clock[0]
    return core


async def compare(template: Path, folder: Path, plan: list[tuple[str, Any, Any, int]]) -> int:
    """Play ``plan`` on both cores, comparing answers, model requests and stored rows after
    each step; returns how many messages were claimed on the driver."""
    clock = [START]
    driver = core_on(template, folder, "driver", clock)
    session_only = core_on(template, folder, "session", clock)

    async def never(*_: Any) -> None:
        return None  # the session's path, always

    session_only.chat._claim_steady = never  # type: ignore[method-assign]
    on_driver = 0
    claim_if_steady = driver.chat.identify.claim_if_steady

    async def counted(*args: Any) -> SteadyClaim:
        nonlocal on_driver
        claimed = await claim_if_steady(*args)
        on_driver += claimed is not SteadyClaim.NOT_STEADY
        return claimed

    driver.chat.identify.claim_if_steady = counted  # type: ignore[method-assign]
    try:
        for i, (kind, first, second, pause) in enumerate(plan):
            clock[0] += dt.timedelta(seconds=pause)
            if kind == "command":
                event: Any = command(person("carol"), *first.split(" ", 1))
            else:
                who = dataclasses.replace(person("carol"), display_name=first)
                event = message(who, f"sourdough bread and rye number {i}",
                                context=PlatformContext(timezone=second))
            answers = []
            for core in (driver, session_only):
                replies = await core.handle(event)
                answers.append([(r.purpose, r.kind) for r in replies])
            assert answers[0] == answers[1], (i, plan)
            if kind == "message" and answers[0] and answers[0][0][0] == "chat":
                asked = [core.services.llm.requests[-1] for core in (driver, session_only)]
                assert asked[0] == asked[1], (i, plan)
            assert await stored(driver) == await stored(session_only), (i, plan)
    finally:
        for core in (driver, session_only):
            await core.aclose()
            await core.services.db.dispose()
    return on_driver


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps)
def test_a_claim_on_the_driver_writes_what_the_session_would(
    sqlite_template: Path, plan: list[tuple[str, Any, Any, int]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(compare(sqlite_template, Path(folder), plan))


async def test_the_comparison_reaches_both_paths(sqlite_template: Path, tmp_path: Path) -> None:
    """What the property compares: a steady sender's message, a rename and a due last-seen
    mark are claimed on the driver; a new person and a newly reported timezone are not."""
    plan = [
        ("message", "Carol", None, 0),  # new: the session
        ("command", "consent grant", None, 0),
        ("message", "Carol", None, 30),  # steady: the driver
        ("message", "Carol B.", None, 30),  # renamed: the driver, with the UPDATE
        ("message", "Carol B.", None, 301),  # last seen due: the driver, with the UPDATE
        ("message", "Carol B.", "Asia/Tokyo", 0),  # a new timezone: the session
        ("message", None, "Asia/Tokyo", 0),  # the same again, no name: the driver
        ("command", "consent decline", None, 0),
        ("message", "Carol B.", None, 0),  # declined, answered: the driver
    ]
    assert await compare(sqlite_template, tmp_path, plan) == 5


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize("timezone", [None, "Asia/Tokyo"], ids=["steady", "new-timezone"])
async def test_on_postgresql_a_known_sender_is_claimed_with_the_read(
    make_core: Any, database_url: str, timezone: str | None
) -> None:
    """One statement reads the sender and claims the message. A sender who needs more
    written (a timezone the platform reports anew) is then handled by the claim's session
    without a second claim: answered once, the timezone stored, a retry a duplicate."""
    core = await make_core()
    carol = person("carol")
    await core.handle(command(carol, "consent", "grant"))
    outcomes: list[SteadyClaim] = []
    claim_if_steady = core.chat.identify.claim_if_steady

    async def recorded(*args: Any) -> SteadyClaim:
        outcomes.append(await claim_if_steady(*args))
        return outcomes[-1]

    core.chat.identify.claim_if_steady = recorded
    asked = message(carol, "sourdough bread and rye", context=PlatformContext(timezone=timezone))
    with statements_sent(core.services.db) as sent:
        replies = await core.handle(asked)
    assert [r.purpose for r in replies] == ["chat"]
    assert outcomes == [
        SteadyClaim.CLAIMED if timezone is None else SteadyClaim.CLAIMED_NOT_STEADY
    ]
    claims = [s for s in sent if "INSERT INTO processed_event" in s]
    assert len(claims) == 1 and claims[0].startswith("WITH claimed AS"), claims
    async with core.services.db.session() as session:
        stored = (await session.exec(
            select(Preference.value).where(Preference.key == "timezone")
        )).all()
        claimed = (await session.exec(
            select(ProcessedEvent.id).where(ProcessedEvent.event_id == asked.event_id)
        )).all()
    assert list(stored) == ([] if timezone is None else [timezone]) and len(claimed) == 1
    assert await core.handle(asked) == []  # a platform's retry
    assert outcomes[-1] is SteadyClaim.DUPLICATE
