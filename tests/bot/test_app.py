"""The composition root builds the core from settings."""

from __future__ import annotations

from bot.app import build_core


async def test_the_database_is_built_with_the_configured_timeout(sqlite_url, settings_for):
    """``database_timeout_seconds`` reaches the database the bot runs on."""
    core = await build_core(settings_for(sqlite_url, database_timeout_seconds=2.5))
    try:
        assert core.services.db.timeout == 2.5
    finally:
        await core.aclose()
        await core.services.db.dispose()
