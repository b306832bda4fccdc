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
