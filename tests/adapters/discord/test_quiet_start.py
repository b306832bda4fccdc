"""Start-up says nothing an operator cannot act on: no voice-library warnings (a text bot
never joins voice). A fresh interpreter, because simcord, imported by this folder's
conftest, already silences them in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import asyncio, logging
logging.basicConfig(level=logging.WARNING)
import discord
import adapters.discord.client

async def main():
    client = discord.Client(intents=discord.Intents.default())
    await client.close()

asyncio.run(main())
"""


def test_a_discord_client_starts_without_voice_warnings() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    assert "voice" not in done.stderr, done.stderr
