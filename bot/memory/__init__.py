"""Explicit memories and linked identities (issue 14), a feature (``feature.MemoryFeature``).

``intent`` turns "remember that …" / "forget that …" into the ``/memory`` command, so a
sentence and the command share one code path (and work with no model); ``commands`` holds
``/memory``, ``links`` ``/link`` (the feature owns its commands: importing the package
registers both); ``prompt`` gives the prompt what the person asked to be remembered. The
model's tools over memories are in bot/pipeline/tools.py.
"""

from bot.memory import commands as _commands  # noqa: F401  (registers /memory)
from bot.memory import links as _links  # noqa: F401  (registers /link)
