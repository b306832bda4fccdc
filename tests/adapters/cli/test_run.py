"""`tailorbot run` end to end in a subprocess: ready on /readyz with the terminal adapter,
metrics on the same port, the extraction worker started at start, a clean exit at end of
input; and which platforms it starts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.cli.run import configured_runners
from bot.config import Settings
from tests.adapters.slack.conftest import DM, SECRET, USER, event_body
from tests.support.fake_llm_server import Delay, FakeLLMServer, Reply
from tests.support.fake_slack_api import FakeSlackAPI
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_run_serves_readiness_and_metrics_then_exits_at_end_of_input(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TAILORBOT_HTTP_PORT": str(port),
           "TAILORBOT_HTTP_HOST": "127.0.0.1", "TAILORBOT_LOG_FORMAT": "json",
           "TAILORBOT_LOG_LEVEL": "INFO", "TAILORBOT_EXTRACT_WORKERS": "1"}
    for key in ("ANTHROPIC_API_KEY", "TAILORBOT_OPENAI_BASE_URL", "SLACK_BOT_TOKEN",
                "SLACK_CLIENT_ID", "DISCORD_BOT_TOKEN"):
        env.pop(key, None)
    bot = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "run"], cwd=tmp_path, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        report = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and report is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    report = json.load(r)
            except (urllib.error.URLError, ConnectionError):
                assert bot.poll() is None, f"exited before it was ready: {bot.stderr.read()}"
                # Not time.sleep: the suite's time-shifted pass runs under libfaketime 0.9.10
                # with a real monotonic clock, where time.sleep fails with EINVAL.
                threading.Event().wait(0.2)
        assert report is not None, "never ready"
        assert report["ready"] is True
        assert report["adapters"]["terminal"] == {"state": "ready"}
        assert report["model"] == {"ok": True, "backend": "none", "configured": False}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b"tailorbot_people{consent=\"unknown\"}" in r.read()
        out, err = bot.communicate("hello\n", timeout=90)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    assert bot.returncode == 0, err
    assert "without a language model" in out
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any("operator endpoints" in line["message"] for line in logged)
    # the extraction worker starts, and the lexicons load once, beside the adapters
    loaded = [line["message"] for line in logged if "lexicons loaded" in line["message"]]
    assert len(loaded) == 1 and loaded[0].endswith("extraction's in a worker process (up to 1)")
    assert not any("voice" in line["message"] for line in logged)


def test_a_port_in_use_is_named_with_the_settings_that_change_it(tmp_path: Path) -> None:
    """A second `tailorbot run` stopped on "[Errno 98] error while attempting to bind on
    address ('0.0.0.0', 3000)", naming neither the port's setting nor how to do without."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TAILORBOT_HTTP_PORT": str(port),
               "TAILORBOT_HTTP_HOST": "127.0.0.1", "TAILORBOT_EXTRACT_WORKERS": "0",
               "COLUMNS": "300"}
        for key in ("ANTHROPIC_API_KEY", "TAILORBOT_OPENAI_BASE_URL", "SLACK_BOT_TOKEN",
                    "SLACK_CLIENT_ID", "DISCORD_BOT_TOKEN"):
            env.pop(key, None)
        bot = subprocess.run([sys.executable, "-m", "adapters.cli", "run"], cwd=tmp_path,
                             env=env, input="", capture_output=True, text=True, timeout=90)
    assert bot.returncode == 1, bot.stderr
    said = " ".join(bot.stderr.split())
    assert f"port {port} on 127.0.0.1 is already in use" in said
    assert "TAILORBOT_HTTP_PORT" in said and "TAILORBOT_HTTP_ENABLED=false" in said
    assert "Errno" not in said


def test_platforms_start_only_with_their_credentials() -> None:
    def names(**values: str) -> list[str]:
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        return [name for name, _ in configured_runners(settings)]

    assert names() == []
    assert names(slack_bot_token="xoxb", slack_app_token="xapp") == ["slack"]
    assert names(slack_client_id="1.2", slack_client_secret="s", slack_signing_secret="x",
                 slack_token_key="k" * 44) == ["slack"]
    assert names(discord_bot_token="a.b.c") == ["discord"]
    assert names(slack_bot_token="xoxb") == []  # a token but no way to receive events


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sigint", ["default", "ignored"])
async def test_sigterm_stops_like_ctrl_c_and_answers_what_was_acknowledged(
    tmp_path: Path, sigint: str
) -> None:
    """SIGTERM (systemd, ``docker stop``, Kubernetes) ended ``tailorbot run`` at once: a DM
    Slack had been told was received — claimed, so a resend is dropped — was never answered
    (operations audit). It now stops as Ctrl-C does: the answer the model is writing is
    posted, then the process exits 0 — also when it was started with SIGINT ignored
    (``tailorbot run &`` in a script), where a SIGTERM turned into a SIGINT did nothing."""
    port = free_port()
    async with FakeSlackAPI() as slack, FakeLLMServer() as llm:
        slack.add_user(USER, "Ada")
        llm.enqueue("openai", Delay(2.0, Reply("Cellos love rosin.")))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TAILORBOT_HTTP_PORT": str(port),
               "TAILORBOT_HTTP_HOST": "127.0.0.1", "TAILORBOT_EXTRACT_WORKERS": "0",
               "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "TAILORBOT_SLACK_API_URL": slack.base_url, "TAILORBOT_LLM": "openai",
               "TAILORBOT_OPENAI_BASE_URL": llm.openai_base_url,
               "TAILORBOT_OPENAI_API_KEY": "k", "TAILORBOT_CONSENT_OPT_OUT": "true"}
        for key in ("ANTHROPIC_API_KEY", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID",
                    "DISCORD_BOT_TOKEN"):
            env.pop(key, None)
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            preexec_fn=_ignore_sigint if sigint == "ignored" else None,
        )
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(450):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
                            if ready.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.2)
                body = json.dumps(event_body({
                    "type": "message", "channel": DM, "user": USER, "ts": "1700000001.000100",
                    "text": "I have been learning the cello", "channel_type": "im",
                }))
                stamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
                        timestamp=stamp, body=body) or "",
                }
                async with http.post(f"http://127.0.0.1:{port}/slack/events", data=body,
                                     headers=headers) as acked:
                    assert acked.status == 200
            for _ in range(300):  # the model is writing its answer
                if llm.requests_for("openai"):
                    break
                await asyncio.sleep(0.05)
            assert llm.requests_for("openai"), "the model was never asked"
            bot.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(bot.communicate(), timeout=60)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        sent = [json.dumps(call.params) for call in slack.calls if call.status == 200]
    assert bot.returncode == 0, err.decode()[-2000:]
    assert any("Cellos love rosin." in params for params in sent), slack.methods()
