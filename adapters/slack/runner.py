"""Start the Slack adapter on a running core (called by `tailorbot run`)."""

from __future__ import annotations

from bot.config import Settings
from bot.core import Core


def configured(settings: Settings) -> bool:
    return False


async def serve(core: Core, settings: Settings) -> None:
    raise NotImplementedError("the Slack adapter is not built yet")
