"""The model step of the pipeline, behind one small interface.

The core never imports a vendor SDK: it builds an :class:`LLMRequest` (system text plus
alternating turns, already personalised and budgeted by ``prompts/``) and hands it to whichever
backend settings selected. Backends raise :class:`LLMUnavailable` for anything the person
should hear about as "the model is not available right now"; the core turns that into a clear
reply and keeps the person's message and its signals.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from profiles.models import MODEL_NAME_MAX

if TYPE_CHECKING:
    from bot.llm.tools import Tool

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class LLMRequest:
    system: str
    turns: list[Turn]
    max_tokens: int = 1024
    purpose: str = "chat"
    temperature: float | None = None
    # Tools the model may call (bound to the asking person), with their limits. Backends that
    # cannot call tools ignore them and answer as before.
    tools: tuple[Tool, ...] = ()
    tool_rounds: int = 3
    tool_result_chars: int = 2000
    tool_budget_chars: int = 6000
    tool_timeout_seconds: float = 10.0


@dataclass(slots=True)
class LLMResult:
    text: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    stop_reason: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)  # tools called, in order
    rounds: int = 1  # model round trips behind this answer

    def __post_init__(self) -> None:
        # The name comes from the server's body and is stored with the call, the answer's
        # turn and a summary: one longer than their columns made PostgreSQL refuse the
        # record, and the reply had no feedback id.
        self.model = self.model[:MODEL_NAME_MAX].replace("\x00", "")
        # PostgreSQL refuses NUL in text: an answer holding one lost its record, turns and
        # feedback id (the person's message with it).
        self.text = self.text.replace("\x00", "")


class Failure(Enum):
    """Why a model call failed, in one vocabulary for every backend. The value says whether
    the same request may succeed later: transient failures are worth a "try again", the others
    need an operator (a key, a model name, a malformed request)."""

    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    OVERLOADED = "overloaded"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    INTERRUPTED = "interrupted"  # an error in the middle of an answer that had started
    MALFORMED = "malformed"  # the server answered with something that is not a valid reply
    BAD_KEY = "bad_key"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    REFUSED = "refused"  # any other 4xx: the request itself was rejected
    OTHER = "other"

    @property
    def retryable(self) -> bool:
        return self in _TRANSIENT_FAILURES


_TRANSIENT_FAILURES = frozenset(
    {
        Failure.TIMEOUT,
        Failure.UNREACHABLE,
        Failure.OVERLOADED,
        Failure.RATE_LIMITED,
        Failure.SERVER_ERROR,
        Failure.INTERRUPTED,
        Failure.MALFORMED,
    }
)


class LLMUnavailable(Exception):
    """The model could not answer (timeout, rate limit after retries, outage, bad key).

    ``failure`` classifies it for callers and logs; ``retryable`` defaults from it (and to
    True when nothing classified the failure, the cautious answer for a person)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        failure: Failure | None = None,
    ) -> None:
        super().__init__(message.replace("\x00", ""))  # kept with the call: no NUL (above)
        self.failure = failure or Failure.OTHER
        if retryable is None:
            retryable = failure.retryable if failure is not None else True
        self.retryable = retryable


class EmptyRequest(ValueError):
    """An :class:`LLMRequest` that cannot be sent (no non-empty turn): a programming error,
    kept apart from the ValueErrors an unreadable response raises."""


# What the SDKs raise when a body is not what the API promised (cut JSON, a proxy's HTML page,
# fields of the wrong type): pydantic's ValidationError and JSONDecodeError are ValueErrors;
# anthropic's stream helper asserts it saw a message_start before get_final_message().
UNREADABLE: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    AssertionError,
)


PartialCallback = Callable[[str], Awaitable[None]]


@runtime_checkable
class LLMBackend(Protocol):
    """``name`` is shown to people and operators; ``configured`` is False only for the
    fallback backend that answers without a model."""

    name: str
    configured: bool

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        """Return the full reply. When ``on_partial`` is given and the backend streams, it is
        awaited with the text accumulated so far as chunks arrive."""
        ...

    def count_tokens(self, text: str) -> int:
        """Cheap local estimate used for prompt budgets."""
        ...

    async def aclose(self) -> None: ...


def estimate_tokens(text: str) -> int:
    """Rough token count (≈4 characters a token for Latin text, one per CJK character) used
    where a backend offers no local counter; budgets only need to be conservative."""
    if not text:
        return 0
    # Counted by the regex engine, not a Python loop over every character: every reply
    # estimates its whole prompt several times over (budgets, history trimming).
    wide = 0 if text.isascii() else len(_WIDE.findall(text))
    return (len(text) - wide) // 4 + wide + 1


_WIDE = re.compile("[^\x00-\u2e80]")  # characters above U+2E80 (CJK and beyond)


async def stream_text(chunks: AsyncIterator[str], on_partial: PartialCallback | None) -> str:
    """Accumulate streamed chunks, reporting the running text to ``on_partial``."""
    text = ""
    async for chunk in chunks:
        text += chunk
        if on_partial is not None:
            await on_partial(text)
    return text
