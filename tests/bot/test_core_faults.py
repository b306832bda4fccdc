"""Faults met by the core itself: operator templates the sandbox refuses."""

from bot.core import TEMPLATE_REFUSED, Core
from bot.llm import ScriptedBackend
from profiles.db import Database
from prompts.render import PromptRenderer
from tests.support.helpers import grant, message, person


async def test_a_refused_template_is_a_clear_reply_not_a_crash(
    database_url, settings_for, tmp_path, caplog
):
    (tmp_path / "chat_system.j2").write_text("{{ 'a' * 100000000 }}", encoding="utf-8")
    settings = settings_for(database_url)
    core = Core(
        settings, Database(database_url), ScriptedBackend(), renderer=PromptRenderer(tmp_path)
    )
    try:
        alice = person()
        await grant(core, alice)
        replies = await core.handle(message(alice, "hello there"))
        assert [r.text for r in replies] == [TEMPLATE_REFUSED]
        assert "chat_system.j2 was refused" in caplog.text
        assert "Traceback" not in caplog.text
    finally:
        await core.aclose()
        await core.services.db.dispose()
