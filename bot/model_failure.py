"""What a person reads when the model gives no answer — for a chat answer
(bot/pipeline/answer.py) and a recommendation (bot/commands/recommend.py) alike.

Why no reason in it: it was the backend's own text ("The model server at
http://10.0.0.4:8000/v1/ rejected the API key (401). The operator needs to check
TAILORBOT_OPENAI_API_KEY."), in English inside any language — the operator's, so it goes to
the log; and "try again" only where trying again can help (input audit).
"""

from __future__ import annotations

import logging

from bot.i18n import N_, t
from bot.llm.base import LLMUnavailable

log = logging.getLogger(__name__)

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


def failure_text(exc: LLMUnavailable, locale: str | None, *, kept: bool = False) -> str:
    """The person's sentence for ``exc``; its reason is logged for the operator."""
    log.warning("no answer from the model (%s): %s", exc.failure.value, exc)
    text = t(MODEL_UNAVAILABLE if exc.retryable else MODEL_NOT_SET_UP, locale)
    return f"{text} {t(KEPT_AND_LEARNED, locale)}" if kept else text
