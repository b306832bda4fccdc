"""Once :func:`load_environment_writers` has run on the main thread, the libraries the bot
loads later in threads (the lexicon warm-up, extraction with ``extract_workers = 0``, the
digest's model fit, experiment statistics) write nothing into the process environment from
those threads (bot/environment_writers.py says why that matters). In a fresh interpreter:
this one loaded them long ago."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, threading
writes = []
real_putenv, real_unsetenv = os.putenv, os.unsetenv
def traced(real):
    def call(*args):
        writes.append([threading.current_thread().name, str(args[0])])
        real(*args)
    return call
os.putenv, os.unsetenv = traced(real_putenv), traced(real_unsetenv)

from bot.environment_writers import load_environment_writers
load_environment_writers()

def load_lazily():
    from bot.services import _load_own_lexicons
    _load_own_lexicons()
    import implicit.nearest_neighbours, lingua, scipy.sparse, scipy.stats, simplemma
    import wordfreq, yake

thread = threading.Thread(target=load_lazily, name="worker")
thread.start()
thread.join()
print(json.dumps([w for w in writes if w[0] != "MainThread"]))
"""


# What the libraries write when it is not there yet: absent, so that their writes would show.
WRITTEN = ("OPENBLAS_MAIN_FREE", "GOTOBLAS_MAIN_FREE", "KMP_DUPLICATE_LIB_OK")


def without(environment: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {key: value for key, value in environment.items() if key not in names}


def test_nothing_loaded_later_in_a_thread_writes_the_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=100,
        env={**without(os.environ, WRITTEN), "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
