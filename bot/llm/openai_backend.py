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

import json
from typing import TYPE_CHECKING, Any, ClassVar

import httpx2
import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from bot.llm.base import EmptyRequest, Failure, LLMRequest, LLMResult, PartialCallback
from bot.llm.sdk import Classified, Round, SdkBackend, status_failure
from bot.llm.tools import Tool, ToolOutcome, ToolUse

if TYPE_CHECKING:
    from openai.types import CompletionUsage

    from bot.config import Settings

DEFAULT_MODEL = "llama3.1"
DEFAULT_MAX_RETRIES = 3
PLACEHOLDER_API_KEY = "not-needed"

_SERVER_ERROR = "The model server had an error ({status}){retries}. Please try again shortly."


class OpenAICompatibleBackend(SdkBackend):
    """:class:`~bot.llm.base.LLMBackend` for an OpenAI-compatible ``/chat/completions``
    endpoint at ``base_url`` (e.g. ``http://localhost:11434/v1`` for Ollama). Limits and
    retries: :class:`~bot.llm.sdk.SdkBackend`."""

    name = "openai"
    sdk_errors = (openai.OpenAIError, httpx2.HTTPError)
    messages: ClassVar[dict[Failure, str]] = {
        Failure.TIMEOUT: (
            "The model server at {base_url} did not answer within "
            "{timeout:g} seconds{retries}. Please try again in a moment."
        ),
        Failure.UNREACHABLE: (
            "I couldn't reach the model server at {base_url}{retries}. "
            "Is it running? Please try again in a moment."
        ),
        Failure.OVERLOADED: _SERVER_ERROR,
        Failure.RATE_LIMITED: (
            "The model server is rate-limiting this bot{retries}. Please try again in a minute."
        ),
        Failure.BAD_KEY: (
            "The model server at {base_url} rejected the API key ({status}). "
            "The operator needs to check TAILORBOT_OPENAI_API_KEY."
        ),
        Failure.FORBIDDEN: "The API key may not use model {model!r} on {base_url} ({status}).",
        Failure.NOT_FOUND: (
            "The model server at {base_url} has no model {model!r} or no "
            "chat-completions endpoint ({status}). The operator needs to check "
            "TAILORBOT_LLM_MODEL (pulled?) and that TAILORBOT_OPENAI_BASE_URL ends in /v1."
        ),
        Failure.SERVER_ERROR: _SERVER_ERROR,
        Failure.INTERRUPTED: "The model server stopped in the middle of its answer{detail}",
        Failure.MALFORMED: (
            "The model server at {base_url} sent an answer I couldn't read{retries}. "
            "Please try again."
        ),
        Failure.REFUSED: "The model server refused the request ({status}){detail}.",
        Failure.OTHER: "The call to the model server failed: {error}.",
    }

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
        super().__init__(
            model=model or DEFAULT_MODEL,
            max_tokens=max_tokens,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
        )
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

    async def _complete(self, request: LLMRequest, max_tokens: int) -> LLMResult:
        completion = await self._client.chat.completions.create(
            model=self.model,
            messages=_to_messages(request),
            max_tokens=max_tokens,
            temperature=_temperature(request),
        )
        choice = completion.choices[0] if completion.choices else None
        return LLMResult(
            text=(choice.message.content or "") if choice else "",
            model=completion.model or self.model,
            input_tokens=completion.usage.prompt_tokens if completion.usage else None,
            output_tokens=completion.usage.completion_tokens if completion.usage else None,
            stop_reason=choice.finish_reason if choice else None,
            extra=_usage_extra(completion.usage),
        )

    async def _stream(
        self, request: LLMRequest, max_tokens: int, on_partial: PartialCallback
    ) -> LLMResult:
        result, _ = await self._read_stream(
            on_partial,
            model=self.model,
            messages=_to_messages(request),
            max_tokens=max_tokens,
            temperature=_temperature(request),
        )
        return result

    async def _read_stream(
        self, on_partial: PartialCallback, **options: Any
    ) -> tuple[LLMResult, list[ToolUse]]:
        """Stream one completion: text to ``on_partial`` as it grows, tool calls assembled
        from their pieces (servers send a call's arguments in fragments)."""
        text = ""
        stop_reason = None
        usage = None
        model = self.model
        calls: dict[int, dict[str, str]] = {}
        stream = await self._client.chat.completions.create(
            **options, stream=True, stream_options={"include_usage": True}
        )
        chunks = 0
        async with stream:
            async for chunk in stream:
                chunks += 1
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                if not chunk.choices:
                    continue
                choice_delta = chunk.choices[0]
                if choice_delta.finish_reason:
                    stop_reason = choice_delta.finish_reason
                for call in choice_delta.delta.tool_calls or []:
                    slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = call.id or slot["id"]
                    if call.function is not None:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
                piece = choice_delta.delta.content
                if piece:
                    text += piece
                    await on_partial(text)
        if not chunks:  # a JSON or HTML body where an event stream was promised
            raise ValueError("the stream ended before its first event")
        result = LLMResult(
            text=text,
            model=model or self.model,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            stop_reason=stop_reason,
            extra=_usage_extra(usage),
        )
        uses = [
            ToolUse(slot["id"] or f"call_{index}", slot["name"], slot["arguments"])
            for index, slot in sorted(calls.items())
        ]
        return result, uses

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
        options: dict[str, Any] = {
            "model": self.model,
            "messages": conversation,
            "max_tokens": max_tokens,
            "temperature": _temperature(request),
            "tools": [_tool_param(tool) for tool in request.tools],
            "tool_choice": "auto" if allow_tools else "none",
        }
        if on_partial is not None:
            result, uses = await self._read_stream(on_partial, **options)
            return Round(result, uses)
        completion = await self._client.chat.completions.create(**options)
        choice = completion.choices[0] if completion.choices else None
        calls = (choice.message.tool_calls or []) if choice else []
        uses = [
            ToolUse(call.id, call.function.name, call.function.arguments)
            for call in calls
            if call.type == "function"
        ]
        result = LLMResult(
            text=(choice.message.content or "") if choice else "",
            model=completion.model or self.model,
            input_tokens=completion.usage.prompt_tokens if completion.usage else None,
            output_tokens=completion.usage.completion_tokens if completion.usage else None,
            stop_reason=choice.finish_reason if choice else None,
            extra=_usage_extra(completion.usage),
        )
        return Round(result, uses)

    def _add_results(
        self, conversation: list[Any], current: Round, outcomes: list[ToolOutcome]
    ) -> None:
        conversation.append(
            {
                "role": "assistant",
                "content": current.result.text or None,
                "tool_calls": [
                    {
                        "id": outcome.use.id,
                        "type": "function",
                        "function": {
                            "name": outcome.use.name,
                            "arguments": _arguments_text(outcome.use),
                        },
                    }
                    for outcome in outcomes
                ],
            }
        )
        conversation.extend(
            {"role": "tool", "tool_call_id": outcome.use.id, "content": outcome.content}
            for outcome in outcomes
        )

    async def aclose(self) -> None:
        await self._client.close()

    def _classify(self, exc: Exception) -> Classified:
        # Status errors and SDK-wrapped connection errors went through the SDK's retry loop;
        # errors in the middle of a stream were not retried.
        retried = isinstance(exc, openai.APIConnectionError | openai.APIStatusError)
        if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
            return Classified(Failure.TIMEOUT, retried)
        if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
            return Classified(Failure.UNREACHABLE, retried)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            return Classified(status_failure(status), retried, status, exc.message or "")
        if isinstance(exc, openai.APIError):
            # An error object sent inside an otherwise successful stream.
            return Classified(Failure.INTERRUPTED, retried, detail=exc.message)
        return Classified(Failure.OTHER, retried)

    def _describe(self, exc: Exception) -> str:
        parts = [type(exc).__name__]
        if isinstance(exc, openai.APIStatusError):
            parts.append(f"status={exc.status_code}")
            if exc.request_id:
                parts.append(f"request_id={exc.request_id}")
        if isinstance(exc, openai.APIError):
            parts.append(f"message={exc.message!r}")
        return " ".join(parts)


def _tool_param(tool: Tool) -> ChatCompletionToolParam:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.schema(),
        },
    }


def _arguments_text(use: ToolUse) -> str:
    if isinstance(use.arguments, str):
        return use.arguments
    return json.dumps(use.arguments or {})


def _temperature(request: LLMRequest) -> float | openai.Omit:
    return request.temperature if request.temperature is not None else omit


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
        raise EmptyRequest("LLMRequest has no non-empty turns; there is nothing to answer")
    return messages


def _usage_extra(usage: CompletionUsage | None) -> dict[str, str]:
    if usage is None:
        return {"usage": "not reported by server"}
    details = usage.prompt_tokens_details
    if details is not None and details.cached_tokens:
        return {"cached_input_tokens": str(details.cached_tokens)}
    return {}
