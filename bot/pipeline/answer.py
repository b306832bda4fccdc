"""Stage 5: the model call, with no database transaction open (a slow model must never hold
locks), shaped to the person's style; an unreachable model becomes a plain explanation."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.llm.base import Failure, LLMRequest, LLMResult, LLMUnavailable, PartialCallback
from bot.model_failure import failure_text
from bot.services import Services
from bot.shape import shape_reply

EMPTY_ANSWER = "the model's answer was empty"


@dataclass(frozen=True, slots=True)
class Answered:
    text: str
    # None when the model could not be reached; kept with ``error`` for an answer that came
    # back unusable (empty): the call was made and its tokens spent, and its record says so.
    result: LLMResult | None
    error: str | None
    latency_ms: float


class Answer:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def generate(
        self,
        request: LLMRequest,
        *,
        emoji: str,
        avoid: list[str],
        on_partial: PartialCallback | None,
        locale: str | None = None,
        learn: bool = False,
    ) -> Answered:
        """``learn``: the message is kept and learned from (said in a failure's text)."""
        llm = self.services.llm
        started = time.perf_counter()
        error: str | None = None
        result: LLMResult | None = None
        try:
            result = await llm.generate(request, on_partial=on_partial)
            text = result.text
            if llm.configured:
                text = shape_reply(text, emoji=emoji, avoid=avoid)
            if llm.configured and not text.strip():
                # An empty body, a body without choices, or an answer of emoji alone for
                # someone who turned emoji off: sent and stored as an empty reply before
                # (on Discord, a message of two buttons; input audit).
                raise LLMUnavailable(EMPTY_ANSWER, failure=Failure.MALFORMED, retryable=True)
        except LLMUnavailable as exc:
            error = str(exc)
            text = failure_text(exc, locale, kept=learn)
        latency = (time.perf_counter() - started) * 1000
        return Answered(text=text, result=result, error=error, latency_ms=latency)
