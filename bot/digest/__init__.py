"""Scheduled personalised digests (issue 5). See docs/digests.md.

``digests_for(services)`` is the entry point: adapters register a delivery for their platform,
``tailorbot run`` starts the scheduler, commands and the CLI build, preview and run digests.
The feature owns its command: importing the package registers ``/digest``.
"""

from bot.digest import commands as _commands  # noqa: F401  (registers /digest)
from bot.digest.runner import Delivery, RunOutcome, RunSummary
from bot.digest.schedule import Schedule
from bot.digest.service import DigestService, NotAllowed, digests_for, install
from bot.digest.sources import DigestCandidate, DigestSource, GatherContext

__all__ = [
    "Delivery",
    "DigestCandidate",
    "DigestService",
    "DigestSource",
    "GatherContext",
    "NotAllowed",
    "RunOutcome",
    "RunSummary",
    "Schedule",
    "digests_for",
    "install",
]
