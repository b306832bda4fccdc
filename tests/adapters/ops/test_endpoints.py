"""/healthz, /readyz and /metrics served by the real aiohttp host over a real socket, on a
core over real SQLite and PostgreSQL; Slack's HTTP mode mounted on the same port."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.ops.health import DB_TIMEOUT_S, READY, STARTING, late_checks
from adapters.ops.server import start_ops
from adapters.ops.web import WebHost
from adapters.slack import runner as slack_runner
from bot import logs, metrics
from bot.config import Settings
from bot.core import Core
from bot.llm import ScriptedBackend
from bot.llm.metered import metered
from profiles.db import Database
from tests.adapters.slack.conftest import SECRET, USER, fast_options
from tests.conftest import MakeCore
from tests.support.fake_slack_api import FakeSlackAPI
from tests.support.helpers import command, grant, message, person
from tests.support.tcp_proxy import proxied_database


@pytest.fixture
async def served(core: Core) -> AsyncIterator[tuple[WebHost, str]]:
    host = await start_ops(core, core.services.settings, port=0)
    try:
        yield host, f"http://127.0.0.1:{host.port}"
    finally:
        await host.stop()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_healthz_and_readiness_follow_the_adapters(served, core: Core) -> None:
    host, base = served
    assert (await get(f"{base}/healthz"))[0] == 200

    host.adapters.set("discord", STARTING)
    status, body = await get(f"{base}/readyz")
    report = json.loads(body)
    assert status == 503 and report["ready"] is False
    assert report["database"]["ok"] is True
    assert report["adapters"]["discord"] == {"state": "starting"}

    host.adapters.set("discord", READY, "2 servers")
    status, body = await get(f"{base}/readyz")
    assert status == 200 and json.loads(body)["ready"] is True


async def test_readiness_is_503_when_the_database_is_unreachable(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    # A port nobody listens on: the connection is refused at once.
    dead = Core(settings, Database("postgresql://postgres@127.0.0.1:9/none"), ScriptedBackend())
    host = await start_ops(dead, settings, port=0)
    host.adapters.set("terminal", READY)
    try:
        status, body = await get(f"http://127.0.0.1:{host.port}/readyz")
    finally:
        await host.stop()
        await dead.services.db.dispose()
    report = json.loads(body)
    assert status == 503
    assert report["database"]["ok"] is False and report["database"]["error"]


@pytest.mark.postgres
async def test_readiness_answers_in_its_time_when_the_database_hangs(
    postgres_database: str, settings_for
) -> None:
    """A PostgreSQL that hangs (the test proxy frozen): /readyz says 503 after its 3 s. It
    took 13 s: the check's timeout cancelled the query, and psycopg then asked the frozen
    server to cancel it, and waited for that, 5 s and 5 s more."""
    proxy, url = await proxied_database(postgres_database)
    settings = settings_for(url)
    core = Core(settings, Database(url, timeout=DB_TIMEOUT_S + 1.0), ScriptedBackend())
    host = await start_ops(core, settings, port=0)
    host.adapters.set("terminal", READY)
    base = f"http://127.0.0.1:{host.port}"
    try:
        assert (await get(f"{base}/readyz"))[0] == 200
        proxy.hang()
        started = time.monotonic()
        status, body = await get(f"{base}/readyz")
        assert time.monotonic() - started < DB_TIMEOUT_S + 1.5
        assert status == 503 and "no answer within" in json.loads(body)["database"]["error"]
        assert len(late_checks) == 1  # left to end by itself, not cancelled
        proxy.thaw()
        await asyncio.gather(*late_checks)  # answered at the thaw
        assert (await get(f"{base}/readyz"))[0] == 200
    finally:
        await host.stop()
        await core.aclose()
        await core.services.db.dispose()
        await proxy.stop()


async def test_metrics_count_events_replies_model_calls_people_and_erasures(
    make_core: MakeCore,
) -> None:
    core = await make_core(llm=metered(ScriptedBackend()))
    host = await start_ops(core, core.services.settings, port=0)
    base = f"http://127.0.0.1:{host.port}"
    who = person("metrics-ann", platform="metricsplat")
    def events(kind: str) -> float:
        labels = {"platform": "metricsplat", "kind": kind, "outcome": "ok"}
        return metrics.value("tailorbot_events_total", labels)

    before = {
        "messages": events("message"),
        "commands": events("command"),
        "calls": metrics.value(
            "tailorbot_model_calls_total",
            {"backend": "scripted", "purpose": "chat", "outcome": "ok"},
        ),
        "erasures": metrics.value("tailorbot_erasures_total"),
    }
    try:
        await grant(core, who)
        await core.handle(message(who, "I like sailing and jazz"))
        await core.handle(command(who, "forget", "confirm"))
        status, body = await get(f"{base}/metrics")
    finally:
        await host.stop()
    assert status == 200
    assert "# TYPE tailorbot_event_seconds histogram" in body
    assert events("message") == before["messages"] + 1
    assert events("command") == before["commands"] + 2
    assert metrics.value(
        "tailorbot_model_calls_total", {"backend": "scripted", "purpose": "chat", "outcome": "ok"}
    ) == before["calls"] + 1
    assert metrics.value("tailorbot_erasures_total") == before["erasures"] + 1
    assert 'tailorbot_people{consent="granted"}' in body
    assert "tailorbot_outage_backlog_events" in body
    assert "metrics-ann" not in body and "sailing" not in body  # aggregates only


async def test_every_log_line_about_an_event_carries_its_id(core: Core) -> None:
    seen: list[tuple[str, str | None]] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.getMessage(), getattr(record, "event_id", None)))

    spy = Spy(level=logging.INFO)
    spy.addFilter(logs.EventIdFilter())
    probe = logging.getLogger("bot")  # the chat stages log under bot.pipeline.*
    level = probe.level
    probe.addHandler(spy)
    probe.setLevel(logging.INFO)
    try:
        who = person("logger-ann")
        await grant(core, who)
        await core.handle(message(who, "hello", event_id="ev-logged-7"))
        await core.handle(message(who, "hello", event_id="ev-logged-7"))  # a platform retry
        probe.info("between events")
    finally:
        probe.removeHandler(spy)
        probe.setLevel(level)
    assert ("duplicate event ev-logged-7 ignored", "ev-logged-7") in seen
    assert seen[-1] == ("between events", None)


def test_json_log_lines_are_json_with_the_event_id(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    try:
        with logs.event_context("ev-json-1"):
            logging.getLogger("tailorbot.test").info("handled %s", "it")
        logging.getLogger("tailorbot.test").info("idle")
    finally:
        logs.configure("WARNING")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert lines[-2]["message"] == "handled it" and lines[-2]["event_id"] == "ev-json-1"
    assert lines[-2]["level"] == "INFO" and lines[-2]["logger"] == "tailorbot.test"
    assert "event_id" not in lines[-1]


async def test_slack_http_mode_is_served_on_the_same_port(make_core: MakeCore) -> None:
    async with FakeSlackAPI() as slack:
        slack.add_user(USER, "Ada")
        core = await make_core(slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                               slack_api_url=slack.base_url)
        host = await start_ops(core, core.services.settings, port=0)
        base = f"http://127.0.0.1:{host.port}"
        task = asyncio.create_task(
            slack_runner.serve(core, core.services.settings, options=fast_options(), web=host)
        )
        try:
            for _ in range(200):
                if host.adapters.states.get("slack", ("", ""))[0] == READY:
                    break
                await asyncio.sleep(0.02)
            challenge = json.dumps({"type": "url_verification", "token": "t", "challenge": "c-9"})
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
                    timestamp=timestamp, body=challenge) or "",
            }
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{base}/slack/events", data=challenge,
                                     headers=headers) as response:
                    assert response.status == 200
                    assert (await response.json())["challenge"] == "c-9"
                async with http.get(f"{base}/readyz") as ready:
                    assert ready.status == 200
                    assert (await ready.json())["adapters"]["slack"]["state"] == "ready"
                async with http.get(f"{base}/nowhere") as missing:
                    assert missing.status == 404
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await host.stop()
