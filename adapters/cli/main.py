"""The ``tailorbot`` command line.

It lives in ``adapters/`` because it is the composition root: it may import every adapter,
while ``bot/`` never imports one. Each platform's sub-commands are in ``adapters/cli/<platform>.py``
and its runner in ``adapters/<platform>/runner.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, or_, select

from adapters import terminal
from adapters.cli import digest as digest_cli
from adapters.cli import discord as discord_cli
from adapters.cli import experiments as experiments_cli
from adapters.cli import slack as slack_cli
from adapters.discord import runner as discord_runner
from adapters.slack import runner as slack_runner
from bot.app import build_core
from bot.commands.profile import describe
from bot.config import Settings, load_settings
from bot.core import Core
from bot.digest import digests_for
from profiles import migrate
from profiles.models import Consent, Interest, Person
from profiles.privacy import export_json, export_person

T = TypeVar("T")
console = Console()
err = Console(stderr=True)

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

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A tailorbot.toml to read instead of ./tailorbot.toml."),
]


def settings_from(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except Exception as exc:  # pydantic's ValidationError names the bad key; show it plainly
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def run_async(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def core_for(settings: Settings) -> AsyncIterator[Core]:
    core = await build_core(settings)
    try:
        yield core
    finally:
        await core.aclose()
        await core.db.dispose()


# run / chat -------------------------------------------------------------------------------
@app.command()
def run(config: ConfigOption = None) -> None:
    """Start every configured adapter (Slack, Discord); with none configured, the terminal."""
    settings = settings_from(config)
    runners = [r for r in (slack_runner, discord_runner) if r.configured(settings)]

    async def main() -> None:
        async with core_for(settings) as core:
            digests = digests_for(core)
            await digests.start()  # fires each person's digest at their local time
            try:
                await serve_adapters(core)
            finally:
                await digests.aclose()

    async def serve_adapters(core: Core) -> None:
        if not runners:
            err.print(
                "[dim]No Slack or Discord credentials set: starting the terminal "
                "chat (see README).[/dim]"
            )
            await terminal.chat(core, user=_default_user())
            return
        await asyncio.gather(*(r.serve(core, settings) for r in runners))

    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_async(main())
    except Exception as exc:  # a bad token or an unreachable platform: say so, exit non-zero
        err.print(f"[red]tailorbot stopped:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from exc


def _default_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "you"


@app.command()
def chat(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Who you are.")] = None,
    consent: Annotated[bool, typer.Option("--consent", help="Grant consent up front.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Scripted mode: JSON per line.")] = False,
    config: ConfigOption = None,
) -> None:
    """Talk to the bot in the terminal (scriptable when stdin is not a TTY)."""
    settings = settings_from(config)

    async def main() -> None:
        async with core_for(settings) as core:
            await terminal.chat(
                core, user=user or _default_user(), grant_consent=consent, jsonl=jsonl
            )

    with contextlib.suppress(KeyboardInterrupt):
        run_async(main())


@app.command("config")
def show_config(config: ConfigOption = None) -> None:
    """Print the effective settings (secrets masked)."""
    settings = settings_from(config)
    table = Table("key", "value")
    for key, value in settings.model_dump().items():
        shown = value
        if value and any(word in key for word in ("token", "secret", "key")):
            shown = "********"
        table.add_row(key, str(shown))
    console.print(table)


# db -----------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument()] = "head", config: ConfigOption = None
) -> None:
    """Create or upgrade the schema."""
    settings = settings_from(config)
    migrate.upgrade(settings.database_url, revision)
    console.print(f"Database at revision {migrate.current_revision(settings.database_url)}.")


@db_app.command("downgrade")
def db_downgrade(revision: str, config: ConfigOption = None) -> None:
    settings = settings_from(config)
    migrate.downgrade(settings.database_url, revision)
    console.print(f"Database at revision {migrate.current_revision(settings.database_url)}.")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    settings = settings_from(config)
    current = migrate.current_revision(settings.database_url)
    console.print(f"current: {current or '(empty database)'}; head: {migrate.head_revision()}")


# users --------------------------------------------------------------------------------------
def with_core(settings: Settings, work: Callable[[Core], Awaitable[T]]) -> T:
    async def main() -> T:
        async with core_for(settings) as core:
            return await work(core)

    return run_async(main())


async def find_person(core: Core, who: str) -> Person:
    """A numeric id, or a user id / display name (must be unambiguous)."""
    async with core.db.session() as session:
        if who.isdigit():
            person = await session.get(Person, int(who))
            if person is not None:
                return person
        result = await session.exec(
            select(Person).where(or_(Person.user_id == who, Person.display_name == who))  # type: ignore[call-overload]
        )
        matches = list(result.scalars())
    if not matches:
        err.print(f"[red]No person matches {who!r}.[/red] See `tailorbot users list`.")
        raise typer.Exit(1)
    if len(matches) > 1:
        ids = ", ".join(f"{p.id} ({p.platform}/{p.workspace}/{p.user_id})" for p in matches)
        err.print(f"[red]{who!r} is ambiguous:[/red] {ids}. Use the numeric id.")
        raise typer.Exit(1)
    return matches[0]


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """Everyone the bot has met, with consent state and how much it knows."""

    async def work(core: Core) -> list[Any]:
        async with core.db.session() as session:
            interests = (
                select(Interest.person_id, func.count().label("n"))
                .group_by(Interest.person_id)
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

    async def work(core: Core) -> str:
        person = await find_person(core, who)
        async with core.db.session() as session:
            fresh = await session.get(Person, person.id)
            assert fresh is not None
            return await describe(core.engine, session, fresh, core.clock())

    console.print(with_core(settings_from(config), work), markup=False)


@users_app.command("export")
def users_export(
    who: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """All data about a person as JSON (every table)."""

    async def work(core: Core) -> bytes:
        person = await find_person(core, who)
        assert person.id is not None
        async with core.db.session() as session:
            return export_json(await export_person(session, person.id))

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
    settings = settings_from(config)

    async def work(core: Core) -> dict[str, int] | None:
        person = await find_person(core, who)
        label = f"{person.id} ({person.platform}/{person.workspace}/{person.user_id})"
        if not yes and not typer.confirm(f"Delete everything about {label}?"):
            return None
        async with core.transaction() as session:
            fresh = await session.get(Person, person.id)
            assert fresh is not None
            removed = await core.forget_person(session, fresh)
        return removed

    removed = with_core(settings, work)
    if removed is None:
        err.print("Nothing deleted.")
        raise typer.Exit(1)
    console.print(json.dumps({"deleted_rows": removed, "total": sum(removed.values())}))


# profiles / prompt ---------------------------------------------------------------------------
@profiles_app.command("summarize")
def profiles_summarize(
    min_new: Annotated[int, typer.Option(help="Messages since the last summary.")] = 10,
    limit: Annotated[int, typer.Option(help="People per run.")] = 100,
    config: ConfigOption = None,
) -> None:
    """Ask the model for a structured summary of people with enough new messages (batch job:
    run it from cron or a scheduler, not per message)."""
    from bot.summaries import summarize_due

    async def work(core: Core) -> str:
        if not core.llm.configured:
            err.print("No model configured: nothing to do (see README, Models).")
            raise typer.Exit(1)
        run = await summarize_due(core, min_new_turns=min_new, limit=limit)
        return (
            f"considered {run.considered}, stored {run.stored}, rejected {run.rejected}, "
            f"failed {run.failed}"
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
            f"=== system ({core.llm.count_tokens(request.system)} tokens, "
            f"backend {core.llm.name}) ===",
            request.system,
        ]
        for turn in request.turns:
            parts += [f"=== {turn.role} ===", turn.content]
        return "\n".join(parts)

    console.print(with_core(settings_from(config), work), markup=False, highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
