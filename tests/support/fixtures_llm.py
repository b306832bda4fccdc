"""Pytest fixture for :class:`~tests.support.fake_llm_server.FakeLLMServer`.

Import it into a conftest (``from tests.support.fixtures_llm import fake_llm_server``) so any
test can ask for ``fake_llm_server`` and get a started server that is shut down afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.support.fake_llm_server import FakeLLMServer


@pytest_asyncio.fixture
async def fake_llm_server() -> AsyncIterator[FakeLLMServer]:
    """A fresh server per test, so queued responses and recorded requests never leak between
    tests. Declared with ``pytest_asyncio.fixture`` so it works in strict mode too."""
    async with FakeLLMServer() as server:
        yield server
