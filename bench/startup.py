"""Start-up cost of the ``tailorbot`` command line (issue 12's targets).

Each command runs in a fresh interpreter in an empty folder (fresh SQLite file), several
times; the figures are the median CPU seconds (user + system, from ``wait4``) and wall
seconds. CPU time is the target because wall time on a shared machine measures the
neighbours. ``run`` counts until the terminal chat has answered one scripted message, i.e.
until the bot is ready and has served; its first iteration also creates the schema.
``run ready`` is issue 12's "ready in ≤ 3 s": wall seconds from starting ``tailorbot run``
(embedded defaults: SQLite, no model, the terminal adapter on a pipe) until ``/readyz``
answers 200, polled every 20 ms; its CPU figure is the process's CPU at that moment.

    python -m bench --startup
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: list[tuple[str, list[str], float]] = [
    ("tailorbot --help", ["--help"], 1.5),
    ("tailorbot config", ["config"], 1.5),
    ("tailorbot slack manifest", ["slack", "manifest"], 1.5),
    ("tailorbot run (ready, one reply)", ["run"], 3.0),
]


READY_TARGET_WALL_S = 3.0


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux /proc; clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_ready(cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) from starting ``tailorbot run`` until /readyz says 200."""
    port = _free_port()
    env = {**_environment(), "TAILORBOT_HTTP_PORT": str(port), "TAILORBOT_HTTP_HOST": "127.0.0.1"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "run"],
        cwd=cwd, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    if json.load(r).get("ready") is True:
                        break
            except (urllib.error.URLError, ConnectionError):
                if child.poll() is not None:
                    raise RuntimeError("tailorbot run exited before it was ready") from None
            threading.Event().wait(0.02)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds(child.pid)
    finally:
        assert child.stdin is not None
        child.stdin.close()  # end of input: the terminal adapter stops, the process exits
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return cpu, wall


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
        runs = [measure_ready(cwd) for _ in range(repeat)]
        ready = Figure(
            "tailorbot run (ready: /readyz 200)",
            statistics.median(cpu for cpu, _ in runs),
            statistics.median(wall for _, wall in runs),
            READY_TARGET_WALL_S,
        )
        figures.append(ready)
        verdict = "ok" if ready.wall_s <= READY_TARGET_WALL_S else "OVER"
        print(
            f"{ready.label:<36} cpu {ready.cpu_s:5.2f} s  wall {ready.wall_s:5.2f} s  "
            f"target ≤ {READY_TARGET_WALL_S:.1f} s wall: {verdict}",
            flush=True,
        )
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    return figures
