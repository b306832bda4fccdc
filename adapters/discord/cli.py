"""`tailorbot discord ...` subcommands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Discord adapter commands (not built yet).", no_args_is_help=True)
