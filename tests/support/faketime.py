"""The suite's time-shifted pass runs under libfaketime (``make test-shifted``), with the
monotonic clock left real so that timeouts still mean seconds. libfaketime 0.9.10 then makes
``time.sleep`` fail with EINVAL (it rewrites the absolute monotonic deadline of
``clock_nanosleep``). The tests rarely sleep themselves, but the standard library does:
``subprocess.Popen.wait(timeout=…)`` polls with ``time.sleep`` when a child has not quite
exited yet, which turned every test that runs the bot in a subprocess into an intermittent
failure. Under libfaketime only, the test process sleeps on a condition variable instead,
which waits the same time without ``clock_nanosleep``."""

from __future__ import annotations

import os
import threading
import time


def under_faketime() -> bool:
    return "faketime" in os.environ.get("LD_PRELOAD", "")


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


def mend_sleep() -> None:
    """Replace ``time.sleep`` in this process when libfaketime is preloaded."""
    if under_faketime():
        time.sleep = _sleep
