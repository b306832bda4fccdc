"""The application (slash) command tree, built from the core's command registry.

Every command in ``bot.commands.REGISTRY`` becomes a slash command with the same name and
summary, so commands added to the core later (``/digest``, ``/recommend``) appear without
touching this file:

* a command with sub-actions gets an optional ``action`` option with those choices
  (``/consent action:grant``), plus a free-text ``args`` option when a sub-action takes
  arguments (``/profile action:summary args:remove rust``);
* a command whose usage shows arguments gets an optional free-text ``args`` option;
* anything else takes no options.

``/prefs`` is built by hand as a proper subcommand group — ``show``, ``set key value``,
``reset [key]`` — with autocomplete for keys (``profiles.preferences.SPECS``) and for values:
the fixed choices of a key (tone, verbosity, emoji, digest), IANA names for ``timezone``, and
otherwise the typed value once it validates.

``/forget`` deliberately has no ``confirm`` option: on Discord deletion is confirmed with the
buttons the core sends, never typed in one go.

Commands are allowed in servers and in DMs with the bot. The tree is only *built* here;
syncing it with Discord is an explicit operator step (``tailorbot discord sync``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import available_timezones

import discord
from discord import app_commands

from bot.commands import REGISTRY, CommandSpec
from profiles.preferences import SPECS, PreferenceError, PreferenceSpec, validate

log = logging.getLogger(__name__)

RunCommand = Callable[[discord.Interaction, str, str], Awaitable[None]]
"""``run(interaction, command_name, args_line)``: hand a command to the core and answer."""

HIDDEN_ACTIONS: dict[str, frozenset[str]] = {"forget": frozenset({"confirm"})}
CHOICES_LIMIT = 25
ACTION_HELP = "What to do (leave empty to see where you stand)"
_NAME = re.compile(r"^[-_\w]{1,32}$")


def build_tree(client: discord.Client, run: RunCommand) -> app_commands.CommandTree[Any]:
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        client,
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=True, private_channel=False
        ),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
    )
    for spec in sorted(REGISTRY.values(), key=lambda s: s.name):
        custom = CUSTOM_COMMANDS.get(spec.name)
        command = custom(run) if custom is not None else generic_command(spec, run)
        if command is not None:
            tree.add_command(command)
    return tree


async def sync_commands(
    tree: app_commands.CommandTree[Any], guild_id: int | None = None
) -> list[app_commands.AppCommand]:
    """Register the tree with Discord: globally (visible everywhere within about an hour), or
    copied to one guild (visible at once; for development)."""
    if guild_id is None:
        return await tree.sync()
    guild = discord.Object(id=guild_id)
    tree.copy_global_to(guild=guild)
    return await tree.sync(guild=guild)


def _description(text: str) -> str:
    text = " ".join(text.split()) or "tailorbot command"
    return text[:1].upper() + text[1:100]


def _takes_args(spec: CommandSpec, *, after: int = 1) -> bool:
    """Whether a usage line has more than ``after`` words (``/name`` is the first)."""
    return any(len(usage.split()) > after for usage in spec.usage)


def _choices(actions: list[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=a, value=a) for a in actions[:CHOICES_LIMIT]]


def generic_command(
    spec: CommandSpec, run: RunCommand
) -> app_commands.Command[Any, ..., None] | None:
    name = spec.name.lower()
    if not _NAME.match(name):
        log.warning("command /%s has a name Discord does not accept; not registered", spec.name)
        return None
    hidden = HIDDEN_ACTIONS.get(name, frozenset())
    actions = [a for a in spec.subcommands if a not in hidden]
    usage = " · ".join(spec.usage)
    args_help = _description(f"Arguments: {usage}")
    callback: Callable[..., Awaitable[None]]
    if actions and _takes_args(spec, after=2):
        async def with_both(
            interaction: discord.Interaction, action: str | None = None, args: str | None = None
        ) -> None:
            await run(interaction, spec.name, " ".join(p for p in (action, args) if p))

        callback = app_commands.describe(action=ACTION_HELP, args=args_help)(
            app_commands.choices(action=_choices(actions))(with_both)
        )
    elif actions:
        async def with_action(interaction: discord.Interaction, action: str | None = None) -> None:
            await run(interaction, spec.name, action or "")

        callback = app_commands.describe(action=ACTION_HELP)(
            app_commands.choices(action=_choices(actions))(with_action)
        )
    elif _takes_args(spec) and not spec.subcommands:
        async def with_args(interaction: discord.Interaction, args: str | None = None) -> None:
            await run(interaction, spec.name, args or "")

        callback = app_commands.describe(args=args_help)(with_args)
    else:
        async def plain(interaction: discord.Interaction) -> None:
            await run(interaction, spec.name, "")

        callback = plain
    return app_commands.Command(
        name=name, description=_description(spec.summary), callback=callback
    )


# /prefs ---------------------------------------------------------------------------------------
def prefs_group(run: RunCommand) -> app_commands.Group:
    spec = REGISTRY.get("prefs")
    group = app_commands.Group(
        name="prefs",
        description=_description(spec.summary if spec else "show or change your preferences"),
    )

    @group.command(name="show", description="Show your preferences and where each came from")
    async def show(interaction: discord.Interaction) -> None:
        await run(interaction, "prefs", "show")

    @group.command(name="set", description="Set a preference (always wins over what I infer)")
    @app_commands.describe(key="Which preference", value="Its new value")
    @app_commands.autocomplete(key=key_autocomplete, value=value_autocomplete)
    async def set_(interaction: discord.Interaction, key: str, value: str) -> None:
        await run(interaction, "prefs", f"set {_word(key)} {value}")

    @group.command(name="reset", description="Forget an explicit preference (or all of them)")
    @app_commands.describe(key="Which preference (leave empty for all)")
    @app_commands.autocomplete(key=key_autocomplete)
    async def reset(interaction: discord.Interaction, key: str | None = None) -> None:
        await run(interaction, "prefs", f"reset {_word(key)}" if key else "reset")

    return group


def _word(key: str) -> str:
    """A key as one word of the command line: the core splits arguments on whitespace and
    keeps the value after the key as typed (quotes mean nothing; shlex quoting them put
    quotes into the command the input audit found), so a key never spills into the value."""
    return "_".join(key.split()) or "?"


async def key_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [
        app_commands.Choice(name=f"{key} — {SPECS[key].description}"[:100], value=key)
        for key in key_suggestions(current)
    ]


async def value_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    key = getattr(interaction.namespace, "key", None)
    return [
        app_commands.Choice(name=value[:100], value=value[:100])
        for value in value_suggestions(key if isinstance(key, str) else None, current)
    ]


def key_suggestions(current: str) -> list[str]:
    """Keys starting with what was typed first, then keys containing it."""
    typed = current.strip().lower()
    starts = [key for key in SPECS if key.startswith(typed)]
    contains = [key for key in SPECS if typed in key and key not in starts]
    return (starts + contains)[:CHOICES_LIMIT]


def fixed_choices(spec: PreferenceSpec) -> list[str]:
    """The enumerated values of a key (``casual | neutral | formal``), each checked by the
    key's own validator, so the UI cannot offer a value the core would refuse."""
    if "|" not in spec.valid:
        return []
    found: list[str] = []
    for token in re.split(r"[|\s]+", spec.valid):
        if not re.fullmatch(r"[a-z]+", token):
            continue
        try:
            validate(spec.key, token)
        except PreferenceError:
            continue
        found.append(token)
    return list(dict.fromkeys(found))


@functools.cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def value_suggestions(key: str | None, current: str) -> list[str]:
    spec = SPECS.get((key or "").strip().lower())
    if spec is None:
        return []
    typed = current.strip()
    choices = fixed_choices(spec)
    if choices:
        return [c for c in choices if c.startswith(typed.lower())][:CHOICES_LIMIT]
    if spec.key == "timezone":
        lowered = typed.lower()
        return [tz for tz in _timezones() if lowered in tz.lower()][:CHOICES_LIMIT]
    if not typed:
        return []
    try:
        return [validate(spec.key, typed)]
    except PreferenceError:
        return []


CUSTOM_COMMANDS: dict[str, Callable[[RunCommand], app_commands.Group]] = {"prefs": prefs_group}
"""Commands built by hand instead of generically (see the module docstring)."""
