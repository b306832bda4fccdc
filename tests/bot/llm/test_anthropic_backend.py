"""AnthropicBackend through the real ``anthropic`` SDK, over real HTTP, against the fake server.

Every test asserts on what the server actually received, so a change in how we build requests
(or in how the SDK sends them) shows up here rather than in production.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from bot.llm.anthropic_backend import DEFAULT_MODEL, AnthropicBackend
from bot.llm.base import LLMRequest, LLMUnavailable, Turn, estimate_tokens
from tests.support.fake_llm_server import Delay, Error, FakeLLMServer, Raw, Reply
from tests.support.fixtures_llm import fake_llm_server  # noqa: F401  (fixture)

KEY = "sk-ant-test-key"
MODEL = "claude-test-model"

REQUEST = LLMRequest(
    system="You are tailorbot. Be brief.",
    turns=[
        Turn("user", "I like sourdough."),
        Turn("assistant", "Noted: sourdough."),
        Turn("user", "What should I bake this weekend?"),
    ],
    max_tokens=512,
)

MakeBackend = Callable[..., AnthropicBackend]


@pytest_asyncio.fixture
async def make_backend(fake_llm_server: FakeLLMServer) -> AsyncIterator[MakeBackend]:  # noqa: F811
    """Backends pointed at the fake server with tiny timeouts/retries; closed after the test."""
    made: list[AnthropicBackend] = []

    def make(**overrides: object) -> AnthropicBackend:
        options: dict[str, object] = {
            "api_key": KEY,
            "model": MODEL,
            "timeout_seconds": 2.0,
            "max_retries": 2,
            "base_url": fake_llm_server.anthropic_base_url,
        }
        options.update(overrides)
        backend = AnthropicBackend(**options)  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


class Partials:
    """Collects what ``on_partial`` was given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, text: str) -> None:
        self.seen.append(text)


async def test_non_streaming_request_and_result(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.anthropic_api_key = KEY
    fake_llm_server.enqueue("anthropic", Reply(input_tokens=42, output_tokens=7))
    backend = make_backend(max_tokens=300)

    result = await backend.generate(REQUEST)

    [sent] = fake_llm_server.requests_for("anthropic")
    assert sent.path == "/v1/messages"
    assert sent.body == {
        "model": MODEL,
        "max_tokens": 300,  # the operator's ceiling caps the request's 512
        "system": "You are tailorbot. Be brief.",
        "messages": [
            {"role": "user", "content": "I like sourdough."},
            {"role": "assistant", "content": "Noted: sourdough."},
            {"role": "user", "content": "What should I bake this weekend?"},
        ],
    }
    # SDK 2.x sends the key as a bearer token, plus the API version it was built for.
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["anthropic-version"]
    assert sent.headers["x-stainless-retry-count"] == "0"

    assert result.text == "Fake anthropic reply to: What should I bake this weekend?"
    assert result.model == MODEL
    assert (result.input_tokens, result.output_tokens) == (42, 7)
    assert result.stop_reason == "end_turn"
    assert result.latency_ms is not None and result.latency_ms > 0
    assert result.extra["request_id"].startswith("req_fake_")


async def test_request_asking_for_fewer_tokens_than_ceiling_is_honoured(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    backend = make_backend(max_tokens=4096)
    await backend.generate(LLMRequest(system="s", turns=[Turn("user", "hi")], max_tokens=64))
    assert fake_llm_server.requests_for("anthropic")[0].body["max_tokens"] == 64


async def test_streaming_reports_growing_text(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue(
        "anthropic",
        Reply(
            "Try a rye loaf.", chunks=("Try ", "a rye", " loaf."), input_tokens=30, output_tokens=6
        ),
    )
    partials = Partials()

    result = await make_backend().generate(REQUEST, on_partial=partials)

    assert partials.seen == ["Try ", "Try a rye", "Try a rye loaf."]
    assert result.text == "Try a rye loaf."
    # usage comes from message_start (input) and message_delta (output)
    assert (result.input_tokens, result.output_tokens) == (30, 6)
    assert result.stop_reason == "end_turn"
    assert result.latency_ms is not None and result.latency_ms > 0
    [sent] = fake_llm_server.requests_for("anthropic")
    assert sent.body["stream"] is True
    assert sent.body["model"] == MODEL
    assert sent.body["system"] == REQUEST.system
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]


async def test_latency_covers_the_wait_for_the_server(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Delay(0.15, then=Reply("late")))
    result = await make_backend().generate(REQUEST)
    assert result.text == "late"
    assert result.latency_ms is not None and result.latency_ms >= 150


async def test_temperature_is_not_sent_and_empty_parts_are_dropped(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    # The fake server, like API version 2026-10-21, answers 400 to any sampling parameter.
    request = LLMRequest(
        system="  ",
        turns=[Turn("user", "hello"), Turn("assistant", ""), Turn("user", "again")],
        temperature=0.2,
    )
    result = await make_backend().generate(request)
    [sent] = fake_llm_server.requests_for("anthropic")
    assert "temperature" not in sent.body
    assert "system" not in sent.body
    assert sent.body["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    assert result.text == "Fake anthropic reply to: again"


async def test_request_without_turns_is_a_programming_error(make_backend: MakeBackend) -> None:
    with pytest.raises(ValueError, match="no non-empty turns"):
        await make_backend().generate(LLMRequest(system="s", turns=[Turn("user", " ")]))


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("status", [429, 529, 500])
async def test_retries_transient_error_then_succeeds(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
    status: int,
    streaming: bool,
) -> None:
    fake_llm_server.enqueue("anthropic", Error(status), Reply("recovered"))
    partials = Partials()

    result = await make_backend(max_retries=3).generate(
        REQUEST, on_partial=partials if streaming else None
    )

    assert result.text == "recovered"
    sent = fake_llm_server.requests_for("anthropic")
    assert len(sent) == 2
    assert [r.headers["x-stainless-retry-count"] for r in sent] == ["0", "1"]
    assert sent[0].body == sent[1].body
    assert partials.seen[-1:] == (["recovered"] if streaming else [])


@pytest.mark.parametrize(
    ("status", "wording"), [(429, "rate-limiting"), (529, "overloaded"), (503, "internal error")]
)
async def test_gives_up_after_max_retries(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
    status: int,
    wording: str,
) -> None:
    fake_llm_server.enqueue("anthropic", *[Error(status)] * 3, Reply("too late"))

    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(max_retries=2).generate(REQUEST)

    assert caught.value.retryable is True
    assert wording in str(caught.value)
    assert "after 2 retries" in str(caught.value)
    assert len(fake_llm_server.requests_for("anthropic")) == 3
    assert fake_llm_server.pending("anthropic") == 1  # the reply was never reached


async def test_retry_after_header_from_server_is_honoured(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Error(429, retry_after_ms=300), Reply("ok"))
    await make_backend().generate(REQUEST)
    first, second = fake_llm_server.requests_for("anthropic")
    assert second.received_at - first.received_at >= 0.29


async def test_timeout_gives_up_quickly(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Delay(10))
    started = time.monotonic()

    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(timeout_seconds=0.2, max_retries=0).generate(REQUEST)

    assert time.monotonic() - started < 1.5
    assert caught.value.retryable is True
    assert "0.2 seconds" in str(caught.value)
    # One attempt, never a retry (max_retries=0). Not "exactly one recorded": on a loaded
    # machine the client hung up before the server's handler started, and the server
    # cancels a handler whose client is gone (CI's shifted pass, 2026-12-07).
    assert len(fake_llm_server.requests_for("anthropic")) <= 1


async def test_stall_in_the_middle_of_a_stream_times_out(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Reply(chunks=("Hello ", "world"), chunk_delay=5))
    partials = Partials()

    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(timeout_seconds=0.2).generate(REQUEST, on_partial=partials)

    assert caught.value.retryable is True
    assert partials.seen == ["Hello "]
    # an answer that already started is not silently re-requested
    assert len(fake_llm_server.requests_for("anthropic")) == 1


async def test_overloaded_error_event_mid_stream(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Reply(chunks=("Par", "tial"), stream_error=Error(529)))
    partials = Partials()

    with pytest.raises(LLMUnavailable) as caught:
        await make_backend().generate(REQUEST, on_partial=partials)

    assert caught.value.retryable is True
    assert "overloaded" in str(caught.value)
    assert partials.seen == ["Par", "Partial"]
    assert len(fake_llm_server.requests_for("anthropic")) == 1


async def test_bad_key_is_not_retryable_and_not_retried(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.anthropic_api_key = "sk-ant-the-right-one"

    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(api_key="sk-ant-wrong", max_retries=3).generate(REQUEST)

    assert caught.value.retryable is False
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert "sk-ant-wrong" not in str(caught.value)
    [sent] = fake_llm_server.requests_for("anthropic")
    assert sent.headers["authorization"] == "Bearer sk-ant-wrong"


async def test_invalid_request_is_not_retryable(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Error(400, message="messages: roles must alternate"))

    with pytest.raises(LLMUnavailable) as caught:
        await make_backend().generate(REQUEST)

    assert caught.value.retryable is False
    assert "roles must alternate" in str(caught.value)
    assert len(fake_llm_server.requests_for("anthropic")) == 1


async def test_unknown_model_names_the_setting(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
) -> None:
    fake_llm_server.enqueue("anthropic", Error(404, message="model: claude-nope"))
    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(model="claude-nope").generate(REQUEST)
    assert caught.value.retryable is False
    assert "claude-nope" in str(caught.value)
    assert "TAILORBOT_LLM_MODEL" in str(caught.value)


async def test_connection_refused(make_backend: MakeBackend) -> None:
    async with FakeLLMServer() as gone:
        url = gone.anthropic_base_url
    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(base_url=url, max_retries=0).generate(REQUEST)
    assert caught.value.retryable is True
    assert "couldn't reach" in str(caught.value)


async def test_anthropic_base_url_env_is_honoured(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm_server.anthropic_base_url)
    backend = make_backend(base_url=None)
    assert backend.base_url.startswith(fake_llm_server.anthropic_base_url)

    result = await backend.generate(REQUEST)

    assert result.text.endswith("What should I bake this weekend?")
    assert len(fake_llm_server.requests_for("anthropic")) == 1


async def test_defaults_and_token_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    backend = AnthropicBackend(api_key=KEY)
    try:
        assert backend.model == DEFAULT_MODEL == "claude-sonnet-5-5"
        assert backend.max_retries == 3
        assert backend.base_url.startswith("https://api.anthropic.com")
        assert backend.name == "anthropic" and backend.configured is True
        text = "How many tokens is this sentence?"
        assert backend.count_tokens(text) == estimate_tokens(text) > 0
    finally:
        await backend.aclose()
    with pytest.raises(ValueError):
        AnthropicBackend(api_key="")


MALFORMED = [
    Raw('{"id": "msg_1", "type": "message", "content": [{"type": "text", "te'),
    Raw('{"unexpected": true}'),
    Raw("<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
    Raw("event: content_block_delta\ndata: {not json\n\n", content_type="text/event-stream"),
]


@pytest.mark.parametrize("body", MALFORMED)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_response_that_cannot_be_read_is_a_clear_unavailable(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    make_backend: MakeBackend,
    body: Raw,
    stream: bool,
) -> None:
    """A proxy's HTML page or a cut JSON body used to escape as JSONDecodeError and end
    ``tailorbot chat``; it is one more way the model is unavailable."""
    fake_llm_server.enqueue("anthropic", body)
    with pytest.raises(LLMUnavailable) as caught:
        await make_backend(max_retries=0).generate(
            REQUEST, on_partial=Partials() if stream else None
        )
    assert "couldn't read" in str(caught.value)
    assert caught.value.retryable is True
