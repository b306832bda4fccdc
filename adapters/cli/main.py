"""The ``tailorbot`` command line.

It lives in ``adapters/`` because it is the composition root: it may import every adapter,
while ``bot/`` never imports one. Each platform's sub-commands are in ``adapters/cli/<platform>.py``
and its runner in ``adapters/<platform>/runner.py``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from adapters.cli import digest as digest_cli
from adapters.cli import discord as discord_cli
from adapters.cli import experiments as experiments_cli
from adapters.cli import slack as slack_cli
from adapters.cli.options import ConfigOption, console, err, settings_from, stopped_in_one_line

if TYPE_CHECKING:
    from bot.core import Core

app = typer.Typer(
    name="tailorbot",
    help="A chat bot for Slack, Discord and the terminal that remembers each person.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
profiles_app = typer.Typer(help="Model-written profile summaries.", no_args_is_help=True)
prompt_app = typer.Typer(help="Inspect what the model receives.", no_args_is_help=True)
users_app = typer.Typer(help="Admin view of people and their data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(profiles_app, name="profiles")
app.add_typer(prompt_app, name="prompt")
app.add_typer(slack_cli.app, name="slack")
app.add_typer(discord_cli.app, name="discord")
app.add_typer(digest_cli.app, name="digest")
app.add_typer(experiments_cli.app, name="experiments")


# run / chat -------------------------------------------------------------------------------
@app.command()
def run(
    consent: Annotated[
        bool,
        typer.Option("--consent", help="The terminal chat (no platform configured): grant "
                     "consent up front, as `chat --consent` does."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Start every configured adapter (Slack, Discord); with none configured, the terminal.
    Health, readiness, metrics and the operator page are served on TAILORBOT_HTTP_PORT."""
    from adapters.cli.run import configured_runners, serve
    from adapters.cli.runtime import run_async, use_experiments_of

    settings = settings_from(config)
    if consent and configured_runners(settings):
        # On Slack and Discord consent is each person's own, asked of them.
        raise typer.BadParameter("is for the terminal chat (no Slack or Discord credentials "
                                 "set); on Slack and Discord each person gives their own",
                                 param_hint="--consent")
    use_experiments_of(config)
    with stopped_in_one_line(), contextlib.suppress(KeyboardInterrupt):
        run_async(serve(settings, grant_consent=consent), settings)


@app.command()
def chat(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Who you are.")] = None,
    consent: Annotated[bool, typer.Option("--consent", help="Grant consent up front.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Scripted mode: JSON per line.")] = False,
    config: ConfigOption = None,
) -> None:
    """Talk to the bot in the terminal (scriptable when stdin is not a TTY)."""
    from adapters import terminal
    from adapters.cli.run import default_user
    from adapters.cli.runtime import core_for, run_async, use_experiments_of

    settings = settings_from(config)
    use_experiments_of(config)

    async def main() -> None:
        async with core_for(settings) as core:
            await terminal.chat(
                core, user=user or default_user(), grant_consent=consent, jsonl=jsonl
            )

    with contextlib.suppress(KeyboardInterrupt):
        run_async(main(), settings)


@app.command("config")
def show_config(config: ConfigOption = None) -> None:
    """Print the effective settings (secrets masked)."""
    from bot.config import display_settings

    settings = settings_from(config)
    table = Table("key", "value")
    for key, shown in display_settings(settings).items():
        table.add_row(key, shown)
    console.print(table)


# db -----------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument()] = "head", config: ConfigOption = None
) -> None:
    """Create or upgrade the schema."""
    from profiles import migrate

    settings = settings_from(config)
    with stopped_in_one_line():  # an unknown revision, an unreachable server
        migrate.upgrade(settings.database_url, revision)
        now = migrate.current_revision(settings.database_url)
    console.print(f"Database at revision {now}.")


@db_app.command("downgrade")
def db_downgrade(revision: str, config: ConfigOption = None) -> None:
    from profiles import migrate

    settings = settings_from(config)
    with stopped_in_one_line():  # an unknown revision, an unreachable server
        migrate.downgrade(settings.database_url, revision)
        now = migrate.current_revision(settings.database_url)
    console.print(f"Database at revision {now}.")


@db_app.command("purge")
def db_purge(config: ConfigOption = None) -> None:
    """Delete records older than their retention limits (what `tailorbot run` does daily)."""
    from adapters.cli.runtime import with_core
    from bot.retention import purge_now

    removed = with_core(settings_from(config), lambda core: purge_now(core.services))
    total = sum(removed.values())
    details = ", ".join(f"{table} {n}" for table, n in removed.items() if n) or "nothing expired"
    console.print(f"Purged {total} record(s): {details}.")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    from profiles import migrate

    settings = settings_from(config)
    with stopped_in_one_line():  # an unreachable server, a missing database
        current = migrate.current_revision(settings.database_url)
    console.print(f"current: {current or '(empty database)'}; head: {migrate.head_revision()}")


# users --------------------------------------------------------------------------------------
@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """Everyone the bot has met, with consent state and how much it knows."""
    from sqlalchemy import func, select
    from sqlmodel import col

    from adapters.cli.runtime import with_core
    from profiles.models import Consent, Interest, Person

    async def work(core: Core) -> list[Any]:
        async with core.services.db.session() as session:
            interests = (
                select(col(Interest.person_id), func.count().label("n"))
                .group_by(col(Interest.person_id))
                .subquery()
            )
            result = await session.exec(
                select(Person, Consent.status, interests.c.n)  # type: ignore[call-overload]
                .outerjoin(Consent, Consent.person_id == Person.id)
                .outerjoin(interests, interests.c.person_id == Person.id)
                .order_by(Person.id)
            )
            return list(result.all())

    rows = with_core(settings_from(config), work)
    table = Table(
        "id", "platform", "workspace", "user", "name", "consent", "interests", "last seen"
    )
    for person, status, count in rows:
        table.add_row(
            str(person.id),
            person.platform,
            person.workspace,
            person.user_id,
            person.display_name or "",
            status or "unknown",
            str(count or 0),
            f"{person.last_seen_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@users_app.command("show")
def users_show(who: str, config: ConfigOption = None) -> None:
    """What the bot believes about a person and why (same text as /profile)."""
    from adapters.cli.runtime import find_person, with_core
    from bot.commands.profile import describe
    from profiles.models import Person

    async def work(core: Core) -> str:
        person = await find_person(core, who)
        async with core.services.db.session() as session:
            fresh = await session.get(Person, person.id)
            assert fresh is not None
            return await describe(core.services.engine, session, fresh, core.services.clock())

    console.print(with_core(settings_from(config), work), markup=False)


@users_app.command("export")
def users_export(
    who: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """All data about a person as JSON (every table, and every identity linked to theirs):
    what their /export returns."""
    from adapters.cli.runtime import find_person, with_core
    from bot.memory.privacy import export_everything
    from profiles.privacy import export_json

    async def work(core: Core) -> bytes:
        person = await find_person(core, who)
        assert person.id is not None
        async with core.services.db.session() as session:
            return export_json(
                await export_everything(session, person.id, at=core.services.clock())
            )

    payload = with_core(settings_from(config), work)
    if output is None:
        sys.stdout.write(payload.decode("utf-8") + "\n")
    else:
        output.write_bytes(payload)
        output.chmod(0o600)
        err.print(f"Wrote {output}.")


@users_app.command("forget")
def users_forget(
    who: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete every row about a person in every table, and their scheduled jobs."""
    from sqlmodel.ext.asyncio.session import AsyncSession

    from adapters.cli.runtime import find_person, with_core
    from bot import lifecycle
    from bot.features import DeletionReport
    from profiles.models import Person

    settings = settings_from(config)

    report = DeletionReport()

    async def work(core: Core) -> dict[str, int] | None:
        person = await find_person(core, who)
        label = f"{person.id} ({person.platform}/{person.workspace}/{person.user_id})"
        if not yes and not typer.confirm(f"Delete everything about {label}?"):
            return None
        async def forget(session: AsyncSession) -> dict[str, int]:
            fresh = await session.get(Person, person.id)
            assert fresh is not None
            return await lifecycle.forget_person(core.services, session, fresh, report=report)

        return await core.services.in_transaction(forget)

    removed = with_core(settings, work)
    if removed is None:
        err.print("Nothing deleted.")
        raise typer.Exit(1)
    console.print(json.dumps({"deleted_rows": removed, "total": sum(removed.values())}))
    if not report.complete:
        err.print(f"Not deleted (see the log): {', '.join(report.failed)}")
        raise typer.Exit(1)


# profiles / prompt ---------------------------------------------------------------------------
@profiles_app.command("summarize")
def profiles_summarize(
    min_new: Annotated[int, typer.Option(help="Messages since the last summary.")] = 10,
    limit: Annotated[int, typer.Option(help="People per run.")] = 100,
    config: ConfigOption = None,
) -> None:
    """Ask the model for a structured summary of people with enough new messages (batch job:
    run it from cron or a scheduler, not per message)."""
    from adapters.cli.runtime import with_core
    from bot.summaries import summarize_due

    async def work(core: Core) -> str:
        if not core.services.llm.configured:
            err.print("No model configured: nothing to do (see README, Models).")
            raise typer.Exit(1)
        run = await summarize_due(core.services, min_new_turns=min_new, limit=limit)
        return (
            f"considered {run.considered}, stored {run.stored}, rejected {run.rejected}, "
            f"failed {run.failed}, skipped {run.skipped}"
        )

    console.print(with_core(settings_from(config), work))


@prompt_app.command("preview")
def prompt_preview(
    user: Annotated[str, typer.Option("--user", "-u", help="User id or display name.")],
    text: Annotated[str, typer.Option("--message", "-m", help="The message to answer.")] = (
        "Hello! What do you know about me?"
    ),
    config: ConfigOption = None,
) -> None:
    """Print the exact prompt the model would receive from this person now (nothing stored)."""
    from adapters.cli.runtime import find_person, with_core
    from bot.events import MessageEvent, PersonRef, Surface

    async def work(core: Core) -> str:
        person = await find_person(core, user)
        event = MessageEvent(
            event_id="preview",
            person=PersonRef(
                person.platform, person.workspace, person.user_id, person.display_name
            ),
            text=text,
            surface=Surface.DM,
        )
        request = await core.preview_request(event)
        parts = [
            f"=== system ({core.services.llm.count_tokens(request.system)} tokens, "
            f"backend {core.services.llm.name}) ===",
            request.system,
        ]
        for turn in request.turns:
            parts += [f"=== {turn.role} ===", turn.content]
        return "\n".join(parts)

    # As is: rich would wrap long lines at the terminal's width (80 columns when piped),
    # breaking lines the model never sees broken.
    typer.echo(with_core(settings_from(config), work))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
