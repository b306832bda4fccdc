"""Libraries that write the process environment as they load, loaded before any thread.

numpy sets and removes ``OPENBLAS_MAIN_FREE`` while it imports; threadpoolctl (which implicit
loads for the digest's similar-people signal) sets ``KMP_DUPLICATE_LIB_OK``. Loaded where they
are first needed — the lexicon warm-up's thread, the thread that fits the digest's model —
they call ``setenv`` while other threads run, and glibc 2.36 (Debian 12) may free the environment
array under a ``getenv`` running without the GIL in another thread (the resolver's settings
in ``getaddrinfo``, libpq's ``PG*`` variables, libfaketime in the test suite): a rare crash of
the whole process. Loaded once at start, when the process has one thread, they cost ~0.1 s
that the warm-up would have spent anyway.
"""

from __future__ import annotations

import importlib

ENVIRONMENT_WRITERS = ("numpy", "threadpoolctl")


def load_environment_writers() -> None:
    """Call on the main thread before the event loop (and any thread) starts."""
    for name in ENVIRONMENT_WRITERS:
        importlib.import_module(name)
