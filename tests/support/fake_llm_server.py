"""A real local HTTP server that speaks just enough of the Anthropic Messages API and the OpenAI
chat-completions API for the backends to be tested through the real SDKs.

Why a server and not mocks: the SDKs own retries, backoff, timeouts, SSE parsing and error
classification. Mocking them would test our assumptions about the SDKs instead of the SDKs.
Here every byte goes over a socket on 127.0.0.1, so a test fails if the wire format, a header
or the retry behaviour is not what the SDK really does.

Usage::

    async with FakeLLMServer() as server:
        server.enqueue("anthropic", Error(429), Reply("hello"))
        backend = AnthropicBackend(api_key="k", base_url=server.anthropic_base_url)
        ...
        assert len(server.requests_for("anthropic")) == 2

Each API has its own queue of scripted responses (:class:`Reply`, :class:`Error`,
:class:`Delay`); when a queue is empty the server answers with :func:`default_reply_text`,
which mentions the last user message so tests can check the prompt went through.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

Api = Literal["anthropic", "openai"]

ANTHROPIC_PATH = "/v1/messages"
OPENAI_PATH = "/v1/chat/completions"

# Anthropic error ``type`` for each status, as the real API names them.
ANTHROPIC_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}

# OpenAI (and most OpenAI-compatible servers) error ``type``/``code`` for each status.
OPENAI_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}

DEFAULT_ERROR_MESSAGES: dict[int, str] = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "The requested resource could not be found.",
    429: "Number of request tokens has exceeded your per-minute rate limit.",
    500: "Internal server error",
    503: "Service unavailable",
    529: "Overloaded",
}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the scripted model makes. ``arguments`` is sent as the API does: an object
    for Anthropic (``input``), a JSON text for OpenAI (``function.arguments``); a ``str`` is
    sent verbatim to OpenAI (so a test can send text that is not JSON)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer. ``chunks`` controls how a streamed answer is split (default: word
    by word, so ``on_partial`` sees several growing snapshots). ``chunk_delay`` pauses between
    streamed chunks, to provoke a read timeout in the middle of a stream. ``send_usage=False``
    imitates OpenAI-compatible servers that ignore ``stream_options.include_usage`` (and omit
    ``usage`` entirely). ``stream_error`` is sent after the chunks instead of a clean end, the
    way the Anthropic API reports ``overloaded_error`` in the middle of a stream."""

    text: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None
    chunks: tuple[str, ...] | None = None
    chunk_delay: float = 0.0
    send_usage: bool = True
    stream_error: Error | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Error:
    """An error response in the API's real JSON error shape. ``error_type`` and ``message``
    default from the status code. ``retry_after`` sets the standard ``retry-after`` header (in
    seconds, as the APIs send it); ``retry_after_ms`` sets ``retry-after-ms``, which both SDKs
    prefer — when left ``None`` the server's ``default_retry_after_ms`` is used so that SDK
    backoff in tests takes milliseconds instead of the SDK's 0.5 s minimum."""

    status: int
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait ``seconds`` before answering with ``then`` (default reply when ``None``). Used to
    trigger client timeouts; the wait ends early when the server shuts down, so a long delay
    never slows a test's teardown."""

    seconds: float
    then: Reply | Error | None = None


@dataclass(frozen=True, slots=True)
class Raw:
    """A response body sent exactly as given (a malformed JSON or event stream, an HTML error
    page from a proxy), to prove the backends turn what they cannot read into a clear
    "model unavailable" instead of an exception escaping."""

    body: str
    status: int = 200
    content_type: str = "application/json"


Scripted = Reply | Error | Delay | Raw


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it. Header names are lower-cased."""

    api: Api
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float

    @property
    def streaming(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))


def _raw(item: Raw) -> web.Response:
    return web.Response(
        body=item.body.encode(), status=item.status, headers={"content-type": item.content_type}
    )


def last_user_text(body: Any, api: Api) -> str:
    """The text of the last ``user`` message in an Anthropic or OpenAI request body."""
    messages = body.get("messages", []) if isinstance(body, dict) else []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
    return ""


def default_reply_text(body: Any, api: Api) -> str:
    """Deterministic answer used when a queue is empty."""
    return f"Fake {api} reply to: {last_user_text(body, api)}"


def split_words(text: str) -> tuple[str, ...]:
    """Split keeping whitespace attached, so ``"".join(chunks) == text``."""
    parts = re.findall(r"\s*\S+\s*|\s+", text)
    return tuple(parts) if parts else (text,)


def _rough_tokens(text: str) -> int:
    return max(1, len(text.split()))


def _body_tokens(body: Any) -> int:
    """A deterministic input token count: whitespace-separated words in all message text."""
    if not isinstance(body, dict):
        return 1
    words = 0
    system = body.get("system")
    if isinstance(system, str):
        words += len(system.split())
    for message in body.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            words += len(content.split())
    return max(1, words)


class FakeLLMServer:
    """Serve both APIs on one ephemeral port on 127.0.0.1.

    ``anthropic_api_key`` / ``openai_api_key``, when set, make the server check credentials
    like the real services do (Anthropic accepts ``x-api-key`` or ``Authorization: Bearer``;
    OpenAI-compatible servers use ``Authorization: Bearer``) and answer 401 otherwise.
    ``reject_sampling_params`` imitates Anthropic API version 2026-10-21, which refuses
    ``temperature``/``top_p``/``top_k`` with a 400.
    """

    def __init__(
        self,
        *,
        anthropic_api_key: str | None = None,
        openai_api_key: str | None = None,
        default_retry_after_ms: float | None = 1.0,
        reject_sampling_params: bool = True,
    ) -> None:
        self.anthropic_api_key = anthropic_api_key
        self.openai_api_key = openai_api_key
        self.default_retry_after_ms = default_retry_after_ms
        self.reject_sampling_params = reject_sampling_params
        self.requests: list[RecordedRequest] = []
        self._queues: dict[Api, list[Scripted]] = {"anthropic": [], "openai": []}
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(ANTHROPIC_PATH, self._handle_anthropic)
        app.router.add_post(OPENAI_PATH, self._handle_openai)
        # handler_cancellation: a client that timed out and hung up must not leave a handler
        # sleeping; shutdown_timeout: teardown never waits long for stragglers.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        addresses = self._runner.addresses
        self._port = int(addresses[0][1])

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLMServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Addresses ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeLLMServer is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def anthropic_base_url(self) -> str:
        """What ``ANTHROPIC_BASE_URL`` would be: the SDK appends ``/v1/messages``."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """What an OpenAI-compatible base URL looks like: the SDK appends
        ``/chat/completions``."""
        return f"{self.url}/v1"

    # Scripting ------------------------------------------------------------------------------

    def enqueue(self, api: Api, *items: Scripted) -> None:
        """Answer the next requests to ``api`` with ``items``, in order."""
        self._queues[api].extend(items)

    def pending(self, api: Api) -> int:
        """How many scripted responses are still waiting (0 once all were used)."""
        return len(self._queues[api])

    def requests_for(self, api: Api) -> list[RecordedRequest]:
        return [r for r in self.requests if r.api == api]

    # Handlers -------------------------------------------------------------------------------

    async def _record(self, request: web.Request, api: Api) -> RecordedRequest:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            api=api,
            method=request.method,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        self.requests.append(recorded)
        return recorded

    async def _next(self, api: Api) -> Reply | Error | Raw | None:
        """Pop the next scripted item, performing any delay; ``None`` means default reply."""
        if not self._queues[api]:
            return None
        item = self._queues[api].pop(0)
        if isinstance(item, Delay):
            # Ends early on shutdown so a 30 s delay never holds up teardown.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=item.seconds)
            return item.then
        return item

    def _error_headers(self, error: Error) -> dict[str, str]:
        headers = dict(error.headers)
        retry_ms = error.retry_after_ms
        if retry_ms is None and error.retry_after is None:
            retry_ms = self.default_retry_after_ms
        if retry_ms is not None:
            headers.setdefault("retry-after-ms", f"{retry_ms:g}")
        if error.retry_after is not None:
            headers.setdefault("retry-after", f"{error.retry_after:g}")
        return headers

    # Anthropic ------------------------------------------------------------------------------

    def _anthropic_error_body(self, error: Error, request_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {
                "type": error.error_type or ANTHROPIC_ERROR_TYPES.get(error.status, "api_error"),
                "message": error.message or DEFAULT_ERROR_MESSAGES.get(error.status, "Error"),
            },
            "request_id": request_id,
        }

    def _anthropic_error(self, error: Error, request_id: str) -> web.Response:
        headers = self._error_headers(error)
        headers["request-id"] = request_id
        return web.json_response(
            self._anthropic_error_body(error, request_id), status=error.status, headers=headers
        )

    def _anthropic_auth_ok(self, recorded: RecordedRequest) -> bool:
        if self.anthropic_api_key is None:
            return True
        bearer = recorded.headers.get("authorization", "")
        return recorded.headers.get("x-api-key") == self.anthropic_api_key or (
            bearer == f"Bearer {self.anthropic_api_key}"
        )

    async def _handle_anthropic(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request, "anthropic")
        request_id = f"req_fake_{next(self._ids):04d}"
        if not self._anthropic_auth_ok(recorded):
            return self._anthropic_error(Error(401), request_id)
        body = recorded.body if isinstance(recorded.body, dict) else {}
        if self.reject_sampling_params:
            for name in ("temperature", "top_p", "top_k"):
                if name in body:
                    return self._anthropic_error(
                        Error(400, message=f"{name}: Extra inputs are not permitted"), request_id
                    )
        item = await self._next("anthropic")
        if isinstance(item, Error):
            return self._anthropic_error(item, request_id)
        if isinstance(item, Raw):
            return _raw(item)
        reply = item or Reply()
        text = reply.text if reply.text is not None else default_reply_text(body, "anthropic")
        if reply.tool_calls and reply.text is None:
            text = ""
        input_tokens = reply.input_tokens if reply.input_tokens is not None else _body_tokens(body)
        output_tokens = (
            reply.output_tokens if reply.output_tokens is not None else _rough_tokens(text)
        )
        stop_reason = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
        model = str(body.get("model", "claude-fake"))
        message_id = f"msg_fake_{request_id[-4:]}"
        headers = {"request-id": request_id}

        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
            for number, call in enumerate(reply.tool_calls):
                arguments = call.arguments
                if isinstance(arguments, str):
                    arguments = {"raw": arguments}
                content.append(
                    {
                        "type": "tool_use",
                        "id": call.id or f"toolu_fake_{request_id[-4:]}_{number}",
                        "name": call.name,
                        "input": arguments,
                    }
                )
            return web.json_response(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                },
                headers=headers,
            )

        response = web.StreamResponse(
            headers={**headers, "content-type": "text/event-stream", "cache-control": "no-cache"}
        )
        await response.prepare(request)

        async def send(event: str, data: dict[str, Any]) -> None:
            payload = f"event: {event}\ndata: {json.dumps(data)}\n\n"
            await response.write(payload.encode())

        await send(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": 1},
                },
            },
        )
        await send(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        await send("ping", {"type": "ping"})
        for i, chunk in enumerate(reply.chunks or split_words(text)):
            if i and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            await send(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": chunk},
                },
            )
        if reply.stream_error is not None:
            await send("error", self._anthropic_error_body(reply.stream_error, request_id))
            await response.write_eof()
            return response
        await send("content_block_stop", {"type": "content_block_stop", "index": 0})
        for number, call in enumerate(reply.tool_calls, start=1):
            arguments = call.arguments
            if isinstance(arguments, str):
                arguments = {"raw": arguments}
            await send(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": number,
                    "content_block": {
                        "type": "tool_use",
                        "id": call.id or f"toolu_fake_{request_id[-4:]}_{number}",
                        "name": call.name,
                        "input": {},
                    },
                },
            )
            await send(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": number,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(arguments)},
                },
            )
            await send("content_block_stop", {"type": "content_block_stop", "index": number})
        await send(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        await send("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response

    # OpenAI ---------------------------------------------------------------------------------

    def _openai_error_body(self, error: Error) -> dict[str, Any]:
        default_type, default_code = OPENAI_ERROR_TYPES.get(error.status, ("server_error", None))
        return {
            "error": {
                "message": error.message or DEFAULT_ERROR_MESSAGES.get(error.status, "Error"),
                "type": error.error_type or default_type,
                "param": None,
                "code": default_code,
            }
        }

    def _openai_error(self, error: Error) -> web.Response:
        return web.json_response(
            self._openai_error_body(error), status=error.status, headers=self._error_headers(error)
        )

    async def _handle_openai(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request, "openai")
        if self.openai_api_key is not None and (
            recorded.headers.get("authorization") != f"Bearer {self.openai_api_key}"
        ):
            return self._openai_error(Error(401, message="Incorrect API key provided."))
        body = recorded.body if isinstance(recorded.body, dict) else {}
        item = await self._next("openai")
        if isinstance(item, Error):
            return self._openai_error(item)
        if isinstance(item, Raw):
            return _raw(item)
        reply = item or Reply()
        text = reply.text if reply.text is not None else default_reply_text(body, "openai")
        if reply.tool_calls and reply.text is None:
            text = ""
        prompt_tokens = reply.input_tokens if reply.input_tokens is not None else _body_tokens(body)
        completion_tokens = (
            reply.output_tokens if reply.output_tokens is not None else _rough_tokens(text)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish_reason = reply.stop_reason or ("tool_calls" if reply.tool_calls else "stop")
        model = str(body.get("model", "fake-model"))
        completion_id = f"chatcmpl-fake{next(self._ids):04d}"
        created = int(time.time())

        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if reply.tool_calls:
                message["content"] = text if reply.text else None
                message["tool_calls"] = [
                    {
                        "id": call.id or f"call_fake_{completion_id[-4:]}_{number}",
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": call.arguments
                            if isinstance(call.arguments, str)
                            else json.dumps(call.arguments),
                        },
                    }
                    for number, call in enumerate(reply.tool_calls)
                ]
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }
            if reply.send_usage:
                payload["usage"] = usage
            return web.json_response(payload)

        response = web.StreamResponse(
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"}
        )
        await response.prepare(request)

        async def send(data: dict[str, Any] | str) -> None:
            line = data if isinstance(data, str) else json.dumps(data)
            await response.write(f"data: {line}\n\n".encode())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        await send(chunk({"role": "assistant", "content": ""}))
        for i, piece in enumerate(reply.chunks or split_words(text)):
            if i and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            await send(chunk({"content": piece}))
        if reply.stream_error is not None:
            await send(self._openai_error_body(reply.stream_error))
            await response.write_eof()
            return response
        for number, call in enumerate(reply.tool_calls):
            arguments = (
                call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            )
            await send(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": number,
                                "id": call.id or f"call_fake_{completion_id[-4:]}_{number}",
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            half = len(arguments) // 2  # arguments arrive in pieces, as real servers send them
            for piece in (arguments[:half], arguments[half:]):
                await send(
                    chunk({"tool_calls": [{"index": number, "function": {"arguments": piece}}]})
                )
        await send(chunk({}, finish_reason))
        options = body.get("stream_options")
        if reply.send_usage and isinstance(options, dict) and options.get("include_usage"):
            await send(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        await send("[DONE]")
        await response.write_eof()
        return response
