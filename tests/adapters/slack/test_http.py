"""The HTTP endpoint facing the internet: malformed or forged requests get a 4xx, never a
500 and never a listener."""

from __future__ import annotations

import time

import pytest
from slack_sdk.signature import SignatureVerifier

from profiles.models import Person
from tests.adapters.slack.conftest import SECRET, SlackWorld, rows


async def raw_post(world: SlackWorld, body: str, headers: dict[str, str]) -> int:
    async with world.http.post(world.url, data=body.encode(), headers=headers) as response:
        await response.read()
        return response.status


@pytest.mark.parametrize("timestamp", ["not-a-number", "", "1e9", "١٧٠٠٠٠٠٠٠٠", "9" * 40])
async def test_a_malformed_timestamp_is_unauthorised(world: SlackWorld, timestamp: str) -> None:
    body = '{"type": "event_callback"}'
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    assert await raw_post(world, body, headers) == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("this is not json", "application/json"),
        ("[1, 2", "application/json"),
        ('"just a string"', "application/json"),
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_signed_body_that_is_not_a_slack_payload_is_a_bad_request(
    world: SlackWorld, body: str, content_type: str
) -> None:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
    }
    assert await raw_post(world, body, headers) == 400
    assert await rows(world.core, Person) == []


async def test_http_mode_on_a_port_in_use_says_which_setting_moves_it(world: SlackWorld) -> None:
    """Slack's HTTP mode needs its port, so the only advice is another port (turning the
    endpoints off, the operator page's advice, would turn Slack off too)."""
    from adapters.ops.web import PortInUse
    from adapters.slack.http import start_http

    port = int(world.url.split(":")[2].split("/")[0])  # the world's own server holds it
    with pytest.raises(PortInUse) as refused:
        await start_http(world.adapter.app, host="127.0.0.1", port=port)
    assert f"port {port} on 127.0.0.1 is already in use" in str(refused.value)
    assert "TAILORBOT_HTTP_PORT" in str(refused.value)
    assert "HTTP_ENABLED" not in str(refused.value)


async def test_http_mode_cancelled_while_it_binds_leaves_no_server_set_up(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shutdown that cancels the start while the host name resolves or the socket binds
    left the runner set up (its server and the app's handlers alive), since the caller
    never got it to clean up. The bind itself is replaced: no real one can be made to wait
    here on cue."""
    import asyncio

    from aiohttp import web

    import adapters.slack.http as http

    seen: list[web.AppRunner] = []

    async def binding_when_cancelled(runner: web.AppRunner, *_args: object, **_kw: object) -> int:
        seen.append(runner)
        assert runner.server is not None  # set up before the bind
        raise asyncio.CancelledError

    monkeypatch.setattr(http, "start_site", binding_when_cancelled)
    with pytest.raises(asyncio.CancelledError):
        await http.start_http(world.adapter.app, host="127.0.0.1", port=0)
    assert len(seen) == 1 and seen[0].server is None
