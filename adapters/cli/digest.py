"""``tailorbot digest …``: preview a person's digest, run every due digest now, and manage the
RSS/Atom feeds of a workspace.

``run-due`` is what cron (or an operator catching up after an outage) runs next to, or
instead of, the scheduler in ``tailorbot run``: it sends each due digest once (the run table
makes it safe alongside running workers) and shows progress. From the command line only the
terminal can deliver (digests are printed); people on Slack or Discord are left to the
workers that have those adapters, and counted as such.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from adapters.cli.options import ConfigOption, console, err, settings_from

if TYPE_CHECKING:
    from bot.events import AnyEvent, Reply
    from profiles.models import Person

app = typer.Typer(help="Scheduled personal digests.", no_args_is_help=True)
feeds_app = typer.Typer(help="RSS/Atom feeds shared by a whole workspace.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")

NowOption = Annotated[
    str | None,
    typer.Option("--now", help="Act as of this ISO time (UTC unless it says otherwise)."),
]


def print_digest(person: Person, replies: list[Reply]) -> None:
    console.rule(f"digest for {escape(person.display_name or person.user_id)}")
    for reply in replies:
        console.print(reply.text, markup=False, highlight=False)
        if reply.buttons:
            labels = " ".join(f"[{b.label}]" for b in reply.buttons)
            console.print(labels, style="dim", markup=False, highlight=False)


class ConsoleOutbox:
    """The terminal's :class:`bot.outbox.Outbox` while ``digest run`` works: digests for
    terminal people are printed on the operator's console."""

    platform = "terminal"

    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        for reply in replies:
            console.print(reply.text, markup=False, highlight=False)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        print_digest(person, replies)


@app.command("preview")
def preview(
    user: Annotated[str, typer.Option("--user", "-u", help="Numeric id, user id or name.")],
    plain: Annotated[
        bool, typer.Option("--plain", help="Without the model, even when one is configured.")
    ] = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Build a person's digest now and print it; nothing is marked as sent."""
    from adapters.cli.runtime import core_for, find_person
    from bot.digest import NotAllowed, digests_for

    at = _parse_now(now)

    async def main() -> None:
        async with core_for(settings_from(config)) as core:
            if at is not None:
                core.services.clock = lambda: at
            person = await find_person(core, user)
            try:
                replies = await digests_for(core.services).preview(person, use_model=not plain)
            except NotAllowed as exc:
                err.print(f"[red]{escape(str(exc))}[/red]")
                raise typer.Exit(1) from exc
            print_digest(person, replies)

    asyncio.run(main())


def _parse_now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date-time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@app.command("run-due")
def run_due(
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Send every digest that is due now (within the misfire grace) and not sent yet."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from adapters.cli.runtime import core_for
    from bot.digest import digests_for
    from bot.digest import store as digest_store

    at = _parse_now(now)

    async def main() -> str:
        async with core_for(settings_from(config)) as core:
            if at is not None:
                core.services.clock = lambda: at
            service = digests_for(core.services)
            core.services.open_outbox(ConsoleOutbox())
            async with core.services.db.session() as session:
                total = await digest_store.count_subscriptions(session)
            with Progress(
                TextColumn("digests"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=False,
            ) as progress:
                task = progress.add_task("run", total=total)
                summary = await service.run_due(
                    now=at, progress=lambda n: progress.advance(task, n)
                )
            await service.aclose()
            line = summary.line()
            waiting = summary.counts.get("no_delivery", 0)
            if waiting:
                line += f" ({waiting} left for the Slack/Discord workers)"
            return line

    console.print(asyncio.run(main()), markup=False, highlight=False)


@feeds_app.command("list")
def feeds_list(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    workspace: Annotated[str | None, typer.Option(help="Only this workspace.")] = None,
    config: ConfigOption = None,
) -> None:
    from adapters.cli.runtime import core_for
    from bot.digest import store as digest_store

    async def main() -> list[tuple[str, str, str]]:
        async with core_for(settings_from(config)) as core, core.services.db.session() as session:
            rows = await digest_store.workspace_feeds(session, platform, workspace)
            return [(r.platform, r.workspace, r.url) for r in rows]

    table = Table("platform", "workspace", "url")
    for row in asyncio.run(main()):
        table.add_row(*row)
    console.print(table)


@feeds_app.command("add")
def feeds_add(platform: str, workspace: str, url: str, config: ConfigOption = None) -> None:
    """Add a feed for everyone in a workspace (operator-trusted: may be on a private host)."""
    from adapters.cli.runtime import core_for
    from bot.digest import store as digest_store
    from bot.digest.feeds import FeedError, check_url

    try:
        clean = check_url(url)
    except FeedError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc

    async def main() -> bool:
        async with core_for(settings_from(config)) as core, core.services.db.session() as session:
            return await digest_store.add_workspace_feed(
                session, platform, workspace, clean, at=core.services.clock()
            )

    added = asyncio.run(main())
    console.print("Added." if added else "Already there.")


@feeds_app.command("remove")
def feeds_remove(platform: str, workspace: str, url: str, config: ConfigOption = None) -> None:
    from adapters.cli.runtime import core_for
    from bot.digest import store as digest_store

    async def main() -> bool:
        async with core_for(settings_from(config)) as core, core.services.db.session() as session:
            return await digest_store.remove_workspace_feed(session, platform, workspace, url)

    if not asyncio.run(main()):
        err.print("No such feed.")
        raise typer.Exit(1)
    console.print("Removed.")
