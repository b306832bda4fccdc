"""One skeleton for backends that wrap a vendor SDK (Anthropic, OpenAI-compatible).

Both SDKs already retry, back off and parse SSE; what a backend adds is the same everywhere:
cap ``max_tokens`` at the operator's ceiling, time the call, call the SDK plainly or streamed,
and turn every SDK or transport error into one :class:`~bot.llm.base.LLMUnavailable` whose
:class:`~bot.llm.base.Failure` says what went wrong in one vocabulary. A subclass supplies
only what differs: the wire translation (``_complete``/``_stream``), how its SDK's exceptions
map onto :class:`Failure` (``_classify``), and the wording a person reads for each failure
(``messages``), so a new failure kind or a fix to the ladder happens once.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.llm.base import (
    UNREADABLE,
    EmptyRequest,
    Failure,
    LLMRequest,
    LLMResult,
    LLMUnavailable,
    PartialCallback,
    estimate_tokens,
)
from bot.llm.tools import MAX_CALLS_PER_ROUND, ToolOutcome, ToolUse, execute

log = logging.getLogger(__name__)

# Statuses where the same request may well succeed later; everything else (bad key, bad
# request, unknown model) will fail the same way until someone changes the configuration.
TRANSIENT_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True)
class Classified:
    """An SDK error seen through the shared vocabulary. ``retried`` is True when the error
    came out of the SDK's retry loop (so the message can say so); ``detail`` is the server's
    own explanation, shown for refused requests and interrupted answers."""

    failure: Failure
    retried: bool = False
    status: int | None = None
    detail: str = ""


@dataclass(slots=True)
class Round:
    """One model round trip of a tool conversation: the answer so far (``result``), the
    tool calls it asked for, and the vendor's own message to send back next round."""

    result: LLMResult
    uses: list[ToolUse] = field(default_factory=list)
    message: Any = None


def status_failure(status: int) -> Failure:
    """The HTTP status ladder both APIs share."""
    if status == 401:
        return Failure.BAD_KEY
    if status == 403:
        return Failure.FORBIDDEN
    if status == 404:
        return Failure.NOT_FOUND
    if status == 429:
        return Failure.RATE_LIMITED
    if status == 529:
        return Failure.OVERLOADED
    if status in TRANSIENT_STATUSES or status >= 500:
        return Failure.SERVER_ERROR
    return Failure.REFUSED


class SdkBackend(ABC):
    """Base of :class:`~bot.llm.base.LLMBackend` implementations over a vendor SDK.

    ``max_tokens`` is the operator's ceiling: a request asking for more is capped, one asking
    for less is honoured. ``timeout_seconds`` bounds each HTTP attempt (connect, and each
    read — so a long streamed answer that keeps producing tokens is never cut off);
    ``max_retries`` attempts follow a transient failure, with the SDK's backoff.

    ``messages`` maps every :class:`Failure` (``OTHER`` is required) to a template formatted
    with ``retries``, ``timeout``, ``base_url``, ``model``, ``status``, ``detail`` (": …" or
    empty) and ``error`` (the exception's class name).
    """

    name: str
    configured: bool = True
    supports_tools: bool = True
    messages: ClassVar[Mapping[Failure, str]]
    sdk_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(
        self, *, model: str, max_tokens: int, timeout_seconds: float, max_retries: int
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        # Set when the server refused a request with tools: it cannot call them, so later
        # requests go without (today's behaviour) instead of failing every time.
        self.tools_refused = False

    @property
    @abstractmethod
    def base_url(self) -> str:
        """Where requests go, for messages, logs and tests."""

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        max_tokens = min(request.max_tokens, self.max_tokens)
        started = time.perf_counter()
        try:
            if request.tools and self.supports_tools and not self.tools_refused:
                result = await self._with_tools(request, max_tokens, on_partial)
            else:
                result = await self._plain(request, max_tokens, on_partial)
        except self.sdk_errors as exc:
            raise self.unavailable(exc) from exc
        except EmptyRequest:
            raise
        except UNREADABLE as exc:  # a body that is not what the API promised
            raise self.malformed(exc) from exc
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    async def _plain(
        self, request: LLMRequest, max_tokens: int, on_partial: PartialCallback | None
    ) -> LLMResult:
        if on_partial is None:
            return await self._complete(request, max_tokens)
        return await self._stream(request, max_tokens, on_partial)

    async def _with_tools(
        self, request: LLMRequest, max_tokens: int, on_partial: PartialCallback | None
    ) -> LLMResult:
        """Rounds of model ↔ tools, bounded by ``tool_rounds`` and by the characters of tool
        results (``tool_budget_chars``); the last round offers no tools, so the model must
        answer. Every round streams when ``on_partial`` is given; the answer is the text of
        all rounds in order (a preamble such as "Let me check…" stays), so what was streamed
        only ever grows."""
        conversation = self._conversation(request)
        used: list[str] = []
        spent = 0
        rounds: list[Round] = []
        shown = ""  # text of earlier rounds (a preamble such as "Let me check…")
        while True:
            allow = len(rounds) < request.tool_rounds and spent < request.tool_budget_chars
            partial = _after(shown, on_partial) if on_partial is not None else None
            try:
                current = await self._round(
                    request, conversation, max_tokens, allow_tools=allow, on_partial=partial
                )
            except self.sdk_errors as exc:
                if rounds or self._classify(exc).failure is not Failure.REFUSED:
                    raise
                log.warning(
                    "%s at %s refused a request with tools (%s); answering without tools",
                    self.name,
                    self.base_url,
                    self._describe(exc),
                )
                self.tools_refused = True
                return await self._plain(request, max_tokens, on_partial)
            rounds.append(current)
            if current.result.text.strip():
                shown = f"{shown}\n\n{current.result.text}" if shown else current.result.text
            if not current.uses or not allow:
                break
            outcomes: list[ToolOutcome] = []
            for index, use in enumerate(current.uses):
                if index >= MAX_CALLS_PER_ROUND:
                    outcomes.append(ToolOutcome(use, "Tool error: too many calls", True))
                    continue
                outcome = await execute(
                    request.tools,
                    use,
                    seconds=request.tool_timeout_seconds,
                    max_chars=request.tool_result_chars,
                )
                spent += len(outcome.content)
                used.append(use.name[:60])
                outcomes.append(outcome)
            self._add_results(conversation, current, outcomes)
        result = rounds[-1].result
        result.text = shown
        result.tools = used
        result.rounds = len(rounds)
        result.input_tokens = _total(r.result.input_tokens for r in rounds)
        result.output_tokens = _total(r.result.output_tokens for r in rounds)
        return result

    def _conversation(self, request: LLMRequest) -> list[Any]:
        """The vendor's message list a tool conversation grows."""
        raise NotImplementedError

    async def _round(
        self,
        request: LLMRequest,
        conversation: list[Any],
        max_tokens: int,
        *,
        allow_tools: bool,
        on_partial: PartialCallback | None,
    ) -> Round:
        """One request offering ``request.tools`` (callable only when ``allow_tools``),
        streamed to ``on_partial`` when given."""
        raise NotImplementedError

    def _add_results(
        self, conversation: list[Any], current: Round, outcomes: list[ToolOutcome]
    ) -> None:
        """Append the model's tool-calling message and one result per call."""
        raise NotImplementedError

    @abstractmethod
    async def _complete(self, request: LLMRequest, max_tokens: int) -> LLMResult:
        """One plain request. Raise ``ValueError`` for a request that cannot be sent."""

    @abstractmethod
    async def _stream(
        self, request: LLMRequest, max_tokens: int, on_partial: PartialCallback
    ) -> LLMResult:
        """One streamed request, awaiting ``on_partial`` with the growing text."""

    @abstractmethod
    def _classify(self, exc: Exception) -> Classified:
        """Place one of ``sdk_errors`` in the shared vocabulary."""

    @abstractmethod
    def _describe(self, exc: Exception) -> str:
        """Operator-facing detail for logs (never shown to people): class, status, ids."""

    def count_tokens(self, text: str) -> int:
        """Local estimate: counting through the network would be far too slow (and
        rate-limited) to call for every budget decision; budgets only need to be cautious."""
        return estimate_tokens(text)

    def malformed(self, exc: Exception) -> LLMUnavailable:
        """A cut JSON body, a proxy's HTML page or a stream without events used to escape as
        JSONDecodeError (ending `tailorbot chat`); it is one more way the model is away."""
        message = self.messages.get(Failure.MALFORMED) or self.messages[Failure.OTHER]
        message = message.format(
            retries="",
            timeout=self.timeout_seconds,
            base_url=self.base_url,
            model=self.model,
            status=None,
            detail="",
            error=type(exc).__name__,
        )
        log.warning(
            "%s call to %s: unreadable response (%s: %s)",
            self.name,
            self.base_url,
            type(exc).__name__,
            exc,
        )
        return LLMUnavailable(message, failure=Failure.MALFORMED)

    def unavailable(self, exc: Exception) -> LLMUnavailable:
        """Translate an SDK or transport error into the one exception the core handles."""
        seen = self._classify(exc)
        retried = seen.retried and self.max_retries
        retries = f" (after {self.max_retries} retries)" if retried else ""
        template = self.messages.get(seen.failure) or self.messages[Failure.OTHER]
        message = template.format(
            retries=retries,
            timeout=self.timeout_seconds,
            base_url=self.base_url,
            model=self.model,
            status=seen.status,
            detail=f": {seen.detail}" if seen.detail else "",
            error=type(exc).__name__,
        )
        log.warning(
            "%s call to %s failed: %s (%s, failure=%s)",
            self.name,
            self.base_url,
            message,
            self._describe(exc),
            seen.failure.value,
        )
        return LLMUnavailable(message, failure=seen.failure)


def _total(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _after(shown: str, on_partial: PartialCallback) -> PartialCallback:
    """Report a round's growing text after what earlier rounds already showed."""

    async def report(text: str) -> None:
        await on_partial(f"{shown}\n\n{text}" if shown else text)

    return report
