"""Stage 5: the model call, with no database transaction open (a slow model must never hold
locks), shaped to the person's style; an unreachable model becomes a plain explanation."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.i18n import N_, t
from bot.llm.base import LLMRequest, LLMResult, LLMUnavailable, PartialCallback
from bot.services import Services
from bot.shape import shape_reply

MODEL_UNAVAILABLE = N_(
    "I couldn't reach my language model just now ({reason}). Your message is saved and I "
    "learned from it as usual; please try again in a moment."
)


@dataclass(frozen=True, slots=True)
class Answered:
    text: str
    result: LLMResult | None  # None when the model could not be reached
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
    ) -> Answered:
        llm = self.services.llm
        started = time.perf_counter()
        error: str | None = None
        result: LLMResult | None
        try:
            result = await llm.generate(request, on_partial=on_partial)
            text = result.text
            if llm.configured:
                text = shape_reply(text, emoji=emoji, avoid=avoid)
        except LLMUnavailable as exc:
            error = str(exc)
            result = None
            text = t(MODEL_UNAVAILABLE, locale, reason=exc)
        latency = (time.perf_counter() - started) * 1000
        return Answered(text=text, result=result, error=error, latency_ms=latency)
