"""Claude through the official ``anthropic`` SDK (2.x, ``AsyncAnthropic``).

The SDK already does the hard parts well — connection pooling, retries with exponential backoff
that honours ``retry-after``, SSE parsing — so this module only translates between
:class:`~bot.llm.base.LLMRequest`/:class:`~bot.llm.base.LLMResult` and the Messages API, and
turns every failure into :class:`~bot.llm.base.LLMUnavailable` with a message a person can act
on. Things worth knowing about SDK 2.x / API version ``2026-10-21`` that shaped this code:

* The SDK sends the key as ``Authorization: Bearer``; the API accepts it.
* Sampling parameters (``temperature``, ``top_p``, ``top_k``) are rejected with HTTP 400 by API
  version 2026-10-21 and were removed from the SDK, so ``LLMRequest.temperature`` is ignored
  here rather than forwarded through ``extra_body``.
* ``ANTHROPIC_BASE_URL`` is read by the SDK itself; we pass ``base_url`` only when the caller
  gives one explicitly (tests), so operators can point the bot at a proxy the usual way.
* Mid-stream failures are not retried by the SDK (the answer has already started) and a read
  timeout in the middle of a stream surfaces as a raw ``httpx2`` exception, so both are mapped
  here too.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import anthropic
import httpx2
from anthropic import AsyncAnthropic, omit
from anthropic.types import MessageParam

from bot.llm.base import (
    LLMRequest,
    LLMResult,
    LLMUnavailable,
    PartialCallback,
    estimate_tokens,
    stream_text,
)

if TYPE_CHECKING:
    from anthropic.types import Message, Usage

    from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_RETRIES = 3

# Statuses where the same request may well succeed later; everything else (bad key, bad
# request, unknown model) will fail the same way until someone changes the configuration.
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


def _is_transient(status: int) -> bool:
    return status in _TRANSIENT_STATUSES or status >= 500


class AnthropicBackend:
    """:class:`~bot.llm.base.LLMBackend` for the Anthropic Messages API.

    ``max_tokens`` is the operator's ceiling (``TAILORBOT_LLM_MAX_TOKENS``): a request asking
    for more is capped, one asking for less (a short summary, say) is honoured.
    ``timeout_seconds`` bounds each HTTP attempt (connect, and each read — so a long streamed
    answer that keeps producing tokens is never cut off); ``max_retries`` attempts follow a
    429, 529, 5xx, timeout or dropped connection, with the SDK's backoff.
    """

    name = "anthropic"
    configured = True

    def __init__(
        self,
        *,
        api_key: str,
        model: str | None = None,
        max_tokens: int = 1024,
        timeout_seconds: float = 60.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        base_url: str | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("AnthropicBackend needs an API key (ANTHROPIC_API_KEY)")
        self.model = model or DEFAULT_MODEL
        self.max_tokens = max_tokens
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        # base_url=None lets the SDK apply ANTHROPIC_BASE_URL, then its default.
        self._client = AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        base_url: str | None = None,
    ) -> AnthropicBackend:
        if not settings.anthropic_api_key:
            raise ValueError("AnthropicBackend needs ANTHROPIC_API_KEY to be set")
        return cls(
            api_key=settings.anthropic_api_key,
            model=settings.llm_model,
            max_tokens=settings.llm_max_tokens,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=max_retries,
            base_url=base_url,
        )

    @property
    def base_url(self) -> str:
        """Where requests go (after ``ANTHROPIC_BASE_URL`` was applied), for logs and tests."""
        return str(self._client.base_url)

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        messages = _to_messages(request)
        max_tokens = min(request.max_tokens, self.max_tokens)
        system = request.system if request.system.strip() else omit
        started = time.perf_counter()
        try:
            if on_partial is None:
                message = await self._client.messages.create(
                    model=self.model, max_tokens=max_tokens, system=system, messages=messages
                )
                request_id = message._request_id
            else:
                async with self._client.messages.stream(
                    model=self.model, max_tokens=max_tokens, system=system, messages=messages
                ) as stream:
                    await stream_text(stream.text_stream, on_partial)
                    message = await stream.get_final_message()
                    request_id = stream.request_id
        except (anthropic.AnthropicError, httpx2.HTTPError) as exc:
            raise self._unavailable(exc) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return _to_result(message, latency_ms=latency_ms, request_id=request_id)

    def count_tokens(self, text: str) -> int:
        """Local estimate: the SDK's ``count_tokens`` is a network round trip, far too slow and
        rate-limited to call for every budget decision."""
        return estimate_tokens(text)

    async def aclose(self) -> None:
        await self._client.close()

    def _unavailable(self, exc: Exception) -> LLMUnavailable:
        """Translate an SDK or transport error into the one exception the core handles."""
        # Only errors the SDK raised before an answer started went through its retry loop;
        # raw httpx2 errors and 200-status stream errors happened mid-stream, unretried.
        retried = self.max_retries and (
            isinstance(exc, anthropic.APIConnectionError)
            or (isinstance(exc, anthropic.APIStatusError) and exc.status_code >= 400)
        )
        retries = f" (after {self.max_retries} retries)" if retried else ""
        if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
            message = (
                f"Claude did not answer within {self.timeout_seconds:g} seconds{retries}. "
                "Please try again in a moment."
            )
            retryable = True
        elif isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
            message = (
                f"I couldn't reach the Anthropic API at {self.base_url}{retries}. "
                "Please try again in a moment."
            )
            retryable = True
        elif isinstance(exc, anthropic.APIStatusError):
            message, retryable = self._status_message(exc, retries)
        else:
            message = f"The Anthropic API call failed: {type(exc).__name__}."
            retryable = False
        log.warning(
            "anthropic call failed: %s (%s, retryable=%s)",
            message,
            _describe(exc),
            retryable,
        )
        return LLMUnavailable(message, retryable=retryable)

    def _status_message(self, exc: anthropic.APIStatusError, retries: str) -> tuple[str, bool]:
        status = exc.status_code
        error_type = exc.type or ""
        if error_type == "overloaded_error" or status == 529:
            return f"Claude is overloaded right now{retries}. Please try again shortly.", True
        if isinstance(exc, anthropic.RateLimitError) or error_type == "rate_limit_error":
            return (
                f"The Anthropic API is rate-limiting this bot{retries}. "
                "Please try again in a minute.",
                True,
            )
        if isinstance(exc, anthropic.AuthenticationError) or error_type == "authentication_error":
            return (
                "The Anthropic API rejected the API key (401). "
                "The operator needs to check ANTHROPIC_API_KEY.",
                False,
            )
        if isinstance(exc, anthropic.PermissionDeniedError) or error_type == "permission_error":
            return (
                f"The Anthropic API key is not allowed to use model {self.model!r} (403).",
                False,
            )
        if isinstance(exc, anthropic.NotFoundError) or error_type == "not_found_error":
            return (
                f"The Anthropic API does not know model {self.model!r} (404). "
                "The operator needs to check TAILORBOT_LLM_MODEL.",
                False,
            )
        if _is_transient(status) or error_type == "api_error":
            return (
                f"The Anthropic API had an internal error ({status}){retries}. "
                "Please try again shortly.",
                True,
            )
        detail = f": {exc.api_message}" if exc.api_message else ""
        return f"The Anthropic API refused the request ({status}){detail}.", False


def _to_messages(request: LLMRequest) -> list[MessageParam]:
    """Turns as Messages API params. Empty turns are dropped because the API rejects empty
    text content with a 400 and an empty turn carries nothing for the model anyway."""
    messages: list[MessageParam] = []
    for turn in request.turns:
        if not turn.content.strip():
            continue
        if turn.role == "user":
            messages.append({"role": "user", "content": turn.content})
        else:
            messages.append({"role": "assistant", "content": turn.content})
    if not messages:
        raise ValueError("LLMRequest has no non-empty turns; there is nothing to answer")
    return messages


def _input_tokens(usage: Usage) -> int:
    """All input tokens: the API splits cached prompt tokens out of ``input_tokens``."""
    return (
        usage.input_tokens
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )


def _to_result(message: Message, *, latency_ms: float, request_id: str | None) -> LLMResult:
    text = "".join(block.text for block in message.content if block.type == "text")
    extra: dict[str, str] = {}
    if request_id:
        extra["request_id"] = request_id
    if message.usage.cache_read_input_tokens:
        extra["cache_read_input_tokens"] = str(message.usage.cache_read_input_tokens)
    return LLMResult(
        text=text,
        model=str(message.model),
        input_tokens=_input_tokens(message.usage),
        output_tokens=message.usage.output_tokens,
        latency_ms=latency_ms,
        stop_reason=message.stop_reason,
        extra=extra,
    )


def _describe(exc: Exception) -> str:
    """Operator-facing detail for logs (never shown to people): class, status, request id."""
    parts = [type(exc).__name__]
    if isinstance(exc, anthropic.APIStatusError):
        parts.append(f"status={exc.status_code}")
        if exc.type:
            parts.append(f"type={exc.type}")
        if exc.request_id:
            parts.append(f"request_id={exc.request_id}")
        if exc.api_message:
            parts.append(f"message={exc.api_message!r}")
    return " ".join(parts)
