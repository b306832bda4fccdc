"""select_backend: which backend each setting combination builds, that settings reach the
backend, and that a half-configured explicit choice fails loudly at startup."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.llm.anthropic_backend import AnthropicBackend
from bot.llm.base import LLMBackend, LLMRequest, Turn
from bot.llm.fallback import NoModelBackend
from bot.llm.openai_backend import OpenAICompatibleBackend
from bot.llm.select import select_backend
from tests.support.fake_llm_server import FakeLLMServer
from tests.support.fixtures_llm import fake_llm_server  # noqa: F401  (fixture)

ENV_VARS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "TAILORBOT_ANTHROPIC_API_KEY",
    "TAILORBOT_LLM",
    "TAILORBOT_LLM_MODEL",
    "TAILORBOT_LLM_MAX_TOKENS",
    "TAILORBOT_LLM_TIMEOUT_SECONDS",
    "TAILORBOT_OPENAI_BASE_URL",
    "TAILORBOT_OPENAI_API_KEY",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real keys must neither leak into these tests nor change their outcome."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def close(backend: LLMBackend) -> None:
    await backend.aclose()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, NoModelBackend),
        ({"anthropic_api_key": "sk-ant"}, AnthropicBackend),
        ({"openai_base_url": "http://localhost:11434/v1"}, OpenAICompatibleBackend),
        (
            {"anthropic_api_key": "sk-ant", "openai_base_url": "http://localhost:11434/v1"},
            AnthropicBackend,
        ),
        ({"llm": "none", "anthropic_api_key": "sk-ant"}, NoModelBackend),
        (
            {"llm": "openai", "anthropic_api_key": "sk-ant", "openai_base_url": "http://x:1/v1"},
            OpenAICompatibleBackend,
        ),
    ],
    ids=["nothing", "anthropic-key", "openai-url", "both-prefers-anthropic", "none", "openai"],
)
async def test_choice(values: dict[str, Any], expected: type) -> None:
    backend = select_backend(settings(**values))
    try:
        assert type(backend) is expected
        assert isinstance(backend, LLMBackend)
    finally:
        await close(backend)


async def test_auto_reads_anthropic_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    backend = select_backend(settings())
    try:
        assert isinstance(backend, AnthropicBackend)
    finally:
        await close(backend)


async def test_anthropic_defaults_and_settings() -> None:
    default = select_backend(settings(anthropic_api_key="sk-ant"))
    tuned = select_backend(
        settings(
            anthropic_api_key="sk-ant",
            llm_model="claude-custom",
            llm_max_tokens=300,
            llm_timeout_seconds=7.5,
        )
    )
    try:
        assert isinstance(default, AnthropicBackend) and isinstance(tuned, AnthropicBackend)
        assert default.model == "claude-sonnet-5-5"
        assert (default.max_tokens, default.timeout_seconds, default.max_retries) == (1024, 60, 3)
        assert (tuned.model, tuned.max_tokens, tuned.timeout_seconds) == ("claude-custom", 300, 7.5)
    finally:
        await close(default)
        await close(tuned)


async def test_openai_defaults_and_settings() -> None:
    default = select_backend(settings(openai_base_url="http://localhost:11434/v1"))
    tuned = select_backend(
        settings(
            openai_base_url="http://vllm.internal:8000/v1",
            llm_model="mistral",
            llm_max_tokens=128,
            llm_timeout_seconds=3,
        )
    )
    try:
        assert isinstance(default, OpenAICompatibleBackend)
        assert isinstance(tuned, OpenAICompatibleBackend)
        assert default.model == "llama3.1"
        assert default.base_url.startswith("http://localhost:11434/v1")
        assert (tuned.model, tuned.max_tokens, tuned.timeout_seconds) == ("mistral", 128, 3)
        assert tuned.base_url.startswith("http://vllm.internal:8000/v1")
    finally:
        await close(default)
        await close(tuned)


def test_explicit_anthropic_without_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        select_backend(settings(llm="anthropic", openai_base_url="http://localhost:11434/v1"))


def test_explicit_openai_without_base_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="TAILORBOT_OPENAI_BASE_URL"):
        select_backend(settings(llm="openai", anthropic_api_key="sk-ant"))


@pytest.mark.parametrize("url", ["localhost:11434/v1", "ftp://host/v1", "http://"])
def test_openai_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        select_backend(settings(llm="openai", openai_base_url=url))


async def test_selected_openai_backend_talks_to_the_server(
    fake_llm_server: FakeLLMServer,  # noqa: F811
) -> None:
    backend = select_backend(
        settings(
            openai_base_url=fake_llm_server.openai_base_url,
            openai_api_key="sk-local",
            llm_model="phi-test",
            llm_max_tokens=200,
        )
    )
    try:
        result = await backend.generate(LLMRequest(system="sys", turns=[Turn("user", "ping")]))
    finally:
        await close(backend)
    assert result.text == "Fake openai reply to: ping"
    [sent] = fake_llm_server.requests_for("openai")
    assert sent.body["model"] == "phi-test"
    assert sent.body["max_tokens"] == 200
    assert sent.headers["authorization"] == "Bearer sk-local"


async def test_selected_anthropic_backend_honours_anthropic_base_url(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm_server.anthropic_base_url)
    backend = select_backend(settings(anthropic_api_key="sk-ant-sel", llm_model="claude-test"))
    try:
        result = await backend.generate(LLMRequest(system="sys", turns=[Turn("user", "ping")]))
    finally:
        await close(backend)
    assert result.text == "Fake anthropic reply to: ping"
    [sent] = fake_llm_server.requests_for("anthropic")
    assert sent.body["model"] == "claude-test"
    assert sent.body["system"] == "sys"
    assert sent.headers["authorization"] == "Bearer sk-ant-sel"
