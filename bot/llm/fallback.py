"""Backends that need no model: the friendly "not configured" answer and a scripted one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.llm.base import LLMRequest, LLMResult, LLMUnavailable, PartialCallback, estimate_tokens

NO_MODEL_REPLY = (
    "I'm running without a language model, so I can't write a real answer yet. "
    "Everything else works: try /profile, /prefs or /help. "
    "To give me a voice, set ANTHROPIC_API_KEY (Anthropic), or TAILORBOT_OPENAI_BASE_URL "
    "(any OpenAI-compatible server such as Ollama or vLLM) and restart."
)


class NoModelBackend:
    """Selected when no model is configured, so the bot still runs and still learns."""

    name = "none"
    configured = False

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        return LLMResult(text=NO_MODEL_REPLY, model="none")

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def aclose(self) -> None:
        return None


Script = Callable[[LLMRequest], str] | Iterable[str | Exception]


class ScriptedBackend:
    """Deterministic backend for tests and demos: answers from a list (in order) or from a
    function of the request, and records every request it was given."""

    name = "scripted"
    configured = True

    def __init__(self, script: Script | None = None, *, model: str = "scripted-1") -> None:
        self._fn: Callable[[LLMRequest], str] | None = script if callable(script) else None
        self._queue: list[str | Exception] = (
            [] if callable(script) or script is None else list(script)
        )
        self.model = model
        self.requests: list[LLMRequest] = []

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        self.requests.append(request)
        if self._fn is not None:
            text = self._fn(request)
        elif self._queue:
            item = self._queue.pop(0)
            if isinstance(item, Exception):
                if isinstance(item, LLMUnavailable):
                    raise item
                raise LLMUnavailable(str(item)) from item
            text = item
        else:
            last = request.turns[-1].content if request.turns else ""
            text = f"(scripted) you said: {last[:200]}"
        if on_partial is not None:
            for end in range(0, len(text), 16):
                await on_partial(text[: end + 16])
        return LLMResult(
            text=text,
            model=self.model,
            input_tokens=estimate_tokens(request.system)
            + sum(estimate_tokens(t.content) for t in request.turns),
            output_tokens=estimate_tokens(text),
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def aclose(self) -> None:
        return None
