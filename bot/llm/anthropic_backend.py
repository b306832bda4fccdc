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

from typing import TYPE_CHECKING, Any, ClassVar

import anthropic
import httpx2
from anthropic import AsyncAnthropic, omit
from anthropic.types import MessageParam, ToolParam

from bot.llm.base import EmptyRequest, Failure, LLMRequest, LLMResult, PartialCallback, stream_text
from bot.llm.sdk import Classified, Round, SdkBackend, status_failure
from bot.llm.tools import Tool, ToolOutcome, ToolUse

if TYPE_CHECKING:
    from anthropic.types import Message, Usage

    from bot.config import Settings

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_RETRIES = 3

# The API's error ``type`` says more than the status (an overload reported mid-stream arrives
# with the 200 of the stream that had started).
_ERROR_TYPES: dict[str, Failure] = {
    "overloaded_error": Failure.OVERLOADED,
    "rate_limit_error": Failure.RATE_LIMITED,
    "authentication_error": Failure.BAD_KEY,
    "permission_error": Failure.FORBIDDEN,
    "not_found_error": Failure.NOT_FOUND,
    "api_error": Failure.SERVER_ERROR,
}


class AnthropicBackend(SdkBackend):
    """:class:`~bot.llm.base.LLMBackend` for the Anthropic Messages API (limits and retries:
    :class:`~bot.llm.sdk.SdkBackend`)."""

    name = "anthropic"
    sdk_errors = (anthropic.AnthropicError, httpx2.HTTPError)
    messages: ClassVar[dict[Failure, str]] = {
        Failure.TIMEOUT: (
            "Claude did not answer within {timeout:g} seconds{retries}. "
            "Please try again in a moment."
        ),
        Failure.UNREACHABLE: (
            "I couldn't reach the Anthropic API at {base_url}{retries}. "
            "Please try again in a moment."
        ),
        Failure.OVERLOADED: "Claude is overloaded right now{retries}. Please try again shortly.",
        Failure.RATE_LIMITED: (
            "The Anthropic API is rate-limiting this bot{retries}. Please try again in a minute."
        ),
        Failure.BAD_KEY: (
            "The Anthropic API rejected the API key ({status}). "
            "The operator needs to check ANTHROPIC_API_KEY."
        ),
        Failure.FORBIDDEN: (
            "The Anthropic API key is not allowed to use model {model!r} ({status})."
        ),
        Failure.NOT_FOUND: (
            "The Anthropic API does not know model {model!r} ({status}). "
            "The operator needs to check TAILORBOT_LLM_MODEL."
        ),
        Failure.SERVER_ERROR: (
            "The Anthropic API had an internal error ({status}){retries}. Please try again shortly."
        ),
        Failure.INTERRUPTED: "Claude stopped in the middle of its answer{detail}.",
        Failure.MALFORMED: (
            "The Anthropic API sent an answer I couldn't read{retries}. Please try again."
        ),
        Failure.REFUSED: "The Anthropic API refused the request ({status}){detail}.",
        Failure.OTHER: "The Anthropic API call failed: {error}.",
    }

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
        super().__init__(
            model=model or DEFAULT_MODEL,
            max_tokens=max_tokens,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
        )
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

    async def _complete(self, request: LLMRequest, max_tokens: int) -> LLMResult:
        message = await self._client.messages.create(
            model=self.model,
            max_tokens=max_tokens,
            system=_system(request),
            messages=_to_messages(request),
        )
        return _to_result(message, request_id=message._request_id)

    async def _stream(
        self, request: LLMRequest, max_tokens: int, on_partial: PartialCallback
    ) -> LLMResult:
        async with self._client.messages.stream(
            model=self.model,
            max_tokens=max_tokens,
            system=_system(request),
            messages=_to_messages(request),
        ) as stream:
            await stream_text(stream.text_stream, on_partial)
            message = await stream.get_final_message()
            return _to_result(message, request_id=stream.request_id)

    def _conversation(self, request: LLMRequest) -> list[Any]:
        return list(_to_messages(request))

    async def _round(
        self,
        request: LLMRequest,
        conversation: list[Any],
        max_tokens: int,
        *,
        allow_tools: bool,
        on_partial: PartialCallback | None,
    ) -> Round:
        # Tools stay declared in the last round (the API refuses tool_use blocks in a request
        # without tools); tool_choice "none" is what stops the model calling them.
        options: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "system": _system(request),
            "messages": conversation,
            "tools": [_tool_param(tool) for tool in request.tools],
            "tool_choice": {"type": "auto"} if allow_tools else {"type": "none"},
        }
        if on_partial is None:
            message = await self._client.messages.create(**options)
            request_id = message._request_id
        else:
            async with self._client.messages.stream(**options) as stream:
                await stream_text(stream.text_stream, on_partial)
                message = await stream.get_final_message()
                request_id = stream.request_id
        uses = [
            ToolUse(block.id, block.name, dict(block.input))
            for block in message.content
            if block.type == "tool_use"
        ]
        return Round(_to_result(message, request_id=request_id), uses, message)

    def _add_results(
        self, conversation: list[Any], current: Round, outcomes: list[ToolOutcome]
    ) -> None:
        content: list[dict[str, Any]] = []
        for block in current.message.content:
            if block.type == "text" and block.text:
                content.append({"type": "text", "text": block.text})
            elif block.type == "tool_use":
                content.append(
                    {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                )
        conversation.append({"role": "assistant", "content": content})
        conversation.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": outcome.use.id,
                        "content": outcome.content,
                        "is_error": outcome.is_error,
                    }
                    for outcome in outcomes
                ],
            }
        )

    async def aclose(self) -> None:
        await self._client.close()

    def _classify(self, exc: Exception) -> Classified:
        # Only errors the SDK raised before an answer started went through its retry loop;
        # raw httpx2 errors and 200-status stream errors happened mid-stream, unretried.
        retried = isinstance(exc, anthropic.APIConnectionError) or (
            isinstance(exc, anthropic.APIStatusError) and exc.status_code >= 400
        )
        if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
            return Classified(Failure.TIMEOUT, retried)
        if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
            return Classified(Failure.UNREACHABLE, retried)
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            failure = _ERROR_TYPES.get(exc.type or "") or status_failure(status)
            return Classified(failure, retried, status, exc.api_message or "")
        return Classified(Failure.OTHER, retried)

    def _describe(self, exc: Exception) -> str:
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


def _tool_param(tool: Tool) -> ToolParam:
    return {"name": tool.name, "description": tool.description, "input_schema": tool.schema()}


def _system(request: LLMRequest) -> str | anthropic.Omit:
    return request.system if request.system.strip() else omit


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
        raise EmptyRequest("LLMRequest has no non-empty turns; there is nothing to answer")
    return messages


def _input_tokens(usage: Usage) -> int:
    """All input tokens: the API splits cached prompt tokens out of ``input_tokens``."""
    return (
        usage.input_tokens
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )


def _to_result(message: Message, *, request_id: str | None) -> LLMResult:
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
        stop_reason=message.stop_reason,
        extra=extra,
    )
