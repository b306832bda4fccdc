"""The memory bench's scripted conversations on a short list: a fact stated on one platform
reaches the model on a linked one, never an unlinked one, and a scripted tool call is counted."""

from pathlib import Path

import pytest

from bench import memory


async def test_memory_bench_checks_what_reaches_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "FACTS", memory.FACTS[:2])
    figures = await memory.run_memory(tmp_path)
    assert (figures.reached_linked, figures.leaked_unlinked) == (2, 0)
    assert figures.preference_linked and not figures.preference_unlinked_leak
    assert figures.tool_calls_per_turn == 1.0 and figures.rounds_per_tool_turn == 2.0
    assert "reaching the model on Discord, linked: 2/2" in memory.format_memory(figures)
