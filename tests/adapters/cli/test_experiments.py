"""`tailorbot experiments …` end to end on a real SQLite file."""

from typer.testing import CliRunner

from adapters.cli.experiments import app, chart_name


def seed_assignments(sqlite_url: str) -> None:
    """The report test's people, assignments and outcomes (tests/bot/experiments), stored
    through a core on the database the command will read."""
    import asyncio

    from bot.config import Settings
    from bot.core import Core
    from bot.llm import ScriptedBackend
    from profiles.db import Database
    from tests.bot.experiments.test_report import seed

    async def seeded() -> None:
        settings = Settings(database_url=sqlite_url, auto_migrate=False, _env_file=None)
        core = Core(settings, Database(sqlite_url), ScriptedBackend())
        await seed(core, None)
        await core.services.db.dispose()

    asyncio.run(seeded())


def test_cli_report_stop_promote(sqlite_url, tmp_path, monkeypatch):
    config = tmp_path / "tailorbot.toml"
    config.write_text(
        f'database_url = "{sqlite_url}"\n'
        "[experiments.short_replies]\n"
        'kind = "prompt"\n'
        "[experiments.short_replies.variants]\n"
        "control = {}\n"
        'brief = { preferences = { verbosity = "brief" } }\n'
    )
    monkeypatch.delenv("TAILORBOT_EXPERIMENTS_FILE", raising=False)
    runner = CliRunner()
    out = tmp_path / "charts"
    result = runner.invoke(app, ["report", "short_replies", "-o", str(out), "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "short_replies" in result.output and "brief" in result.output
    # nothing measured yet: no chart of empty panels on an invented axis
    assert "no chart" in result.output and not (out / chart_name("short_replies")).exists()
    result = runner.invoke(app, ["promote", "short_replies", "nope", "-c", str(config)])
    assert result.exit_code == 1
    result = runner.invoke(app, ["promote", "short_replies", "brief", "-c", str(config)])
    assert result.exit_code == 0 and "promoted" in result.output
    result = runner.invoke(app, ["list", "-c", str(config)])
    assert "promoted" in result.output
    result = runner.invoke(app, ["stop", "short_replies", "-c", str(config)])
    assert result.exit_code == 0
    assert "stopped" in runner.invoke(app, ["list", "-c", str(config)]).output


def test_report_fits_80_columns_with_p_values_and_a_low_sample_warning(
    sqlite_url, tmp_path, monkeypatch
):
    seed_assignments(sqlite_url)
    config = tmp_path / "tailorbot.toml"
    config.write_text(
        f'database_url = "{sqlite_url}"\n'
        "[experiments.short_replies]\n"
        'kind = "prompt"\n'
        'description = "brief by default: more likes?"\n'
        "[experiments.short_replies.variants]\n"
        "control = {}\n"
        'brief = { preferences = { verbosity = "brief" } }\n'
    )
    monkeypatch.delenv("TAILORBOT_EXPERIMENTS_FILE", raising=False)
    out = tmp_path / "charts"
    result = CliRunner().invoke(
        app, ["report", "short_replies", "-o", str(out), "-c", str(config)],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.output  # nothing cut
    header = next(line for line in lines if "variant" in line)
    assert header.split()[-1] == "p"  # the p-value column
    rows = lines[lines.index(header) + 1 :]
    brief = next(line for line in rows if line.strip().startswith("brief"))
    assert brief.split()[-1] == "0.083"  # 2/2 liked vs 1/4 in the control
    assert "brief has 1 person (fewer than 30)" in " ".join(result.output.split())
    assert (out / chart_name("short_replies")).is_file()



def test_report_of_an_unknown_name_says_so_and_exits_1(sqlite_url, tmp_path, monkeypatch):
    """It printed an empty table titled "unknown (not in configuration), running" and exited
    0, where `stop` of the same name says so and exits 1 (operations audit). A name no longer
    configured but with stored assignments is still reported."""
    seed_assignments(sqlite_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAILORBOT_EXPERIMENTS_FILE", raising=False)
    config = tmp_path / "tailorbot.toml"
    config.write_text(f'database_url = "{sqlite_url}"\n')
    runner = CliRunner()
    unknown = runner.invoke(app, ["report", "nosuch", "--no-chart", "-c", str(config)])
    assert unknown.exit_code == 1, unknown.output
    assert "no experiment named 'nosuch'" in unknown.output
    assert "none stored under that name" in unknown.output
    assert "variant" not in unknown.output  # no empty table
    stored = runner.invoke(app, ["report", "short_replies", "--no-chart", "-c", str(config)])
    assert stored.exit_code == 0, stored.output
    assert "not in configuration" in stored.output and "brief" in stored.output


def test_list_without_experiments_names_the_table_to_add(tmp_path, monkeypatch):
    """rich took "[experiments]" for markup: "add an  table to tailorbot.toml"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAILORBOT_EXPERIMENTS_FILE", raising=False)
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert "add an [experiments] table to tailorbot.toml" in result.output
