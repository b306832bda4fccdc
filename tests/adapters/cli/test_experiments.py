"""`tailorbot experiments …` end to end on a real SQLite file."""

from typer.testing import CliRunner

from adapters.cli.experiments import app, chart_name


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
    assert (out / chart_name("short_replies")).is_file()
    result = runner.invoke(app, ["promote", "short_replies", "nope", "-c", str(config)])
    assert result.exit_code == 1
    result = runner.invoke(app, ["promote", "short_replies", "brief", "-c", str(config)])
    assert result.exit_code == 0 and "promoted" in result.output
    result = runner.invoke(app, ["list", "-c", str(config)])
    assert "promoted" in result.output
    result = runner.invoke(app, ["stop", "short_replies", "-c", str(config)])
    assert result.exit_code == 0
    assert "stopped" in runner.invoke(app, ["list", "-c", str(config)]).output
