"""A Slack workspace in a box: the fake Slack Web API server, a real core on the test's
database, the real Bolt ``AsyncApp`` served over real HTTP on 127.0.0.1, and helpers that send
it correctly signed Events API, slash command and interactivity requests; and the same with
distribution ("Add to Slack": ``distributed``), workspaces installing through the OAuth flow."""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select, text

from adapters.slack.accounts import AccountCheckOptions
from adapters.slack.app import SlackAdapter, SlackOptions
from adapters.slack.http import start_http
from adapters.slack.installations import new_key
from bot.core import Core
from bot.llm import LLMBackend
from tests.conftest import MakeCore
from tests.support.fake_slack_api import (
    APP_ID,
    BOT_USER_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    TEAM_ID,
    FakeSlackAPI,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = "U0ADA"
OTHER = "U0GRACE"
DM = "D0ADA"  # what the fake conversations.open returns for USER
CHANNEL = "C0GENERAL"

_ids = itertools.count(1)


def fast_options(**overrides: Any) -> SlackOptions:
    """No throttling waits in tests; everything else as in production."""
    values: dict[str, Any] = {
        "stream_interval": 0.0,
        "accounts": AccountCheckOptions(info_pace=0.0, list_pace=0.0),
    }
    values.update(overrides)
    return SlackOptions(**values)


@dataclass
class Sent:
    status: int
    text: str


@dataclass
class SlackWorld:
    slack: FakeSlackAPI
    core: Core
    adapter: SlackAdapter
    url: str
    http: aiohttp.ClientSession

    # Raw transport --------------------------------------------------------------------------
    async def post(
        self, body: str, content_type: str, *, secret: str = SECRET,
        retry_num: int | None = None, drain: bool = True,
    ) -> Sent:
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature or "",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with self.http.post(self.url, data=body.encode(), headers=headers) as response:
            sent = Sent(response.status, await response.text())
        if drain:
            await self.adapter.drain()
        return sent

    # Events API -----------------------------------------------------------------------------
    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any
    ) -> Sent:
        return await self.post(json.dumps(event_body(event, event_id=event_id)),
                               "application/json", **kwargs)

    async def dm(self, text: str, *, user: str = USER, **kwargs: Any) -> tuple[Sent, str]:
        ts = next_ts()
        sent = await self.event({
            "type": "message", "channel": DM if user == USER else f"D{user}", "user": user,
            "text": text, "ts": ts, "channel_type": "im",
        }, **kwargs)
        return sent, ts

    # Slash commands and buttons ---------------------------------------------------------------
    async def command(
        self, command: str, text: str = "", *, user: str = USER, channel: str = CHANNEL,
        **kwargs: Any,
    ) -> Sent:
        return await self.post(
            urllib.parse.urlencode(command_body(self.slack, command, text, user=user,
                                                channel=channel)),
            "application/x-www-form-urlencoded", **kwargs,
        )

    async def press(
        self, action_id: str, value: str = "", *, user: str = USER, channel: str = DM,
        message_ts: str = "1700000000.999999", ephemeral: bool = True,
        message: dict[str, Any] | None = None, **kwargs: Any,
    ) -> Sent:
        """``message``: the pressed message as Slack includes it (non-ephemeral only)."""
        payload = action_body(self.slack, action_id, value, user=user, channel=channel,
                              message_ts=message_ts, ephemeral=ephemeral)
        if message is not None:
            payload["message"] = message
        return await self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}),
                               "application/x-www-form-urlencoded", **kwargs)

    async def grant(self, user: str = USER) -> None:
        sent = await self.command("/consent", "grant", user=user)
        assert sent.status == 200


async def rows(core: Core, model: Any, *where: Any) -> list[Any]:
    """Rows of ``model`` (optionally filtered), read back through the core's database."""
    async with core.services.db.session() as session:
        result = await session.exec(select(model).where(*where))
        return list(result.scalars())


def next_ts() -> str:
    return f"1710000000.{next(_ids):06d}"


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope, as Slack sends it."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


def command_body(
    slack: FakeSlackAPI, command: str, text: str, *, user: str, channel: str
) -> dict[str, str]:
    n = next(_ids)
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "directmessage" if channel.startswith("D") else "general",
        "user_id": user, "user_name": user.lower(), "command": command, "text": text,
        "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": slack.response_url(f"cmd{n}"), "trigger_id": f"trigger.{n}",
    }


def action_body(
    slack: FakeSlackAPI, action_id: str, value: str, *, user: str, channel: str,
    message_ts: str, ephemeral: bool,
) -> dict[str, Any]:
    n = next(_ids)
    action: dict[str, Any] = {
        "type": "button", "action_id": action_id, "block_id": "tailorbot.actions",
        "text": {"type": "plain_text", "text": action_id}, "action_ts": f"1710000001.{n:06d}",
    }
    if value:
        action["value"] = value
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID, "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": ephemeral},
        "trigger_id": f"trigger.{n}", "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel, "name": "directmessage"},
        "response_url": slack.response_url(f"act{n}"),
        "actions": [action],
    }
    if not ephemeral:
        body["message"] = {"type": "message", "ts": message_ts, "user": BOT_USER_ID,
                           "text": "an answer"}
    return body


async def served(
    core: Core, options: SlackOptions | None, cleanups: list[Callable[[], Awaitable[Any]]]
) -> tuple[SlackAdapter, str, aiohttp.ClientSession]:
    """The core's Slack adapter served over HTTP on a free port, its base URL, and a client
    session to post to it; each undone by ``cleanups``."""
    adapter = SlackAdapter(core, core.services.settings, options=options or fast_options())
    cleanups.append(adapter.aclose)
    runner, port = await start_http(adapter.app, host="127.0.0.1", port=0)
    cleanups.append(runner.cleanup)
    http = aiohttp.ClientSession()
    cleanups.append(http.close)
    return adapter, f"http://127.0.0.1:{port}", http


MakeWorld = Callable[..., Awaitable[SlackWorld]]


@pytest.fixture
async def make_world(make_core: MakeCore) -> AsyncIterator[MakeWorld]:
    """Build a Slack world on this test's database (runs on SQLite and PostgreSQL)."""
    cleanups: list[Callable[[], Awaitable[Any]]] = []

    async def make(
        *, llm: LLMBackend | None = None, options: SlackOptions | None = None,
        streaming: bool = True, **settings: Any,
    ) -> SlackWorld:
        slack = FakeSlackAPI(streaming=streaming)
        await slack.__aenter__()
        cleanups.append(lambda: slack.__aexit__(None, None, None))
        slack.add_user(USER, "Ada", tz="Europe/Paris", locale="fr-FR")
        slack.add_user(OTHER, "Grace", tz="America/New_York", locale="en-US")
        settings.setdefault("slack_bot_token", "xoxb-test-token")
        settings.setdefault("slack_signing_secret", SECRET)
        core = await make_core(llm, slack_api_url=slack.base_url, **settings)
        adapter, base, http = await served(core, options, cleanups)
        return SlackWorld(slack, core, adapter, f"{base}/slack/events", http)

    yield make
    for cleanup in reversed(cleanups):
        await cleanup()


@pytest.fixture
async def world(make_world: MakeWorld) -> SlackWorld:
    return await make_world()


# Distribution ---------------------------------------------------------------------------------
ONE, TWO = "T0ONE", "T0TWO"
KEY = new_key()


@dataclass
class Distributed:
    """Distribution ("Add to Slack", HTTP mode): workspaces install the app through the real
    Bolt OAuth flow; each has its own bot token, stored encrypted in the test's database."""

    slack: FakeSlackAPI
    adapter: SlackAdapter
    base: str
    http: aiohttp.ClientSession

    async def install(self, team: str, *, installer: str = "U0ADMIN") -> aiohttp.ClientResponse:
        """The browser side of an install: open /slack/install, approve, follow the redirect."""
        async with self.http.get(f"{self.base}/slack/install") as page:
            assert page.status == 200
            body = await page.text()
            cookie = page.headers["Set-Cookie"].split(";")[0]
        state = re.search(r"state=([\w-]+)", body)
        assert state is not None and f"client_id={CLIENT_ID}" in body
        code = self.slack.authorize(team, installer=installer)
        async with self.http.get(
            f"{self.base}/slack/oauth_redirect",
            params={"code": code, "state": state.group(1)}, headers={"Cookie": cookie},
        ) as done:
            await done.read()
            return done

    async def event(self, team: str, event: dict[str, Any]) -> int:
        body = json.dumps({
            "token": "legacy", "team_id": team, "api_app_id": APP_ID, "event": event,
            "type": "event_callback", "event_id": f"Ev{next_ts().replace('.', '')}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": f"UBOT{team}", "is_bot": True,
                                "is_enterprise_install": False}],
        })
        stamp = str(int(time.time()))
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
        async with self.http.post(f"{self.base}/slack/events", data=body.encode(), headers={
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
        }) as response:
            status = response.status
        await self.adapter.drain()
        return status

    async def dm(self, team: str, user: str, text: str) -> int:
        return await self.event(team, {"type": "message", "channel": f"D{user}", "user": user,
                                       "text": text, "ts": next_ts(), "channel_type": "im"})


def oauth_settings(**extra: Any) -> dict[str, Any]:
    return {"slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET,
            "slack_token_key": KEY, "slack_signing_secret": SECRET, "slack_bot_token": None,
            **extra}


@pytest.fixture
async def distributed(make_core: MakeCore) -> AsyncIterator[Callable[..., Awaitable[Distributed]]]:
    cleanups: list[Callable[[], Awaitable[Any]]] = []

    async def make(*, options: SlackOptions | None = None, **settings: Any) -> Distributed:
        slack = FakeSlackAPI()
        await slack.__aenter__()
        cleanups.append(lambda: slack.__aexit__(None, None, None))
        for team in (ONE, TWO):
            slack.users[f"U{team}"] = {
                "id": f"U{team}", "team_id": team, "name": "ada", "real_name": "Ada",
                "tz": "UTC", "locale": "en-US", "profile": {"display_name": "Ada"}}
        core = await make_core(None, slack_api_url=slack.base_url, **oauth_settings(**settings))
        adapter, base, http = await served(core, options, cleanups)
        return Distributed(slack, adapter, base, http)

    yield make
    for cleanup in reversed(cleanups):
        await cleanup()


async def raw_rows(adapter: SlackAdapter, table: str) -> list[dict[str, Any]]:
    async with adapter.core.services.db.engine.connect() as conn:
        result = await conn.execute(text(f'SELECT * FROM "{table}"'))
        return [dict(row) for row in result.mappings()]
