"""Start-up cost of the ``tailorbot`` command line (issue 12's targets).

Each command runs in a fresh interpreter in an empty folder (fresh SQLite file), several
times; the figures are the median CPU seconds (user + system, from ``wait4``) and wall
seconds. CPU time is the target because wall time on a shared machine measures the
neighbours. ``run`` counts until the terminal chat has answered one scripted message, i.e.
until the bot is ready and has served; its first iteration also creates the schema.

    python -m bench --startup
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: list[tuple[str, list[str], float]] = [
    ("tailorbot --help", ["--help"], 1.5),
    ("tailorbot config", ["config"], 1.5),
    ("tailorbot slack manifest", ["slack", "manifest"], 1.5),
    ("tailorbot run (ready, one reply)", ["run"], 3.0),
]


@dataclass(frozen=True)
class Figure:
    label: str
    cpu_s: float
    wall_s: float
    target_cpu_s: float

    def line(self) -> str:
        verdict = "ok" if self.cpu_s <= self.target_cpu_s else "OVER"
        return (
            f"{self.label:<36} cpu {self.cpu_s:5.2f} s  wall {self.wall_s:5.2f} s  "
            f"target ≤ {self.target_cpu_s:.1f} CPU-s: {verdict}"
        )


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("ANTHROPIC_API_KEY", "TAILORBOT_OPENAI_BASE_URL", "SLACK_BOT_TOKEN",
                "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN",
                "TAILORBOT_DATABASE_URL"):
        env.pop(key, None)
    return env


def measure_once(args: list[str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one ``python -m adapters.cli ARGS`` run."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=cwd,
        env=_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdin is not None
    child.stdin.write(b"hello\n" if args == ["run"] else b"")
    child.stdin.close()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"tailorbot {' '.join(args)} exited with {child.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def run_startup(repeat: int = 5) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="tailorbot-startup-") as folder:
        cwd = Path(folder)
        for label, args, target in COMMANDS:
            measure_once(args, cwd)  # warm the page cache (and create the schema for `run`)
            runs = [measure_once(args, cwd) for _ in range(repeat)]
            figures.append(
                Figure(
                    label,
                    statistics.median(cpu for cpu, _ in runs),
                    statistics.median(wall for _, wall in runs),
                    target,
                )
            )
            print(figures[-1].line(), flush=True)
    return figures
