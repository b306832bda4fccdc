"""Running a command against the bot: build the core for some settings, run async work in
it and close it again, and find the person an operator names.

Commands import this inside their bodies, so the core and its libraries load only for the
commands that use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.markup import escape
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, or_, select

from adapters.cli.options import err, one_line
from bot.app import build_core
from bot.command_base import parse_row_id
from bot.config import Settings
from bot.core import Core
from bot.environment_writers import load_environment_writers
from bot.event_loop import loop_factory
from bot.experiments import ExperimentConfigError, use_registry_file
from profiles.db import DatabaseUnavailable
from profiles.migrate import SchemaNotCurrent
from profiles.models import Person
from prompts.render import TemplateError

T = TypeVar("T")


def run_async(coro: Awaitable[T], settings: Settings) -> T:
    """Every command that builds the core starts its event loop here — the one
    ``settings.event_loop`` names (bot/event_loop.py) — in a process that has one thread yet:
    the moment to load what writes the environment (bot/environment_writers.py). SIGTERM
    stops it as Ctrl-C does (:func:`_stopping_on_sigterm`)."""
    load_environment_writers()
    with asyncio.Runner(loop_factory=loop_factory(settings.event_loop)) as runner:
        if threading.current_thread() is not threading.main_thread():
            return runner.run(coro)  # type: ignore[arg-type]
        return runner.run(_stopping_on_sigterm(coro))


async def _stopping_on_sigterm(coro: Awaitable[T]) -> T:
    """Run ``coro`` as the main task; SIGTERM — what systemd, ``docker stop`` and Kubernetes
    send on every deploy — cancels it as Ctrl-C does, so events acknowledged to the platform
    finish and the learner's queues are flushed (README, "Graceful stop"), then the command
    ends as an interrupted one (KeyboardInterrupt: `run` and `chat` exit 0). Before, SIGTERM
    ended the process at once: a DM Slack had been told was received was claimed and never
    answered (operations audit). Handled in the loop itself, not by re-raising SIGINT: a
    process started with SIGINT ignored (``tailorbot run &`` in a script) has no asyncio
    SIGINT handler, and SIGTERM then did nothing at all (review). A second SIGTERM while
    stopping ends it at once."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    signals = 0

    def on_sigterm() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            main.cancel()
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await coro
    except asyncio.CancelledError:
        if signals:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def use_experiments_of(config: Path | None) -> None:
    """The experiments of ``--config`` when one is given (``TAILORBOT_EXPERIMENTS_FILE``
    still wins): `tailorbot experiments -c FILE` read that file's while `run -c FILE` ran
    ./tailorbot.toml's."""
    if config is None:
        return
    try:
        use_registry_file(config)
    except (ExperimentConfigError, ValueError) as exc:
        err.print(f"[red]Configuration error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


@contextlib.asynccontextmanager
async def core_for(settings: Settings) -> AsyncIterator[Core]:
    try:
        core = await build_core(settings)
    except TemplateError as exc:  # a broken or refused override: one line, no traceback
        err.print(f"[red]Prompt template error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except ExperimentConfigError as exc:  # e.g. a prompt variant's template that is missing
        err.print(f"[red]Configuration error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except SchemaNotCurrent as exc:
        err.print(f"[red]Database not ready:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except (DatabaseUnavailable, DBAPIError) as exc:
        # `users list`, `db purge`, `digest run-due`… against a server that is down: one
        # line, not a traceback (operations audit).
        err.print(f"[red]Database not reachable:[/red] {escape(one_line(exc))}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    try:
        yield core
    finally:
        await core.aclose()
        await core.services.db.dispose()


def with_core(settings: Settings, work: Callable[[Core], Awaitable[T]]) -> T:
    async def main() -> T:
        async with core_for(settings) as core:
            return await work(core)

    return run_async(main(), settings)


async def find_person(core: Core, who: str) -> Person:
    """A numeric id, or a user id / display name (must be unambiguous)."""
    async with core.services.db.session() as session:
        row_id = parse_row_id(who)  # a 20-digit "id" would overflow the driver
        if row_id is not None:
            person = await session.get(Person, row_id)
            if person is not None:
                return person
        result = await session.exec(
            select(Person).where(or_(col(Person.user_id) == who, col(Person.display_name) == who))
        )
        matches = list(result)
    if not matches:
        err.print(f"[red]No person matches {who!r}.[/red] See `tailorbot users list`.")
        raise typer.Exit(1)
    if len(matches) > 1:
        ids = ", ".join(f"{p.id} ({p.platform}/{p.workspace}/{p.user_id})" for p in matches)
        err.print(f"[red]{who!r} is ambiguous:[/red] {ids}. Use the numeric id.")
        raise typer.Exit(1)
    return matches[0]
