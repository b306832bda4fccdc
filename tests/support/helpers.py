"""Small helpers for tests: building events and reading the database back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, text

from bot.core import Core
from bot.events import (
    ActionEvent,
    CommandEvent,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Reply,
    Surface,
)
from bot.sanitize import fit_person
from profiles.engine import PersonKey
from profiles.models import Person

_ids = itertools.count(1)


def next_id(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_ids)}"


def started(
    extract: Callable[..., Awaitable[Any]],
) -> Callable[..., asyncio.Future[Any]]:
    """A stand-in for ``Services.start_extraction`` (a reply's extraction, under way at
    once) that runs ``extract``, written as one for ``Services.extract``."""
    return lambda text, **kw: asyncio.ensure_future(extract(text, **kw))


def person(user: str = "alice", workspace: str = "W1", platform: str = "test") -> PersonRef:
    return PersonRef(platform, workspace, user, user.title())


def message(who: PersonRef, text: str, *, event_id: str | None = None, **kw: Any) -> MessageEvent:
    kw.setdefault("surface", Surface.DM)
    kw.setdefault("context", PlatformContext())
    return MessageEvent(
        event_id=event_id or next_id("msg"),
        person=who,
        text=text,
        channel_id=kw.pop("channel_id", "C1"),
        **kw,
    )


def command(
    who: PersonRef, name: str, args: str = "", *, event_id: str | None = None
) -> CommandEvent:
    return CommandEvent(event_id=event_id or next_id("cmd"), person=who, name=name, args=args)


def action(who: PersonRef, action_id: str, value: str = "") -> ActionEvent:
    return ActionEvent(event_id=next_id("act"), person=who, action_id=action_id, value=value)


def reaction(
    who: PersonRef,
    target: str,
    emoji: str = "👍",
    *,
    added: bool = True,
    event_id: str | None = None,
    target_text: str | None = None,
    target_author: str | None = None,
) -> ReactionEvent:
    """``target_author``: the user id (in ``who``'s workspace) of the message's author, whose
    consent a reaction's learning needs too (bot/handlers/feedback.py)."""
    return ReactionEvent(
        event_id=event_id or next_id("react"),
        person=who,
        target_message_id=target,
        emoji=emoji,
        added=added,
        target_author_id=target_author,
        target_text=target_text,
    )


async def grant(core: Core, who: PersonRef) -> None:
    replies = await core.handle(command(who, "consent", "grant"))
    assert "learn" in replies[0].text


async def person_id(core: Core, who: PersonRef) -> int | None:
    who = fit_person(who)  # the core stores identities as fitted at its door
    async with core.services.db.session() as session:
        result = await session.exec(
            select(Person.id).where(  # type: ignore[call-overload]
                Person.platform == who.platform,
                Person.workspace == who.workspace,
                Person.user_id == who.user_id,
            )
        )
        return result.scalar_one_or_none()


async def people(core: Core, *users: str, workspace: str = "W1") -> list[int]:
    """The ids of ``users`` on the test platform, created as the engine creates people."""
    ids = []
    async with core.services.db.session() as session:
        for user in users:
            found = await core.services.engine.person(
                session, PersonKey("test", workspace, user)
            )
            assert found.id is not None
            ids.append(found.id)
    return ids


async def count(core: Core, model: Any, **where: Any) -> int:
    async with core.services.db.session() as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        result = await session.exec(stmt)  # type: ignore[call-overload]
        return int(result.scalar_one())


def replays_by_hand(core: Core) -> None:
    """Only the test's own ``drain_backlog`` replays the outage journal: the drainer's retry
    loop (first retry 1 s after an outage) would otherwise race it on a slow machine, and a
    drain that finds the journal emptied already replays 0 events."""
    core.drainer.first_delay = 3600.0


async def until_one_waits_for_a_lock(
    core: Core, unless: Callable[[], bool] = lambda: False
) -> None:
    """Return once a session of this PostgreSQL database waits for a row lock (another
    transaction's): how a test knows the transaction it started concurrently has reached
    the lock it must wait for, without sleeping for luck. Fails after 10 s. ``unless``:
    return as well once it holds (what the transaction does when it waits for nothing,
    when which of the two happens is what the test is about)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    try:
        async with asyncio.timeout(10):
            while not unless():
                async with core.services.db.read() as session:
                    if (await session.exec(query)).one()[0]:  # type: ignore[call-overload]
                        return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError("no transaction waited for a lock") from None


async def forget_once_held(
    core: Core, forgetter: Core, who: PersonRef, held: asyncio.Event, release: asyncio.Event
) -> asyncio.Future[list[Reply]]:
    """How a test stages "a /forget while another transaction holds the person"
    (PostgreSQL): once ``held`` is set, ``who``'s ``/forget confirm`` starts through
    ``forgetter`` (``core`` itself, or another worker on the same database), and once it
    waits for a lock, ``release`` lets the holder go on. Returns the forget, still running."""
    await held.wait()
    forget = asyncio.ensure_future(forgetter.handle(command(who, "forget", "confirm")))
    await until_one_waits_for_a_lock(core)
    release.set()
    return forget
