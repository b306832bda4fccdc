"""The hot path only runs statements SQLAlchemy can cache.

A statement without a cache key (e.g. a multi-row ``insert().values([...])``) is compiled
afresh on every execution; on the per-event path that was 13 % of the time (issue 16). This
test drives every kind of event the core learns from, on both databases, and fails naming
any statement that reached the database without a cache key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats

from bot.core import Core
from bot.events import Surface
from tests.support.helpers import grant, message, person, reaction

TEXT = "I'm learning Rust async programming and reading about distributed systems"


@contextmanager
def uncached_statements(core: Core) -> Iterator[list[str]]:
    """SQL of every statement executed without a cache key while the block runs."""
    found: list[str] = []

    def check(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        compiled = context is not None and context.compiled is not None
        if compiled and context.cache_hit is CacheStats.NO_CACHE_KEY:
            found.append(statement)

    sync = core.services.db.engine.sync_engine
    event.listen(sync, "before_cursor_execute", check)
    try:
        yield found
    finally:
        event.remove(sync, "before_cursor_execute", check)


async def test_learning_path_statements_are_cacheable(core: Core) -> None:
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    with uncached_statements(core) as found:
        for who in (alice, bob):
            await core.handle(message(who, TEXT, surface=Surface.CHANNEL))  # observed only
            await core.handle(message(who, TEXT))  # DM: learns and answers
            await core.handle(message(who, TEXT, surface=Surface.CHANNEL, mentioned=True))
            await core.handle(
                reaction(who, "someone-else", "🔥", target_text="sourdough bread baking")
            )
    assert found == [], "statements without a cache key on the hot path:\n" + "\n".join(found)


async def test_the_check_sees_an_uncacheable_statement(core: Core) -> None:
    """The listener can fail: a multi-row VALUES insert is reported."""
    from sqlalchemy import insert

    from profiles.models import Person, table_of

    with uncached_statements(core) as found:
        async with core.services.db.session() as session:
            await session.exec(
                insert(table_of(Person)).values(  # type: ignore[call-overload]
                    [
                        {"platform": "t", "workspace": "W", "user_id": "x1"},
                        {"platform": "t", "workspace": "W", "user_id": "x2"},
                    ]
                )
            )
    assert len(found) == 1 and "INSERT INTO person" in found[0]
