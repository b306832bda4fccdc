"""What each core command is called, says about itself and accepts — as plain data.

``tailorbot slack manifest`` (and anything else that only *describes* commands) reads this
instead of ``bot.commands.REGISTRY``: the registry imports every handler and with them the
ORM, which alone cost about a CPU-second, while describing commands needs none of it. It is
the one place these texts are written: ``@command("name")`` (bot/command_base.py) takes them
from here when it registers the handler; tests/bot/test_command_catalog.py fails, naming the
command, when an entry has no handler or a handler no entry.

Standard library only: importing this module must stay free of SQLAlchemy and the core.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Mark a summary, or a usage line with placeholders such as ``<text>``, for the catalog
    (``make i18n`` extracts it; ``/help`` and usage errors translate it; the Slack manifest and
    Discord's option hints keep the English);
    bot.i18n's own N_ is not imported, to keep this module free of the bot's imports."""
    return message


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """A command as people see it: ``/name``, one-line summary, usage lines, subcommands."""

    name: str
    summary: str
    usage: tuple[str, ...]
    subcommands: tuple[str, ...] = ()
    # Only for those the platform calls admins (``PlatformContext.admin``): /help offers it to
    # no one else, who would only be refused.
    admin_only: bool = False


CATALOG: dict[str, CommandInfo] = {
    info.name: info
    for info in (
        CommandInfo(
            "admin",
            N_("workspace admins: excluded channels, defaults, counts, audit"),
            (
                "/admin",
                "/admin exclude [learning|digest|all] [here|#channel]",
                "/admin include [learning|digest|all] [here|#channel]",
                "/admin defaults",
                N_("/admin set consent|digest-sources|retention <value>"),
                "/admin reset consent|digest-sources|retention",
                "/admin audit",
            ),
            ("exclude", "include", "defaults", "set", "reset", "audit"),
            admin_only=True,
        ),
        CommandInfo(
            "consent",
            N_("see or change whether I learn from your messages"),
            (
                "/consent",
                "/consent grant",
                "/consent revoke",
            ),
            ("grant", "revoke", "grant everywhere", "revoke everywhere"),
        ),
        CommandInfo(
            "digest",
            N_("your scheduled personal digest"),
            (
                "/digest",
                "/digest subscribe [daily|weekdays|weekly] [HH:MM]",
                "/digest unsubscribe",
                "/digest preview",
                N_("/digest sources [add|remove <feed url>]"),
            ),
            ("subscribe", "unsubscribe", "preview", "sources", "more", "less"),
        ),
        CommandInfo(
            "export",
            N_("get a copy of everything I store about you"),
            ("/export",),
        ),
        CommandInfo(
            "forget",
            N_("delete everything I store about you"),
            (
                "/forget",
                "/forget confirm [all]",
            ),
            ("confirm",),
        ),
        CommandInfo(
            "help",
            N_("list what I can do"),
            ("/help",),
        ),
        CommandInfo(
            "link",
            N_("use one profile on Slack, Discord and the terminal"),
            (
                "/link",
                N_("/link <code>"),
                "/link list",
                "/link share on|off",
                "/link remove",
            ),
        ),
        CommandInfo(
            "memory",
            N_("what you asked me to remember"),
            (
                "/memory",
                N_("/memory add [--here] <text>"),
                N_("/memory remove <number | words>"),
                "/memory clear",
            ),
            ("list", "add", "remove", "clear"),
        ),
        CommandInfo(
            "prefs",
            N_("show or change your preferences"),
            (
                "/prefs",
                N_("/prefs set <key> <value>"),
                N_("/prefs reset [key]"),
            ),
            ("set", "reset"),
        ),
        CommandInfo(
            "profile",
            N_("what I believe about you and why"),
            (
                "/profile",
                N_("/profile summary [clear | remove <item>]"),
            ),
            ("summary",),
        ),
        CommandInfo(
            "recommend",
            N_("personal recommendations, e.g. /recommend a sci-fi book"),
            (N_("/recommend <what you are looking for>"),),
        ),
    )
}
