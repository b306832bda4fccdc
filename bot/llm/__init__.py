"""Model backends. ``select_backend`` maps settings to one; see README "Models"."""

from bot.llm.base import LLMBackend, LLMRequest, LLMResult, LLMUnavailable, Turn
from bot.llm.fallback import NO_MODEL_REPLY, NoModelBackend, ScriptedBackend
from bot.llm.select import select_backend

__all__ = [
    "NO_MODEL_REPLY",
    "LLMBackend",
    "LLMRequest",
    "LLMResult",
    "LLMUnavailable",
    "NoModelBackend",
    "ScriptedBackend",
    "Turn",
    "select_backend",
]
