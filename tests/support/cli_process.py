"""Run ``tailorbot …`` as a person does: in its own process, with its environment given at
start rather than written into the test process (see tests/support/faketime.py for why that
matters), while the test's event loop goes on serving the fake platform API it talks to."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliRun:
    exit_code: int
    output: str  # standard output and standard error, interleaved as a terminal shows them


LIMIT_SECONDS = 90  # below the suite's per-test limit, so a hung command is killed, not left


async def run_tailorbot(*args: str, env: Mapping[str, str]) -> CliRun:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", *args, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(LIMIT_SECONDS):
            out, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliRun(process.returncode, out.decode())
