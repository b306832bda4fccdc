"""The shared failure vocabulary: both SDK backends, over real HTTP against the fake server,
classify the same server behaviour as the same :class:`Failure`, so callers can act on
``failure`` without knowing which vendor answered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.llm.anthropic_backend import AnthropicBackend
from bot.llm.base import Failure, LLMRequest, LLMUnavailable, Turn
from bot.llm.openai_backend import OpenAICompatibleBackend
from bot.llm.sdk import SdkBackend, status_failure
from tests.support.fake_llm_server import Api, Delay, Error, FakeLLMServer, Reply
from tests.support.fixtures_llm import fake_llm_server  # noqa: F401  (fixture)

REQUEST = LLMRequest(system="s", turns=[Turn("user", "hello")], max_tokens=64)


# Long enough for a loaded machine to connect and answer (0.3 s for every test made a
# status test fail as a connect timeout when the suite ran beside other work); only the
# timeout test is impatient, against a server that waits far longer.
PATIENT_SECONDS = 30.0
IMPATIENT_SECONDS = 0.3


def _made(api: Api, server: FakeLLMServer, timeout: float) -> SdkBackend:
    if api == "anthropic":
        return AnthropicBackend(
            api_key="k",
            base_url=server.anthropic_base_url,
            timeout_seconds=timeout,
            max_retries=0,
        )
    return OpenAICompatibleBackend(
        base_url=server.openai_base_url, timeout_seconds=timeout, max_retries=0
    )


@pytest_asyncio.fixture(params=["anthropic", "openai"])
async def backend(
    request: pytest.FixtureRequest,
    fake_llm_server: FakeLLMServer,  # noqa: F811
) -> AsyncIterator[tuple[Api, SdkBackend]]:
    api: Api = request.param
    made = _made(api, fake_llm_server, PATIENT_SECONDS)
    yield api, made
    await made.aclose()


@pytest_asyncio.fixture(params=["anthropic", "openai"])
async def impatient_backend(
    request: pytest.FixtureRequest,
    fake_llm_server: FakeLLMServer,  # noqa: F811
) -> AsyncIterator[tuple[Api, SdkBackend]]:
    api: Api = request.param
    made = _made(api, fake_llm_server, IMPATIENT_SECONDS)
    yield api, made
    await made.aclose()


@pytest.mark.parametrize(
    ("status", "failure", "retryable"),
    [
        (401, Failure.BAD_KEY, False),
        (403, Failure.FORBIDDEN, False),
        (404, Failure.NOT_FOUND, False),
        (400, Failure.REFUSED, False),
        (429, Failure.RATE_LIMITED, True),
        (500, Failure.SERVER_ERROR, True),
    ],
)
async def test_same_status_same_failure_for_every_backend(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    backend: tuple[Api, SdkBackend],
    status: int,
    failure: Failure,
    retryable: bool,
) -> None:
    api, sdk_backend = backend
    fake_llm_server.enqueue(api, Error(status))
    with pytest.raises(LLMUnavailable) as caught:
        await sdk_backend.generate(REQUEST)
    assert caught.value.failure is failure
    assert caught.value.retryable is retryable


async def test_timeout_is_one_failure_kind(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    impatient_backend: tuple[Api, SdkBackend],
) -> None:
    api, sdk_backend = impatient_backend
    fake_llm_server.enqueue(api, Delay(5))
    with pytest.raises(LLMUnavailable) as caught:
        await sdk_backend.generate(REQUEST)
    assert caught.value.failure is Failure.TIMEOUT
    assert caught.value.retryable


async def test_success_is_timed_by_the_base(
    fake_llm_server: FakeLLMServer,  # noqa: F811
    backend: tuple[Api, SdkBackend],
) -> None:
    api, sdk_backend = backend
    fake_llm_server.enqueue(api, Delay(0.05, Reply("fine")))
    result = await sdk_backend.generate(REQUEST)
    assert result.text == "fine"
    assert result.latency_ms is not None and result.latency_ms >= 50


def test_status_ladder() -> None:
    assert status_failure(529) is Failure.OVERLOADED
    assert status_failure(408) is Failure.SERVER_ERROR
    assert status_failure(502) is Failure.SERVER_ERROR
    assert status_failure(422) is Failure.REFUSED


def test_unclassified_unavailable_stays_retryable() -> None:
    """Scripted backends and older callers raise without a classification: a person is told
    to try again rather than that an operator must act."""
    plain = LLMUnavailable("rate limited")
    assert plain.failure is Failure.OTHER and plain.retryable
    assert not LLMUnavailable("x", failure=Failure.BAD_KEY).retryable
