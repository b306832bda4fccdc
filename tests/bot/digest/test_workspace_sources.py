"""Digest sources a workspace's admins chose (``/admin set digest-sources``): the builder
draws only from those, in that workspace only, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from bot.events import PersonRef
from profiles.models import Person
from tests.bot.digest.test_runner import StaticSource, item
from tests.bot.test_workspace_defaults import BOSS, say
from tests.support.helpers import grant, person, person_id


class Named(StaticSource):
    def __init__(self, name: str, *items: object) -> None:
        super().__init__(*items)  # type: ignore[arg-type]
        self.name = name


async def test_digests_draw_only_from_the_sources_a_workspace_chose(
    make_digests: object,
) -> None:
    channels = Named("channels", item("a", "Rust async runtimes compared", "rust async"))
    feeds = Named("rss", item("b", "Distributed consensus with Raft", "distributed systems"))
    core, digests = await make_digests(sources=[channels, feeds])  # type: ignore[operator]
    here, elsewhere = person("alice"), person("alice", workspace="W2")
    for who in (here, elsewhere):
        await grant(core, who)
    await say(core, BOSS, "set digest-sources rss")

    async def drafted(who: PersonRef) -> list[str]:
        async with core.services.db.session() as session:
            found = await session.get(Person, await person_id(core, who))
        assert found is not None
        now = core.services.clock()
        draft = await digests.builder.draft(core.services.db, found, now=now,
                                            since=now - dt.timedelta(days=1))
        return sorted(ranked.candidate.key for ranked in draft.items)

    assert await drafted(here) == ["b"]
    assert await drafted(elsewhere) == ["a", "b"]
    await say(core, BOSS, "set digest-sources none")
    assert await drafted(here) == []
