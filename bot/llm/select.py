"""Pick the model backend from settings (``TAILORBOT_LLM``, default automatic)."""

from __future__ import annotations

from bot.config import Settings
from bot.llm.base import LLMBackend
from bot.llm.fallback import NoModelBackend


def select_backend(settings: Settings) -> LLMBackend:
    """Only the no-model fallback exists so far; real backends come with their issue."""
    if settings.llm not in ("auto", "none"):
        raise ValueError(
            f"TAILORBOT_LLM={settings.llm!r} is not available in this build; use 'none' for now"
        )
    return NoModelBackend()
