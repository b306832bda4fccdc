"""`tailorbot discord ...` subcommands: run, check, sync, invite-url, forget-user."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import ConfigOption, settings_from, stopped_in_one_line

if TYPE_CHECKING:
    from bot.config import Settings

app = typer.Typer(help="Discord adapter commands.", no_args_is_help=True)


def _token(settings: Settings) -> str:
    if not settings.discord_bot_token:
        typer.echo("DISCORD_BOT_TOKEN is not set (see docs/discord.md).", err=True)
        raise typer.Exit(2)
    return settings.discord_bot_token


@app.command("invite-url")
def invite_url_command(
    client_id: Annotated[
        int | None,
        typer.Option("--client-id", help="Application id; default: read from the bot token."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the OAuth2 URL that adds the bot to a server with exactly what it uses."""
    from adapters.discord.invite import client_id_from_token, invite_url

    if client_id is None:
        settings = settings_from(config)
        try:
            client_id = client_id_from_token(_token(settings))
        except ValueError as exc:
            typer.echo(f"{exc}; pass --client-id (Developer Portal → General Information).",
                       err=True)
            raise typer.Exit(2) from exc
    typer.echo(invite_url(client_id))


@app.command("check")
def check_command(config: ConfigOption = None) -> None:
    """Check the bot token, the privileged intents enabled in the Developer Portal, the slash
    commands and the bot's permissions in every server; say what is missing and how to fix
    it (exit code 1 when anything is)."""
    from adapters.discord.check import check_bot, report
    from adapters.discord.client import default_privileged
    from bot.command_catalog import CATALOG

    settings = settings_from(config)
    token = _token(settings)
    found = asyncio.run(
        check_bot(
            token,
            # what `tailorbot run` requests: the setting, else the default set
            settings.discord_intents
            if settings.discord_intents is not None
            else default_privileged(settings),
            CATALOG,
            api_url=settings.discord_api_url,
        )
    )
    out, problems = report(found)
    for line in out:
        typer.echo(line)
    for line in problems:
        typer.echo(line, err=True)
    if problems:
        raise typer.Exit(1)


@app.command("sync")
def sync_command(
    guild: Annotated[
        int | None,
        typer.Option("--guild", help="Sync to one server only (instant; for development)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Register the slash commands with Discord (run after install and after upgrades)."""
    settings = settings_from(config)
    names = asyncio.run(sync_to_discord(settings, _token(settings), guild))
    where = f"guild {guild}" if guild else "all servers and DMs (may take up to an hour to show)"
    typer.echo(f"Synced {len(names)} commands to {where}: " + ", ".join(f"/{n}" for n in names))


async def sync_to_discord(settings: Settings, token: str, guild: int | None) -> list[str]:
    """Log in over REST only (no gateway connection, no database) and register the tree."""
    from adapters.discord.client import TailorClient, build_intents
    from adapters.discord.commands import build_tree, sync_commands
    from adapters.discord.endpoints import pointed_at

    async def not_serving(*_: object) -> None:  # the tree is only synced, never invoked
        raise RuntimeError("commands are not served by `tailorbot discord sync`")

    with pointed_at(settings.discord_api_url, settings.discord_gateway_url):
        client = TailorClient(intents=build_intents())
        tree = build_tree(client, not_serving)
        try:
            await client.login(token)
            synced = await sync_commands(tree, guild)
        finally:
            await client.close()
    return [command.name for command in synced]


@app.command("run")
def run_command(
    intents: Annotated[
        str | None,
        typer.Option(
            "--intents",
            help="Privileged intents to request, comma-separated: message_content, members, "
            "presences ('' for none). Default: message_content, plus members when "
            "forget_on_leave is on.",
        ),
    ] = None,
    sharded: Annotated[bool, typer.Option("--sharded", help="Run an auto-sharded client.")] = False,
    shard_count: Annotated[int | None, typer.Option("--shard-count", help="Total shards.")] = None,
    shard_ids: Annotated[
        str | None, typer.Option("--shard-ids", help="Shards this process runs, e.g. 0,1.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run only the Discord adapter, with intent and sharding options; like 'tailorbot run'
    (which starts every configured adapter), it also serves the operator endpoints, fires
    digests and purges expired records."""
    from adapters.cli.run import serve
    from adapters.cli.runtime import run_async, use_experiments_of
    from adapters.discord import runner

    settings = settings_from(config)
    _token(settings)
    use_experiments_of(config)
    privileged = None if intents is None else [i.strip() for i in intents.split(",") if i.strip()]
    ids = [int(i) for i in shard_ids.split(",")] if shard_ids else None
    discord = SimpleNamespace(serve=functools.partial(
        runner.serve, privileged=privileged, sharded=sharded, shard_count=shard_count,
        shard_ids=ids))
    with stopped_in_one_line(), contextlib.suppress(KeyboardInterrupt):
        run_async(serve(settings, [("discord", discord)]), settings)


@app.command("forget-user")
def forget_user_command(
    user_id: Annotated[int, typer.Argument(help="The Discord user id (a snowflake).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete a Discord user's data in every server and in DMs (deletion requests: Discord
    has no gateway event for them)."""
    settings = settings_from(config)
    if not yes and not typer.confirm(f"Delete everything about Discord user {user_id}?"):
        raise typer.Exit(1)

    async def main() -> int:
        from adapters.cli.runtime import core_for
        from adapters.discord.translate import PLATFORM

        async with core_for(settings) as core:
            # Told of an outage, not kept for later in this short-lived process's journal.
            return await core.forget_user(PLATFORM, str(user_id), keep_if_away=False)

    scopes = asyncio.run(main())
    typer.echo(f"Forgot Discord user {user_id} in {scopes} scope(s) (servers and DMs).")
