"""`tailorbot slack ...` subcommands."""

from __future__ import annotations

import typer

from adapters.cli.options import ConfigOption, settings_from

app = typer.Typer(help="Slack adapter commands.", no_args_is_help=True)


@app.command()
def manifest(
    request_url: str | None = typer.Option(
        None,
        "--request-url",
        help="HTTP mode: the public https://…/slack/events URL. Omit for Socket Mode.",
    ),
    config: ConfigOption = None,
) -> None:
    """Print the Slack app manifest (JSON) to paste into "Create New App → From a manifest"."""
    from adapters.slack.manifest import build_manifest, render

    typer.echo(render(build_manifest(settings_from(config), request_url=request_url)))


@app.command()
def check(config: ConfigOption = None) -> None:
    """Say which mode `tailorbot run` will use for Slack, or what is missing."""
    from adapters.slack.runner import configured, mode

    settings = settings_from(config)
    if not configured(settings):
        typer.echo("Slack is not configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN "
                   "(Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode).")
        raise typer.Exit(1)
    from adapters.slack.oauth import configured as distributed

    if distributed(settings):
        from adapters.slack.installations import TokenCipher, TokenKeyError

        try:  # `tailorbot run` needs it before anything else: say so here, not there
            TokenCipher(settings.slack_token_key)
        except TokenKeyError as exc:
            typer.echo(f"Slack OAuth cannot start: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"HTTP mode on port {settings.http_port}, installable in any workspace: "
                   "/slack/events, /slack/install, /slack/oauth_redirect.")
    elif mode(settings) == "socket":
        typer.echo("Socket Mode (SLACK_APP_TOKEN is set).")
    else:
        typer.echo(f"HTTP mode on port {settings.http_port} at /slack/events.")
    if not settings.slack_bot_token:
        return  # distribution: each workspace's token is checked when it installs
    import asyncio

    from adapters.slack.check import check_token, failure_line

    found = asyncio.run(check_token(settings))
    if found.failure:
        where = settings.slack_api_url
        if where != type(settings).model_fields["slack_api_url"].default:
            where += " (TAILORBOT_SLACK_API_URL)"
        typer.echo(failure_line(found, where), err=True)
        raise typer.Exit(1)
    typer.echo(f"Token OK: bot @{found.bot_user} in workspace {found.team}.")
    if not found.scopes_known:
        typer.echo("Slack did not list the token's scopes; compare them in the app's "
                   "OAuth & Permissions page with `tailorbot slack manifest`.")
    elif found.missing:
        typer.echo("Missing scopes: " + ", ".join(found.missing) + ". Add them (or paste "
                   "`tailorbot slack manifest` into the app's manifest) and reinstall the app.",
                   err=True)
        raise typer.Exit(1)
    else:
        typer.echo("Every scope the manifest asks for is granted.")
    if found.extra:
        typer.echo("Granted but unused: " + ", ".join(found.extra) + ".")


@app.command("token-key")
def token_key() -> None:
    """Print a new key for TAILORBOT_SLACK_TOKEN_KEY (encrypts stored Slack tokens)."""
    from adapters.slack.installations import new_key

    typer.echo(new_key())
