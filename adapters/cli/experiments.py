"""``tailorbot experiments …``: see, report, stop and promote online experiments.

Mounted by ``adapters/cli/main.py`` with
``app.add_typer(experiments_cli.app, name="experiments")``. Experiments come from
``$TAILORBOT_EXPERIMENTS_FILE`` or the ``[experiments]`` table of ``tailorbot.toml`` (or of
``--config``); their state (running / stopped / promoted) is in the database, so every worker
follows a stop or a promotion without a restart.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from adapters.cli.options import ConfigOption, console, err, settings_from

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.experiments import ExperimentRegistry
    from bot.experiments.config import Experiment
    from bot.experiments.report import ExperimentReport
    from bot.experiments.stats import Interval
    from profiles.db import Database

T = TypeVar("T")
app = typer.Typer(help="Online experiments on prompt and ranking variants.", no_args_is_help=True)


def _load(config: Path | None) -> tuple[Settings, ExperimentRegistry]:
    from bot.experiments import ExperimentConfigError, load_experiments

    settings = settings_from(config)
    try:
        registry = load_experiments(config)
    except (ExperimentConfigError, ValueError) as exc:
        err.print(f"[red]Configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    return settings, registry


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    from profiles.db import Database
    from profiles.migrate import upgrade

    async def main() -> T:
        if settings.auto_migrate:
            await asyncio.to_thread(upgrade, settings.database_url)
        db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


@app.command("list")
def list_experiments(config: ConfigOption = None) -> None:
    """Configured experiments, their variants and state."""
    from bot.experiments import state_of

    settings, registry = _load(config)
    if not registry.experiments:
        # escaped, as every text below that is not markup: rich took "[experiments]" for a
        # tag and printed "add an  table" (operations audit)
        console.print(escape(
            "No experiments configured (add an [experiments] table to tailorbot.toml or set "
            "TAILORBOT_EXPERIMENTS_FILE; see docs/measurement.md)."
        ))
        return

    async def states(db: Database) -> dict[str, str]:
        async with db.session() as session:
            found = {}
            for experiment in registry.experiments:
                state = await state_of(session, experiment.name)
                found[experiment.name] = state.status + (
                    f" → {state.promoted_variant}" if state.promoted_variant else ""
                )
            return found

    status = _with_db(settings, states)
    table = Table(title=escape(f"experiments ({registry.source})"))
    for column in ("name", "kind", "state", "traffic", "variants", "description"):
        table.add_column(column)
    for e in registry.experiments:
        variants = ", ".join(
            f"{v.name}{' (control)' if v.control else ''} ×{v.weight:g}" for v in e.variants
        )
        table.add_row(
            *map(escape, (e.name, e.kind, status[e.name], f"{e.traffic:.0%}", variants,
                          e.description))
        )
    console.print(table)


def _rate(interval: Interval) -> str:
    if not interval.n:
        return "—"
    return f"{interval.estimate:.0%}\n{interval.low:.0%}–{interval.high:.0%}"


def _mean(interval: Interval) -> str:
    if not interval.n:
        return "—"
    return f"{interval.estimate:.0f}\n{interval.low:.0f}–{interval.high:.0f}"


def _table(report: ExperimentReport) -> Table:
    """One row per variant, each figure above its 95% interval, so the table fits an
    80-column terminal (nothing is cut: a narrower one wraps cells)."""
    from rich import box

    status = report.status + (f" → {report.promoted_variant}" if report.promoted_variant else "")
    table = Table(
        title=escape(f"{report.name} ({report.kind}, {status})"),
        caption="* control. Each figure over its 95% interval. recs: recommendations kept. "
        "p: liked rate vs control (two-proportion z test).",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        show_edge=False,
    )
    columns = ["variant", "people", "replies", "liked", "disliked", "chars", "recs"]
    has_digest = any(m.digest is not None and m.digest.n for m in report.variants)
    if has_digest:
        columns.append("digest")
    columns.append("p")
    for column in columns:
        table.add_column(
            column,
            justify="left" if column == "variant" else "right",
            overflow="fold",
        )
    for m in report.variants:
        row = [
            escape(m.variant) + (" *" if m.control else ""),
            str(m.people),
            str(m.replies),
            _rate(m.positive),
            _rate(m.negative),
            _mean(m.reply_chars),
            _rate(m.recommendations),
        ]
        if has_digest:
            row.append(_rate(m.digest) if m.digest is not None else "—")
        row.append("" if m.p_positive_vs_control is None else f"{m.p_positive_vs_control:.3f}")
        table.add_row(*row)
    return table


def chart_name(name: str) -> str:
    return "experiment-" + re.sub(r"[^\w.-]+", "_", name) + ".png"


@app.command()
def report(
    name: Annotated[str | None, typer.Argument(help="One experiment (default: all).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the charts.")] = Path(
        "."
    ),
    chart: Annotated[bool, typer.Option(help="Write a PNG chart per experiment.")] = True,
    config: ConfigOption = None,
) -> None:
    """Per-variant metrics from people's feedback, as a table and a chart."""
    from bot.experiments.report import (
        NoChartData,
        build_report,
        low_sample_warnings,
        write_chart,
    )

    settings, registry = _load(config)
    unknown = ""
    if name is not None:
        try:
            targets: list[Experiment | str] = [registry.get(name)]
        except KeyError as exc:
            targets = [name]  # no longer configured: report from stored assignments
            unknown = str(exc.args[0])
    else:
        targets = list(registry.experiments)
    if not targets:
        console.print("No experiments configured.")
        return

    async def build(db: Database) -> list[ExperimentReport] | None:
        from profiles import stats

        async with db.session() as session:
            if unknown and name not in await stats.experiment_names(session):
                return None
            return [
                await build_report(
                    session,
                    target,
                    consent_opt_out=settings.consent_mode == "opt_out",
                )
                for target in targets
            ]

    reports = _with_db(settings, build)
    if reports is None:
        # Found in the operations audit: an unknown name printed an empty table titled
        # "unknown (not in configuration), running" and exited 0, where `stop` said so.
        err.print(f"[red]{escape(unknown)}[/red], and none stored under that name.")
        raise typer.Exit(1)
    for found in reports:
        if found.description:
            console.print(f"[dim]{escape(found.description)}[/dim]")
        console.print(_table(found))
        for warning in low_sample_warnings(found):
            console.print(f"[yellow]⚠ {escape(warning)}[/yellow]")
        if chart:
            try:
                path = write_chart(found, output / chart_name(found.name))
            except NoChartData as exc:
                console.print(f"no chart: {escape(str(exc))}")
            else:
                console.print(f"chart: {escape(str(path))}")


def _change(config: Path | None, name: str, status: str, variant: str | None = None) -> None:
    from bot.experiments import set_state

    settings, registry = _load(config)
    try:
        experiment = registry.get(name)
        if variant is not None:
            experiment.variant(variant)
    except KeyError as exc:
        err.print(f"[red]{escape(str(exc.args[0]))}[/red]")
        raise typer.Exit(1) from exc

    async def apply(db: Database) -> None:
        async with db.session() as session:
            await set_state(session, experiment.name, status, promoted_variant=variant)

    _with_db(settings, apply)


@app.command()
def stop(name: str, config: ConfigOption = None) -> None:
    """Stop an experiment: everyone gets the control from now on; the report keeps what was
    measured until now."""
    from bot.experiments import STOPPED

    _change(config, name, STOPPED)
    console.print(f"{escape(name)}: stopped — everyone gets the control.")


@app.command()
def promote(name: str, variant: str, config: ConfigOption = None) -> None:
    """Give every consented person VARIANT (explicit preferences still win). Make it the
    default in the templates or settings afterwards, then remove the experiment."""
    from bot.experiments import PROMOTED

    _change(config, name, PROMOTED, variant)
    console.print(f"{escape(name)}: {escape(variant)} promoted — every consented person gets it.")


@app.command()
def resume(name: str, config: ConfigOption = None) -> None:
    """Undo a stop or a promotion; people keep the variants they had."""
    from bot.experiments import RUNNING

    _change(config, name, RUNNING)
    console.print(f"{escape(name)}: running again.")
