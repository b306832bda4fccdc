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
