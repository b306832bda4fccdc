"""What the ``tailorbot`` entry point loads: heavy libraries (numpy, scipy, matplotlib,
implicit, yake, lingua, the model SDKs) must load where they are used, never for ``--help``
or the quick commands. Each case runs in a fresh interpreter, since this process has long
imported everything. (Speed itself is measured by ``python -m bench --startup``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

NUMERIC = {"numpy", "scipy", "matplotlib", "implicit"}
TEXT = {"yake", "lingua", "networkx", "wordfreq", "lemminflect", "simplemma", "vaderSentiment",
        "emoji"}
SDKS = {"anthropic", "openai", "discord", "slack_bolt"}

# Runs the real Typer app with the given arguments, then reports which top-level packages
# are in sys.modules.
PROBE = """
import json, sys
from adapters.cli.main import app
try:
    app(sys.argv[1:], prog_name="tailorbot")
except SystemExit:
    pass
roots = sorted({name.split(".")[0] for name in sys.modules})
sys.stderr.write("\\nMODULES=" + json.dumps(roots) + "\\n")
"""


def loaded(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("ANTHROPIC_API_KEY", "TAILORBOT_OPENAI_BASE_URL", "SLACK_BOT_TOKEN",
                "DISCORD_BOT_TOKEN"):
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    marker = done.stderr.rindex("MODULES=")
    return set(json.loads(done.stderr[marker + len("MODULES="):])), done.stdout


def test_help_loads_neither_the_core_nor_heavy_libraries(tmp_path: Path) -> None:
    modules, out = loaded(tmp_path, "--help")
    assert "experiments" in out and "slack" in out  # the real help, every group mounted
    assert not modules & (NUMERIC | TEXT | SDKS)
    assert "sqlalchemy" not in modules and "bot" not in modules


@pytest.mark.parametrize(
    "args", [["config"], ["slack", "manifest"], ["digest", "--help"], ["users", "--help"]]
)
def test_quick_commands_load_no_heavy_library(tmp_path: Path, args: list[str]) -> None:
    modules, out = loaded(tmp_path, *args)
    assert out.strip()  # the command did its work
    assert not modules & (NUMERIC | TEXT | SDKS), sorted(modules & (NUMERIC | TEXT | SDKS))


@pytest.mark.parametrize(
    ("args", "shows"), [(["config"], "database_url"), (["slack", "manifest"], "slash_commands")]
)
def test_quick_commands_do_not_touch_the_database_layer(
    tmp_path: Path, args: list[str], shows: str
) -> None:
    """The ORM alone costs about a CPU-second: `config` and `slack manifest` need none of it
    (the manifest reads command texts from bot.command_catalog, not the handlers)."""
    modules, out = loaded(tmp_path, *args)
    assert shows in out
    assert not modules & {"sqlalchemy", "sqlmodel", "alembic"}, sorted(modules)


def test_the_core_and_runners_load_without_numeric_or_text_libraries(tmp_path: Path) -> None:
    """What `tailorbot run` imports before it is ready: the core, the digest scheduler and
    both platform runners; numpy & co. wait for the first model fit, yake for the first
    message, scipy for the first experiment report. (numpy and threadpoolctl themselves are
    loaded by ``adapters/cli/runtime.run_async`` just before a command's event loop starts —
    they write the environment as they load, see bot/environment_writers.py — never by
    importing these.)"""
    probe = (
        "import sys, json\n"
        "import bot.app, bot.digest, adapters.terminal\n"
        "import adapters.slack.runner, adapters.discord.runner\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    modules = set(json.loads(done.stdout))
    assert not modules & (NUMERIC | TEXT | {"anthropic", "openai"})
