"""Socket Mode envelopes over a real WebSocket (slack_sdk's aiohttp Socket Mode client talking
to the fake server), and ``runner.serve`` in both modes as ``tailorbot run`` starts it."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.signature import SignatureVerifier

from adapters.slack import runner
from adapters.slack.app import SlackAdapter
from bot.config import Settings
from profiles.models import Signal
from tests.adapters.slack.conftest import (
    DM,
    SECRET,
    USER,
    MakeWorld,
    action_body,
    command_body,
    event_body,
    fast_options,
    next_ts,
)
from tests.conftest import MakeCore
from tests.support.fake_slack_api import BOT_USER_ID, FakeSlackAPI
from tests.support.helpers import count
from tests.support.ports import free_port

APP_TOKEN = "xapp-1-A0APP-1-test"


def dm_event(text: str) -> dict:
    return {"type": "message", "channel": DM, "channel_type": "im", "user": USER,
            "text": text, "ts": next_ts()}


async def test_socket_mode_envelopes(make_core: MakeCore) -> None:
    async with FakeSlackAPI() as slack:
        slack.add_user(USER, "Ada", tz="Asia/Tokyo", locale="ja-JP")
        core = await make_core(slack_bot_token="xoxb-test", slack_app_token=APP_TOKEN,
                               slack_api_url=slack.base_url)
        adapter = SlackAdapter(core, core.services.settings, options=fast_options())
        handler = AsyncSocketModeHandler(adapter.app, APP_TOKEN)
        await handler.connect_async()
        try:
            [opened] = slack.calls_to("apps.connections.open")
            assert opened.token == APP_TOKEN  # the app-level token, not the bot token

            command = command_body(slack, "/consent", "", user=USER, channel=DM)
            ack = await slack.send_envelope("slash_commands", command)
            assert set(ack) == {"envelope_id"}  # acked before the core runs
            await adapter.drain()
            [status] = slack.calls_to("response_url")
            assert "未回答" in status.params["text"]  # "not given yet", in Ada's ja-JP

            notice = action_body(slack, "consent.grant", "", user=USER, channel=DM,
                                 message_ts="1.0", ephemeral=True)
            await slack.send_envelope("interactive", notice)
            await adapter.drain()
            assert "学習します" in slack.calls_to("response_url")[-1].params["text"]  # "I'll learn"

            body = event_body(dm_event("Distributed databases and Raft consensus"),
                              event_id="Ev0SOCKET1")
            await slack.send_envelope("events_api", body)
            await adapter.drain()
            signals = await count(core, Signal)
            assert signals > 0
            await slack.send_envelope("events_api", body, retry_attempt=1)
            await adapter.drain()
            assert await count(core, Signal) == signals
            answers = [m for m in slack.messages[DM] if m.get("user") == BOT_USER_ID]
            assert len(answers) == 1 and "Raft consensus" in answers[0]["text"]
            assert answers[0]["blocks"][-1]["block_id"] == "tailorbot.feedback"
        finally:
            await handler.close_async()
            await adapter.aclose()


async def test_serve_in_socket_mode_until_cancelled(make_core: MakeCore) -> None:
    async with FakeSlackAPI() as slack:
        slack.add_user(USER, "Ada")
        core = await make_core(slack_bot_token="xoxb-test", slack_app_token=APP_TOKEN,
                               slack_api_url=slack.base_url)
        task = asyncio.create_task(
            runner.serve(core, core.services.settings, options=fast_options())
        )
        try:
            await slack.send_envelope("events_api", event_body(dm_event("hello socket")))
            await slack.wait_until(lambda: any("hello socket" in m.get("text", "")
                                         for m in slack.messages[DM]
                                         if m.get("user") == BOT_USER_ID))
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await slack.wait_until(lambda: slack.connections == 0)  # the WebSocket was closed


async def test_a_stop_while_socket_mode_connects_closes_its_client(
    make_core: MakeCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while Slack has not yet answered ``apps.connections.open`` (a shutdown as
    the bot starts), the runner closes the Socket Mode client it made: it was left open,
    with its HTTP session."""
    made: list[AsyncSocketModeHandler] = []

    class Recorded(AsyncSocketModeHandler):  # the real handler, kept for the assertions
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(runner, "AsyncSocketModeHandler", Recorded)
    async with FakeSlackAPI() as slack:
        arrived, held = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            arrived.set()
            await held.wait()

        slack.before_next("apps.connections.open", hold)
        core = await make_core(slack_bot_token="xoxb-test", slack_app_token=APP_TOKEN,
                               slack_api_url=slack.base_url)
        task = asyncio.create_task(
            runner.serve(core, core.services.settings, options=fast_options())
        )
        async with asyncio.timeout(5):
            await arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        held.set()
        [handler] = made
        assert handler.client.closed
        assert handler.client.aiohttp_client_session.closed


async def test_serve_in_http_mode_until_cancelled(make_core: MakeCore) -> None:
    """Without the process's HTTP server (``http_enabled = false``) HTTP mode serves on one
    of its own, at ``http_host`` (127.0.0.2 here, a loopback address of its own: it listened
    on every interface, whatever ``http_host`` said)."""
    async with FakeSlackAPI() as slack:
        slack.add_user(USER, "Ada")
        port = free_port()
        core = await make_core(slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                               slack_api_url=slack.base_url, http_port=port,
                               http_host="127.0.0.2")
        task = asyncio.create_task(runner.serve(core, core.services.settings,
                                                options=fast_options()))
        base = f"http://127.0.0.2:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(100):
                    try:
                        async with http.get(f"{base}/healthz") as health:
                            assert await health.text() == "ok"
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.02)
                challenge = json.dumps({"type": "url_verification", "token": "t",
                                        "challenge": "c-123"})
                timestamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Slack-Request-Timestamp": timestamp,
                    "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
                        timestamp=timestamp, body=challenge) or "",
                }
                async with http.post(f"{base}/slack/events", data=challenge,
                                     headers=headers) as response:
                    assert response.status == 200
                    assert (await response.json())["challenge"] == "c-123"
                stale = dict(headers, **{"X-Slack-Request-Timestamp": str(int(time.time()) - 600)})
                async with http.post(f"{base}/slack/events", data=challenge,
                                     headers=stale) as response:
                    assert response.status == 401  # replayed requests are refused
                with pytest.raises(aiohttp.ClientConnectionError):  # only at http_host
                    await http.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


@pytest.mark.parametrize(
    ("values", "expected", "mode"),
    [
        ({}, False, None),
        ({"slack_bot_token": "xoxb"}, False, None),
        ({"slack_bot_token": "xoxb", "slack_app_token": "xapp"}, True, "socket"),
        ({"slack_bot_token": "xoxb", "slack_signing_secret": "s"}, True, "http"),
        ({"slack_bot_token": "xoxb", "slack_app_token": "xapp", "slack_signing_secret": "s"},
         True, "socket"),
    ],
)
def test_configured_and_mode(
    values: dict, expected: bool, mode: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"TAILORBOT_{name}", raising=False)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert runner.configured(settings) is expected
    if mode:
        assert runner.mode(settings) == mode


async def test_no_token_warning_at_start(
    make_world: MakeWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SLACK_BOT_TOKEN in the environment (the documented set-up) used to make Bolt warn
    "As you gave `client` as well, `token` will be unused" at every start."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-environment")
    with caplog.at_level(logging.INFO):
        world = await make_world()
    assert world.adapter.app is not None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
