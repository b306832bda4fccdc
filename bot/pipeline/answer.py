"""Stage 5: the model call, with no database transaction open (a slow model must never hold
locks), shaped to the person's style; an unreachable model becomes a plain explanation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.i18n import N_, t
from bot.llm.base import Failure, LLMRequest, LLMResult, LLMUnavailable, PartialCallback
from bot.services import Services
from bot.shape import shape_reply

log = logging.getLogger(__name__)

# What the person reads when the model gives no answer. Why no reason in it: it was the
# backend's own text ("The model server at http://10.0.0.4:8000/v1/ rejected the API key
# (401). The operator needs to check TAILORBOT_OPENAI_API_KEY."), in English inside any
# language — the operator's, so it goes to the log; and "try again" only where trying
# again can help (input audit).
MODEL_UNAVAILABLE = N_(
    "I couldn't reach my language model just now; please try again in a moment."
)
MODEL_NOT_SET_UP = N_(
    "My language model refused to answer, and trying again will not help until the bot's "
    "operator fixes it (the log says why)."
)
# Said only when it is true: the message's turn is stored and its learning queued — not for
# someone who has not allowed learning (it said so to everyone).
KEPT_AND_LEARNED = N_("I kept your message and learned from it as usual.")
EMPTY_ANSWER = "the model's answer was empty"


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
        learn: bool = False,
    ) -> Answered:
        """``learn``: the message is kept and learned from (said in a failure's text)."""
        llm = self.services.llm
        started = time.perf_counter()
        error: str | None = None
        result: LLMResult | None
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
            log.warning("no answer from the model (%s): %s", exc.failure.value, exc)
            error = str(exc)
            result = None
            text = t(MODEL_UNAVAILABLE if exc.retryable else MODEL_NOT_SET_UP, locale)
            if learn:
                text = f"{text} {t(KEPT_AND_LEARNED, locale)}"
        latency = (time.perf_counter() - started) * 1000
        return Answered(text=text, result=result, error=error, latency_ms=latency)
