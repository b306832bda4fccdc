"""The core's platform-neutral commands (/consent, /prefs, /profile, /forget, /help …).
Importing the package registers them. The plumbing they share (registry, context, parsing)
is the leaf bot/command_base.py, which features import for their own commands (/digest in
bot/digest/, /memory and /link in bot/memory/): features never import this package, so
no package cycle runs through it (tests/test_import_contract.py)."""

from bot.command_base import (
    REGISTRY,
    CommandContext,
    CommandError,
    CommandSpec,
    parse_command_line,
    split_args,
    unknown_command_text,
)
from bot.commands import (  # noqa: F401  (registration side effects)
    admin,
    prefs,
    privacy,
    profile,
    recommend,
)
from bot.workspace_settings import RETENTION_KINDS

# Buttons map to command lines, so a button and the typed command share one code path.
ACTION_COMMANDS: dict[str, str] = {
    "consent.grant": "consent grant",
    "consent.grant_everywhere": "consent grant everywhere",
    "consent.decline": "consent decline",
    "consent.revoke": "consent revoke",
    "forget.ask": "forget",
    "export.run": "export",
    "forget.confirm": "forget confirm",
    "forget.all": "forget confirm all",
    "forget.cancel": "forget cancel",
    "recommend.like": "recommend like",
    "recommend.dislike": "recommend dislike",
    "digest.more": "digest more",
    "digest.less": "digest less",
    # Admin controls on the Slack Home tab (menus: the chosen option is the value).
    "admin.consent": "admin set consent",
    "admin.digest_sources": "admin set digest-sources",
    **{f"admin.retention.{kind}": f"admin set retention {kind}" for kind in RETENTION_KINDS},
}

__all__ = [
    "ACTION_COMMANDS",
    "REGISTRY",
    "CommandContext",
    "CommandError",
    "CommandSpec",
    "parse_command_line",
    "split_args",
    "unknown_command_text",
]
