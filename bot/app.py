"""Composition root of the core: settings → database → model backend → :class:`Core`, and the
features registered on it (bot/features.py). Adapters and the CLI call :func:`build_core`;
tests build a Core directly with their own parts.
"""

from __future__ import annotations

import logging

from bot import logs, metrics
from bot.config import Settings
from bot.core import Core
from bot.digest import DigestService
from bot.experiments import current_registry
from bot.experiments.render import check_variants, unused_overrides
from bot.llm import LLMBackend, select_backend
from bot.llm.metered import metered
from bot.memory.feature import MemoryFeature
from profiles.db import Database
from profiles.migrate import require_head, upgrade
from prompts.render import PromptRenderer

log = logging.getLogger(__name__)


async def build_core(settings: Settings, *, llm: LLMBackend | None = None) -> Core:
    logs.configure(
        settings.log_level,
        json=settings.log_format == "json",
        library_level=settings.log_library_level,
    )
    import asyncio

    if settings.auto_migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    else:
        await asyncio.to_thread(require_head, settings.database_url)
    db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
    renderer = PromptRenderer(settings.prompt_templates_dir)
    check_variants(current_registry(), renderer)  # a variant's missing template: fail now
    for name in unused_overrides(current_registry(), renderer, settings.prompt_templates_dir):
        log.warning("prompt_templates_dir: %s overrides no built-in template and nothing "
                    "names or includes it, so it is never used (a misspelt name?)", name)
    core = Core(settings, db, metered(llm or select_backend(settings)), renderer=renderer)
    metrics.watch_backlog(lambda: core.backlog_size)
    # Features: the held exchanges come with the services; the digest feature observes channel
    # activity, follows preference changes and deletes its data on /forget and revocation;
    # the memory feature unlinks a forgotten identity from the others.
    core.services.features.register(DigestService(core.services))
    core.services.features.register(MemoryFeature(core.services))
    return core


