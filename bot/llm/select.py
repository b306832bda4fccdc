"""Pick the model backend from settings (``TAILORBOT_LLM``, default automatic)."""

from __future__ import annotations

from urllib.parse import urlparse

from bot.config import Settings
from bot.llm.base import LLMBackend
from bot.llm.fallback import NoModelBackend


def select_backend(settings: Settings) -> LLMBackend:
    """auto → anthropic when ANTHROPIC_API_KEY is set, else openai when
    TAILORBOT_OPENAI_BASE_URL is set, else the no-model fallback.

    An explicit choice whose configuration is missing raises :class:`ValueError` at startup,
    because silently falling back would leave an operator wondering why the bot has no voice.
    The SDKs are imported only in their branch, so a bot without a model never loads them.
    """
    choice = settings.llm
    if choice == "auto":
        if settings.anthropic_api_key:
            choice = "anthropic"
        elif settings.openai_base_url:
            choice = "openai"
        else:
            choice = "none"
    if choice == "none":
        return NoModelBackend()
    if choice == "anthropic":
        if not settings.anthropic_api_key:
            raise ValueError(
                "TAILORBOT_LLM=anthropic needs an API key: set ANTHROPIC_API_KEY "
                "(or use TAILORBOT_LLM=auto/none)"
            )
        from bot.llm.anthropic_backend import AnthropicBackend

        return AnthropicBackend.from_settings(settings)
    if choice == "openai":
        base_url = settings.openai_base_url
        if not base_url:
            raise ValueError(
                "TAILORBOT_LLM=openai needs the server's address: set TAILORBOT_OPENAI_BASE_URL "
                "(e.g. http://localhost:11434/v1 for Ollama)"
            )
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"TAILORBOT_OPENAI_BASE_URL={base_url!r} is not an http(s) URL; "
                "expected something like http://localhost:11434/v1"
            )
        from bot.llm.openai_backend import OpenAICompatibleBackend

        return OpenAICompatibleBackend.from_settings(settings)
    raise ValueError(f"unknown TAILORBOT_LLM={choice!r}; use auto, anthropic, openai or none")
