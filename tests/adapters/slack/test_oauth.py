"""Distribution: "Add to Slack" through the real Bolt OAuth flow, against the fake Slack API's
``oauth.v2.access``, with the installation stored (encrypted) in the test's database (SQLite
and PostgreSQL); then events from two workspaces answered each with its own token, and
``app_uninstalled``/``tokens_revoked`` removing the installation."""

from __future__ import annotations

import asyncio
import logging

import pytest
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from sqlalchemy import MetaData, create_engine, inspect, pool
from sqlalchemy.exc import OperationalError

from adapters.slack.installations import (
    TABLES,
    TokenCipher,
    TokenKeyError,
    new_key,
    slack_tables,
)
from adapters.slack.runner import configured, mode
from bot.config import Settings
from profiles.db import sync_url
from profiles.models import Person
from tests.adapters.slack.conftest import (
    ONE,
    TWO,
    Distributed,
    fast_options,
    next_ts,
    oauth_settings,
    raw_rows,
    rows,
)
from tests.support.stepped_sleep import SteppedSleep

WAIT = 30.0


async def test_install_two_workspaces_each_answered_with_its_own_token(distributed) -> None:
    world = await distributed()
    assert (await world.install(ONE)).status == 200
    assert (await world.install(TWO)).status == 200
    token_one, token_two = world.slack.token_of(ONE), world.slack.token_of(TWO)
    assert token_one and token_two and token_one != token_two

    # At rest the tokens are ciphertext; the store gives them back decrypted.
    stored = await raw_rows(world.adapter, "slack_installations")
    assert sorted(r["team_id"] for r in stored) == [ONE, TWO]
    for row in stored + await raw_rows(world.adapter, "slack_bots"):
        assert row["bot_token"] and not row["bot_token"].startswith("xoxb-")
        assert token_one not in row["bot_token"] and token_two not in row["bot_token"]
    assert world.adapter.installations is not None
    bot = await world.adapter.installations.async_find_bot(enterprise_id=None, team_id=ONE)
    assert bot is not None and bot.bot_token == token_one
    assert await raw_rows(world.adapter, "slack_oauth_states") == []  # each state used once

    assert await world.dm(ONE, f"U{ONE}", "hello from one") == 200
    assert await world.dm(TWO, f"U{TWO}", "hello from two") == 200
    posts = {c.params["channel"]: c.token for c in world.slack.calls_to("chat.postMessage")}
    assert posts == {f"DU{ONE}": token_one, f"DU{TWO}": token_two}
    people = await rows(world.adapter.core, Person)
    assert sorted(p.workspace for p in people) == [ONE, TWO]


async def test_a_workspace_that_did_not_install_gets_nothing(distributed) -> None:
    world = await distributed()
    await world.install(ONE)
    status = await world.dm(TWO, f"U{TWO}", "hello?")
    assert status in (200, 401)  # Bolt refuses to authorise it either way
    assert world.slack.calls_to("chat.postMessage") == []
    assert await rows(world.adapter.core, Person) == []


async def test_install_with_a_forged_state_stores_nothing(distributed) -> None:
    world = await distributed()
    code = world.slack.authorize(ONE)
    async with world.http.get(f"{world.base}/slack/oauth_redirect",
                              params={"code": code, "state": "forged"}) as response:
        assert response.status >= 400
    assert await raw_rows(world.adapter, "slack_installations") == []
    assert world.slack.calls_to("oauth.v2.access") == []


@pytest.mark.parametrize("forget_on_leave", [False, True])
async def test_uninstall_removes_the_installation(distributed, forget_on_leave: bool) -> None:
    world = await distributed(forget_on_leave=forget_on_leave)
    await world.install(ONE)
    await world.install(TWO)
    await world.dm(ONE, f"U{ONE}", "hi")
    await world.dm(TWO, f"U{TWO}", "hi")
    world.slack.revoke(ONE)  # Slack revokes the tokens, then tells the app
    assert await world.event(ONE, {"type": "app_uninstalled", "event_ts": next_ts()}) == 200
    teams = sorted(r["team_id"] for r in await raw_rows(world.adapter, "slack_installations"))
    assert teams == [TWO]
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_bots")] == [TWO]
    people = sorted(p.workspace for p in await rows(world.adapter.core, Person))
    assert people == ([TWO] if forget_on_leave else [ONE, TWO])
    posted = len(world.slack.calls_to("chat.postMessage"))
    await world.dm(ONE, f"U{ONE}", "still there?")
    assert len(world.slack.calls_to("chat.postMessage")) == posted  # nobody to answer with
    await world.dm(TWO, f"U{TWO}", "still there?")
    assert len(world.slack.calls_to("chat.postMessage")) == posted + 1


def deletions_refused(world: Distributed) -> AsyncInstallationStore:
    """The installation store's deletions fail as with the database away, until the test
    removes the stand-in (``del store.async_delete_all``)."""
    store = world.adapter.installations
    assert store is not None

    async def refused(**_: object) -> None:
        raise OperationalError("DELETE FROM slack_installations", {}, ConnectionError("gone"))

    store.async_delete_all = refused  # type: ignore[method-assign]
    return store


async def test_an_uninstall_whose_installation_cannot_be_deleted_still_forgets_its_people(
    distributed, caplog: pytest.LogCaptureFixture
) -> None:
    """The installation's rows and the people's are deleted in two steps: the first failing
    (the database away) stopped the second, and the people's erasure — which the core keeps
    for later when the database is away — was never asked for. The installation's rows
    (revoked tokens, the team's name) stayed for good: Slack sends ``app_uninstalled`` once.
    They are deleted again a minute later, then less often, until it works."""
    clock = SteppedSleep()
    world = await distributed(forget_on_leave=True, options=fast_options(sleep=clock.sleep))
    await world.install(ONE)
    await world.dm(ONE, f"U{ONE}", "hi")
    store = deletions_refused(world)
    world.slack.revoke(ONE)
    with caplog.at_level(logging.ERROR, logger="adapters.slack.app"):
        assert await world.event(ONE, {"type": "app_uninstalled", "event_ts": next_ts()}) == 200
    assert await rows(world.adapter.core, Person) == []
    assert any("could not be deleted" in r.getMessage() for r in caplog.records)

    await asyncio.wait_for(clock.asleep.wait(), WAIT)
    clock.tick()  # still refused
    await asyncio.wait_for(clock.asleep.wait(), WAIT)
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_installations")] == [ONE]
    del store.async_delete_all  # the database is back
    clock.tick()
    await asyncio.wait_for(asyncio.gather(*world.adapter._deletions), WAIT)  # it ends
    assert await raw_rows(world.adapter, "slack_installations") == []
    assert await raw_rows(world.adapter, "slack_bots") == []
    assert clock.slept == [60.0, 120.0]


async def test_a_workspace_that_installed_again_keeps_its_new_installation(distributed) -> None:
    """The uninstall's deletion failed and the workspace installed the app again before it
    was tried again: the retry would have deleted the new installation with the old."""
    clock = SteppedSleep()
    world = await distributed(options=fast_options(sleep=clock.sleep))
    await world.install(ONE)
    store = deletions_refused(world)
    world.slack.revoke(ONE)
    assert await world.event(ONE, {"type": "app_uninstalled", "event_ts": next_ts()}) == 200
    await asyncio.wait_for(clock.asleep.wait(), WAIT)
    del store.async_delete_all
    await world.install(ONE)  # again
    clock.tick()
    await asyncio.wait_for(asyncio.gather(*world.adapter._deletions), WAIT)  # it ends
    # nothing deleted: the old rows stay beside the new, for its next uninstall to delete
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_bots")] == [ONE, ONE]
    await world.dm(ONE, f"U{ONE}", "hi again")
    assert world.slack.calls_to("chat.postMessage")  # answered with the new installation


async def test_tokens_revoked_removes_the_bot_token(distributed) -> None:
    world = await distributed()
    await world.install(ONE)
    await world.dm(ONE, f"U{ONE}", "hi")
    world.slack.revoke(ONE)
    event = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN"], "bot": [f"UBOT{ONE}"]},
             "event_ts": next_ts()}
    assert await world.event(ONE, event) == 200
    assert await raw_rows(world.adapter, "slack_bots") == []
    assert await raw_rows(world.adapter, "slack_installations") == []
    assert world.adapter.installations is not None
    assert await world.adapter.installations.async_find_bot(enterprise_id=None,
                                                            team_id=ONE) is None


def test_token_key_is_required_and_checked() -> None:
    with pytest.raises(TokenKeyError, match="token-key"):
        TokenCipher(None)
    with pytest.raises(TokenKeyError, match="not a valid Fernet key"):
        TokenCipher("not-a-key")
    old, new = new_key(), new_key()
    stored = TokenCipher(old).encrypt("xoxb-1")
    assert TokenCipher(f"{new},{old}").decrypt(stored) == "xoxb-1"  # rotation keeps it
    with pytest.raises(TokenKeyError, match="cannot be decrypted"):
        TokenCipher(new).decrypt(stored)


def test_oauth_mode_is_http_and_single_token_mode_stays() -> None:
    oauth = Settings(_env_file=None, **oauth_settings())  # type: ignore[call-arg]
    assert configured(oauth) and mode(oauth) == "http"
    single = Settings(_env_file=None, slack_bot_token="xoxb-1",  # type: ignore[call-arg]
                      slack_app_token="xapp-1")
    assert configured(single) and mode(single) == "socket"


def test_migrated_slack_tables_match_slack_sdk(database_url: str) -> None:
    """Alembic creates the tables; their columns are slack_sdk's (token columns widened)."""
    expected = slack_tables(MetaData())
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        inspector = inspect(engine)
        for name in TABLES:
            live = {c["name"]: c for c in inspector.get_columns(name)}
            table = expected[name]
            assert set(live) == {c.name for c in table.columns}, name
            for column in table.columns:
                length = getattr(column.type, "length", None)
                if length is not None:
                    assert getattr(live[column.name]["type"], "length", None) == length, (
                        name, column.name)
                assert live[column.name]["nullable"] == column.nullable, (name, column.name)
    finally:
        engine.dispose()

