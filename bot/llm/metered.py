"""A backend wrapper that records every model call in :mod:`bot.metrics` (calls, tokens,
latency, errors), so the count lives in one place instead of at each of the call sites
(chat, recommendations, summaries, digests). The composition root wraps the selected backend;
the fallback without a model is not a model call and is left unwrapped.
"""

from __future__ import annotations

import time
from typing import Any

from bot import metrics
from bot.llm.base import LLMBackend, LLMRequest, LLMResult, PartialCallback


class MeteredBackend:
    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.configured = inner.configured

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        started = time.perf_counter()
        try:
            result = await self.inner.generate(request, on_partial=on_partial)
        except Exception:
            metrics.model_call(
                self.name, request.purpose, time.perf_counter() - started, ok=False
            )
            raise
        metrics.model_call(
            self.name,
            request.purpose,
            time.perf_counter() - started,
            ok=True,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )
        return result

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:  # e.g. a backend's model name or base URL
        return getattr(self.inner, name)


def metered(backend: LLMBackend) -> LLMBackend:
    return MeteredBackend(backend) if backend.configured else backend
