"""A real PostgreSQL connection that goes away and comes back (through a TCP proxy)."""

import pytest
from sqlalchemy.engine import make_url

from bot.core import DB_UNAVAILABLE, Core
from bot.llm import ScriptedBackend
from profiles.db import Database
from profiles.models import ConversationTurn, Interest
from tests.support.helpers import count, grant, message, person, person_id
from tests.support.tcp_proxy import TcpProxy

TEXT = "Reading about PostgreSQL replication and logical decoding internals"


@pytest.mark.postgres
async def test_message_kept_while_database_is_away_and_replayed_when_back(
    postgres_database, settings_for
):
    from tests.support.databases import truncate_all

    truncate_all(postgres_database)
    url = make_url(postgres_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = settings_for(proxied)
    core = Core(settings, Database(proxied), ScriptedBackend())
    delivered = []

    async def deliver(event, replies):
        delivered.append(replies)

    core.deliverers["test"] = deliver
    alice = person()
    try:
        await grant(core, alice)
        await proxy.stop()  # the database goes away
        replies = await core.handle(message(alice, TEXT))
        assert [r.text for r in replies] == [DB_UNAVAILABLE]
        assert core.backlog_size == 1
        await proxy.start()  # ... and comes back on the same address
        assert await core.drain_backlog() == 1
        assert core.backlog_size == 0
        assert delivered and delivered[0][0].purpose == "chat"
        pid = await person_id(core, alice)
        assert await count(core, Interest, person_id=pid) > 0
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        # and normal service resumes
        later = await core.handle(message(alice, "and what about vacuum tuning?"))
        assert later[0].purpose == "chat"
    finally:
        await core.aclose()
        await core.db.dispose()
        await proxy.stop()
