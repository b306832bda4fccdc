"""A page of readers read at once equals the readers read one by one, in a number of
statements that does not grow with the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event

from bot.digest.cache import SharedCache
from bot.digest.readers import load_page
from bot.digest.sources import GatherContext, RecommendationSource
from profiles.models import Person, Recommendation
from profiles.signals import MessageSignals
from tests.bot.digest.conftest import consenting, interests
from tests.support.helpers import command, person, person_id


async def _people(core: Any, n: int) -> list[int]:
    """A varied page: interests (some disliked), explicit preferences, style and habits,
    items already sent, open recommendations; one person revoked, one never asked."""
    ids: list[int] = []
    for i in range(n):
        who = person(f"u{i}")
        pid = await consenting(core, who)
        ids.append(pid)
        await interests(core, pid, "rust async", f"topic {i % 3}", weight=1.0 + i)
        if i % 2:
            await interests(core, pid, "crypto", weight=-2.0)
            await core.handle(command(who, "prefs", "set tone formal"))
        async with core.services.db.session() as session:
            for m in range(i % 4):
                await core.services.engine.observe_message(
                    session,
                    pid,
                    MessageSignals(
                        topics=(("chess", 0.9),),
                        language="de",
                        length=30 + m,
                        word_count=5,
                        formality=0.5,
                        emoji_count=0,
                    ),
                    at=core.services.clock(),
                    local_hour=9,
                    event_id=None,
                    excerpt="x",
                )
            for r in range(i % 3):
                session.add(
                    Recommendation(
                        person_id=pid,
                        request="what next",
                        title=f"rec {i}/{r}",
                        normalised_title=f"rec {i}/{r}",
                        topics=["chess"],
                        reason="because",
                        status="shown",
                        created_at=core.services.clock() - dt.timedelta(days=r),
                    )
                )
    revoked = person("revoked")
    rid = await consenting(core, revoked)
    await core.handle(command(revoked, "consent", "revoke"))
    stranger = person("stranger")
    await core.handle(command(stranger, "prefs", "set tone casual"))
    sid = await person_id(core, stranger)
    assert sid is not None
    return [*ids, rid, sid]


async def test_a_page_of_readers_equals_readers_read_one_by_one(make_digests, clock):
    core, service = await make_digests()
    ids = await _people(core, 7)
    now = clock()
    async with core.services.db.session() as session:
        page = await load_page(session, core.services.engine, [*ids, 999_999], now)
    assert 999_999 not in page  # a forgotten person is simply absent
    builder = service.builder
    for pid in ids:
        async with core.services.db.session() as session:
            one = await builder.load_reader(session, page[pid].person, now)
        found = page[pid]
        assert found.allowed == one.learning
        if found.allowed:
            assert found.reader == one
        else:
            assert found.reader is None
    allowed = [page[pid].allowed for pid in ids]
    assert allowed == [True] * 7 + [False, False]  # the last two: revoked, never granted


async def test_page_queries_do_not_grow_with_people(make_digests, clock):
    core, _ = await make_digests()
    ids = await _people(core, 6)

    async def statements_for(page: list[int]) -> int:
        """Statements on the page's own connection only: background work of other features
        (digest job reconciliation) runs on other connections and must not be counted."""
        found: list[str] = []

        def count(*args: Any) -> None:
            found.append(args[2])

        async with core.services.db.session() as session:
            conn = (await session.connection()).sync_connection
            assert conn is not None
            event.listen(conn, "before_cursor_execute", count)
            try:
                await load_page(session, core.services.engine, page, clock())
            finally:
                event.remove(conn, "before_cursor_execute", count)
        return len(found)

    few = await statements_for(ids[:2])
    many = await statements_for(ids)
    assert 0 < few == many <= 10


async def test_prefetched_recommendations_equal_the_per_person_query(make_digests, clock):
    core, _ = await make_digests()
    ids = await _people(core, 5)
    source = RecommendationSource(limit=1)
    now = clock()
    cache = SharedCache()
    await source.prefetch(core.services.db, ids, now, cache)
    async with core.services.db.session() as session:
        people = [await session.get(Person, pid) for pid in ids]
    for who in people:
        assert who is not None
        context = GatherContext(db=core.services.db, now=now, since=now, consent_opt_out=False)
        fresh = await source.candidates(who, context)  # its own query: an empty cache
        context.cache = cache
        assert await source.candidates(who, context) == fresh
