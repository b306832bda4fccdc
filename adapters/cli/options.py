"""What every ``tailorbot`` command shares: the ``--config`` option (defined here once), the
one way settings are loaded, and the two consoles.

It imports only typer and rich: ``tailorbot --help`` must stay cheap, so anything heavier
(the core, SQLAlchemy, the platform SDKs) is imported inside the command that needs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from bot.config import Settings

console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A tailorbot.toml to read instead of ./tailorbot.toml."),
]


def settings_from(config: Path | None) -> Settings:
    """The settings for ``--config`` (or ./tailorbot.toml, .env and the environment); a bad
    value ends the command with its key named and exit code 2."""
    from bot.config import load_settings

    try:
        return load_settings(config)
    except Exception as exc:  # pydantic's ValidationError names the bad key; show it plainly
        # escaped: a message naming "[experiments]" lost it to rich's markup
        err.print(
            f"[red]Configuration error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from exc


@contextlib.contextmanager
def stopped_in_one_line() -> Iterator[None]:
    """A long-running command that fails (a bad token, an unreachable platform) says so in
    one line and exits 1; a configuration error at start was said already (exit 2)."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        err.print(f"[red]tailorbot stopped:[/red] {escape(one_line(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line. A database driver's error wrapped by SQLAlchemy is
    shown as the driver said it (its ``orig``), without SQLAlchemy's "Background on this
    error" link, and its several lines joined: `tailorbot db current` against a closed port
    printed a traceback, then a five-line message (operations audit)."""
    shown = getattr(exc, "orig", None) or exc
    return f"{type(shown).__name__}: {' '.join(str(shown).split())}"
