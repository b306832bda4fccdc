"""The suite's time-shifted pass runs under libfaketime (``make test-shifted``), with the
monotonic clock left real so that timeouts still mean seconds. libfaketime 0.9.10 then makes
``time.sleep`` fail with EINVAL (it rewrites the absolute monotonic deadline of
``clock_nanosleep``). The tests rarely sleep themselves, but the standard library does:
``subprocess.Popen.wait(timeout=…)`` polls with ``time.sleep`` when a child has not quite
exited yet, which turned every test that runs the bot in a subprocess into an intermittent
failure. Under libfaketime only, the test process sleeps on a condition variable instead,
which waits the same time without ``clock_nanosleep``.

The environment is the other thing libfaketime makes fragile: it calls ``getenv`` on every
timed wait on a condition variable, which is how every Python thread waits for the GIL, and
it does so without the GIL. glibc 2.36 (Debian 12) frees the old ``environ`` array when ``setenv``
adds a variable, so a test thread that adds one while another thread waits for the GIL can
crash the interpreter (the likely cause of an xdist worker that died once in CI, in a test
that ran a CLI command through ``CliRunner(env=…)`` in a thread while the event loop served
the fake Discord API; it did not reproduce in about 20 runs of those tests alone).
The environment is therefore only written from the main thread, and the per-test variables
already exist when a test starts, so setting them replaces an entry instead of growing the
array."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable


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


def _main_thread_only(write: Callable[..., None]) -> Callable[..., None]:
    def guarded(*args: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                "a test changed the environment from a worker thread: glibc's setenv races "
                "getenv in other threads (see tests/support/faketime.py); run the command "
                "as a subprocess with env= instead"
            )
        write(*args)

    return guarded


def environment_writes_on_the_main_thread_only() -> None:
    """Make ``os.environ`` assignments and deletions fail off the main thread, in every pass:
    the race is rarer without libfaketime (any C code that reads the environment without
    the GIL), not absent."""
    os.putenv = _main_thread_only(os.putenv)  # os.environ looks both up at each call
    os.unsetenv = _main_thread_only(os.unsetenv)
