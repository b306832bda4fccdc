"""Digest test support: a controllable clock, a delivery that records, a service per core,
and quick ways to give people interests and channel activity on the real databases."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from bot.core import Core
from bot.digest import DigestService, install
from bot.digest import store as digest_store
from bot.digest.sources import DigestSource
from bot.events import PersonRef, Reply
from bot.llm import LLMBackend, NoModelBackend
from profiles.models import Person
from tests.support.helpers import grant, person_id

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


class Clock:
    """A clock tests set and advance; the core and the digest service read it."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class Recorder:
    """A delivery that keeps what it was asked to send (what a person would receive)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[tuple[Person, list[Reply]]] = []
        self.fail = fail

    async def __call__(self, person: Person, replies: list[Reply]) -> None:
        if self.fail:
            raise ConnectionError("platform down")
        self.sent.append((person, replies))

    def to(self, user_id: str) -> list[list[Reply]]:
        return [replies for who, replies in self.sent if who.user_id == user_id]


MakeDigests = Callable[..., Any]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def make_digests(
    make_core: Any, clock: Clock, recorder: Recorder
) -> AsyncIterator[MakeDigests]:
    """``await make_digests(sources=[...], llm=..., **settings)`` → (core, service)."""
    services: list[DigestService] = []

    async def make(
        *,
        sources: Sequence[DigestSource] | None = None,
        llm: LLMBackend | None = None,
        deliveries: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> tuple[Core, DigestService]:
        # These tests exercise scheduling, delivery and writing with a handful of items:
        # unrelated items come along in the labelled "also new" tail (off in production).
        overrides.setdefault("digest_also_new_items", 6)
        core = await make_core(llm or NoModelBackend(), **overrides)
        core.services.clock = clock
        service = install(
            core.services,
            sources=sources,
            deliveries=deliveries if deliveries is not None else {"test": recorder},
        )
        services.append(service)
        return core, service

    yield make
    for service in services:
        await service.aclose()


async def consenting(core: Core, who: PersonRef) -> int:
    await grant(core, who)
    pid = await person_id(core, who)
    assert pid is not None
    return pid


async def interests(core: Core, pid: int, *topics: str, weight: float = 3.0) -> None:
    async with core.services.db.session() as session:
        await core.services.engine.add_interests(
            session, pid, [(t, weight) for t in topics], at=core.services.clock()
        )


async def activity(
    core: Core,
    author: int,
    text: str,
    topics: Sequence[str],
    *,
    channel: str = "C1",
    private: bool = False,
    message_id: str,
    thread_id: str | None = None,
    at: dt.datetime | None = None,
    workspace: str = "W1",
) -> None:
    async with core.services.db.session() as session:
        await digest_store.record_activity(
            session,
            person_id=author,
            platform="test",
            workspace=workspace,
            channel_id=channel,
            private=private,
            message_id=message_id,
            thread_id=thread_id,
            excerpt=text,
            topics=list(topics),
            at=at or core.services.clock() - dt.timedelta(hours=2),
        )


def pause_the_page_once_held(monkeypatch: Any) -> tuple[asyncio.Event, asyncio.Event]:
    """A digest page's recording paused right after it holds its people (reading their
    consent is its next statement): ``(held, go_on)`` — set when it holds them, and what
    lets it go on."""
    held, go_on = asyncio.Event(), asyncio.Event()
    consents_of = digest_store.consents_of

    async def paused(session: Any, ids: Any) -> Any:
        held.set()
        await go_on.wait()
        return await consents_of(session, ids)

    monkeypatch.setattr(digest_store, "consents_of", paused)
    return held, go_on

