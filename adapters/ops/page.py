"""The operator page (filled in by the next change)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Core


def add_routes(app: web.Application, core: Core, settings: Settings) -> None:
    return None
