"""`tailorbot slack ...` subcommands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Slack adapter commands (not built yet).", no_args_is_help=True)
