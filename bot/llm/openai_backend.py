"""Any OpenAI-compatible chat-completions server (Ollama, vLLM, llama.cpp, LM Studio, OpenAI
itself) through the official ``openai`` SDK's ``AsyncOpenAI``.

The SDK does connection pooling, retries with backoff that honours ``retry-after`` and SSE
parsing; this module translates requests and results and turns every failure into
:class:`~bot.llm.base.LLMUnavailable`. Choices made for the "compatible" part:

* ``max_tokens`` rather than ``max_completion_tokens``: it is the field every local server
  understands (OpenAI deprecated it only for its own reasoning models).
* Local servers need no key, but the SDK refuses to start without one, so a placeholder is
  sent when ``TAILORBOT_OPENAI_API_KEY`` is unset.
* Streaming asks for usage with ``stream_options.include_usage``; servers that ignore it just
  leave ``input_tokens``/``output_tokens`` as ``None`` — we never invent numbers for billing.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import httpx2
import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam

from bot.llm.base import LLMRequest, LLMResult, LLMUnavailable, PartialCallback, estimate_tokens

if TYPE_CHECKING:
    from openai.types import CompletionUsage

    from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "llama3.1"
DEFAULT_MAX_RETRIES = 3
PLACEHOLDER_API_KEY = "not-needed"

_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class OpenAICompatibleBackend:
    """:class:`~bot.llm.base.LLMBackend` for an OpenAI-compatible ``/chat/completions``
    endpoint at ``base_url`` (e.g. ``http://localhost:11434/v1`` for Ollama).

    ``max_tokens`` is the operator's ceiling: a request asking for more is capped.
    ``timeout_seconds`` bounds each HTTP attempt (connect and each read, so a long streamed
    answer is never cut off while tokens keep coming); ``max_retries`` attempts follow a 429,
    5xx, timeout or dropped connection.
    """

    name = "openai"
    configured = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str | None = None,
        max_tokens: int = 1024,
        timeout_seconds: float = 60.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        if not base_url:
            raise ValueError("OpenAICompatibleBackend needs a base URL (TAILORBOT_OPENAI_BASE_URL)")
        self.model = model or DEFAULT_MODEL
        self.max_tokens = max_tokens
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or PLACEHOLDER_API_KEY,
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, max_retries: int = DEFAULT_MAX_RETRIES
    ) -> OpenAICompatibleBackend:
        if not settings.openai_base_url:
            raise ValueError("OpenAICompatibleBackend needs TAILORBOT_OPENAI_BASE_URL to be set")
        return cls(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            model=settings.llm_model,
            max_tokens=settings.llm_max_tokens,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=max_retries,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        messages = _to_messages(request)
        max_tokens = min(request.max_tokens, self.max_tokens)
        temperature = request.temperature if request.temperature is not None else omit
        started = time.perf_counter()
        try:
            if on_partial is None:
                completion = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
                choice = completion.choices[0] if completion.choices else None
                text = (choice.message.content or "") if choice else ""
                stop_reason = choice.finish_reason if choice else None
                usage = completion.usage
                model = completion.model
            else:
                text = ""
                stop_reason = None
                usage = None
                model = self.model
                stream = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                async with stream:
                    async for chunk in stream:
                        model = chunk.model or model
                        if chunk.usage is not None:
                            usage = chunk.usage
                        if not chunk.choices:
                            continue
                        choice_delta = chunk.choices[0]
                        if choice_delta.finish_reason:
                            stop_reason = choice_delta.finish_reason
                        piece = choice_delta.delta.content
                        if piece:
                            text += piece
                            await on_partial(text)
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise self._unavailable(exc) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return LLMResult(
            text=text,
            model=model or self.model,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            latency_ms=latency_ms,
            stop_reason=stop_reason,
            extra=_usage_extra(usage),
        )

    def count_tokens(self, text: str) -> int:
        """Local estimate: compatible servers have no standard token-counting endpoint."""
        return estimate_tokens(text)

    async def aclose(self) -> None:
        await self._client.close()

    def _unavailable(self, exc: Exception) -> LLMUnavailable:
        """Translate an SDK or transport error into the one exception the core handles."""
        # Status errors and SDK-wrapped connection errors went through the SDK's retry loop;
        # errors in the middle of a stream were not retried.
        retried = self.max_retries and (
            isinstance(exc, openai.APIConnectionError | openai.APIStatusError)
        )
        retries = f" (after {self.max_retries} retries)" if retried else ""
        if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
            message = (
                f"The model server at {self.base_url} did not answer within "
                f"{self.timeout_seconds:g} seconds{retries}. Please try again in a moment."
            )
            retryable = True
        elif isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
            message = (
                f"I couldn't reach the model server at {self.base_url}{retries}. "
                "Is it running? Please try again in a moment."
            )
            retryable = True
        elif isinstance(exc, openai.APIStatusError):
            message, retryable = self._status_message(exc, retries)
        elif isinstance(exc, openai.APIError):
            # An error object sent inside an otherwise successful stream.
            message = f"The model server stopped in the middle of its answer: {exc.message}"
            retryable = True
        else:
            message = f"The call to the model server failed: {type(exc).__name__}."
            retryable = False
        log.warning(
            "openai-compatible call to %s failed: %s (%s, retryable=%s)",
            self.base_url,
            message,
            _describe(exc),
            retryable,
        )
        return LLMUnavailable(message, retryable=retryable)

    def _status_message(self, exc: openai.APIStatusError, retries: str) -> tuple[str, bool]:
        status = exc.status_code
        if isinstance(exc, openai.RateLimitError):
            return (
                f"The model server is rate-limiting this bot{retries}. "
                "Please try again in a minute.",
                True,
            )
        if isinstance(exc, openai.AuthenticationError):
            return (
                f"The model server at {self.base_url} rejected the API key ({status}). "
                "The operator needs to check TAILORBOT_OPENAI_API_KEY.",
                False,
            )
        if isinstance(exc, openai.PermissionDeniedError):
            return (
                f"The API key may not use model {self.model!r} on {self.base_url} ({status}).",
                False,
            )
        if isinstance(exc, openai.NotFoundError):
            return (
                f"The model server at {self.base_url} has no model {self.model!r} or no "
                "chat-completions endpoint (404). The operator needs to check "
                "TAILORBOT_LLM_MODEL (pulled?) and that TAILORBOT_OPENAI_BASE_URL ends in /v1.",
                False,
            )
        if status in _TRANSIENT_STATUSES or status >= 500:
            return (
                f"The model server had an error ({status}){retries}. Please try again shortly.",
                True,
            )
        detail = f": {exc.message}" if exc.message else ""
        return f"The model server refused the request ({status}){detail}.", False


def _to_messages(request: LLMRequest) -> list[ChatCompletionMessageParam]:
    """System text first, then the turns. Empty turns are dropped: they carry nothing and some
    servers reject empty content."""
    messages: list[ChatCompletionMessageParam] = []
    if request.system.strip():
        messages.append({"role": "system", "content": request.system})
    has_turn = False
    for turn in request.turns:
        if not turn.content.strip():
            continue
        has_turn = True
        if turn.role == "user":
            messages.append({"role": "user", "content": turn.content})
        else:
            messages.append({"role": "assistant", "content": turn.content})
    if not has_turn:
        raise ValueError("LLMRequest has no non-empty turns; there is nothing to answer")
    return messages


def _usage_extra(usage: CompletionUsage | None) -> dict[str, str]:
    if usage is None:
        return {"usage": "not reported by server"}
    details = usage.prompt_tokens_details
    if details is not None and details.cached_tokens:
        return {"cached_input_tokens": str(details.cached_tokens)}
    return {}


def _describe(exc: Exception) -> str:
    """Operator-facing detail for logs (never shown to people)."""
    parts = [type(exc).__name__]
    if isinstance(exc, openai.APIStatusError):
        parts.append(f"status={exc.status_code}")
        if exc.request_id:
            parts.append(f"request_id={exc.request_id}")
    if isinstance(exc, openai.APIError):
        parts.append(f"message={exc.message!r}")
    return " ".join(parts)
