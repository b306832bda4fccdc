"""The contract a feature (digests, held exchanges, an adapter's home view) signs with the core,
like a Red-DiscordBot cog: a name, start/close, and the moments it may act on.

Why a contract instead of hook lists: features used to append anonymous callables to the
core's ``deletion_hooks``, ``preference_hooks``, ``observers`` … and set attributes on it. A
failing hook then broke the others and nobody could say which deletion failed. Here every
feature is registered once, by name, in the composition root (bot/app.py); each call fans
out to all of them with failures isolated and, for deletion, reported by feature name so
``/forget`` can tell the person what could not be deleted.

The schema-driven deletion of a person's rows stays in profiles/privacy.py: a feature only
handles what lives outside the person tables (scheduled jobs, caches, quotes in other
people's rows).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.events import MessageEvent, PersonRef
from profiles.models import Person
from profiles.signals import MessageSignals

log = logging.getLogger(__name__)


@runtime_checkable
class Feature(Protocol):
    name: str

    async def start(self) -> None:
        """Begin background work (schedulers); called by ``tailorbot run``."""

    async def close(self) -> None:
        """Settle and stop background work, so a short-lived process exits cleanly."""

    async def observe(
        self, session: AsyncSession, person: Person, event: MessageEvent, signals: MessageSignals
    ) -> None:
        """A consented author's channel message, inside the observing transaction: the
        learner's batch, which on SQLite runs whole in the database's worker thread
        (``Database.in_one_call``), so this may only add rows or await statements on
        ``session`` — no task, lock, sleep or other session (anything else fails the batch's
        items). On PostgreSQL the batch's writes are queued to go out together after this
        (profiles/write_queue.py): a statement this runs on ``session`` runs before them;
        a write that queues (``ManyRows.send_later``) goes with them."""

    async def on_preference_changed(self, person: Person, key: str | None) -> None:
        """After a preference change committed (``key`` None: all were reset)."""

    async def on_person_changed(self, ref: PersonRef) -> None:
        """After a command or button changed what a person can see about themselves."""

    async def on_workspace_changed(
        self, platform: str, workspace: str, by: PersonRef | None
    ) -> None:
        """After an admin's change to a workspace (defaults, excluded channels) committed:
        what the workspace's other admins see changed too. ``by``: who made it."""

    async def erase(self, session: AsyncSession, person: Person) -> None:
        """Inside the /forget transaction, before the person's rows go: remove or redact
        what *other* people's rows quote of them."""

    async def delete_person_data(self, person: Person) -> None:
        """After /forget or a consent revocation committed: remove what the feature keeps
        about the person outside the tables. Raise if something could not be deleted."""

    async def delete_workspace_data(self, platform: str, workspace: str) -> None:
        """After the bot was removed from a workspace and its people were forgotten: remove
        what the feature keeps about anyone of it outside the tables — people without a row
        included (their words in a cache), whom no per-person deletion reaches."""


class FeatureBase:
    """Does nothing at every moment: a feature overrides the ones it cares about."""

    name = "feature"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def observe(
        self, session: AsyncSession, person: Person, event: MessageEvent, signals: MessageSignals
    ) -> None:
        return None

    async def on_preference_changed(self, person: Person, key: str | None) -> None:
        return None

    async def on_person_changed(self, ref: PersonRef) -> None:
        return None

    async def on_workspace_changed(
        self, platform: str, workspace: str, by: PersonRef | None
    ) -> None:
        return None

    async def erase(self, session: AsyncSession, person: Person) -> None:
        return None

    async def delete_person_data(self, person: Person) -> None:
        return None

    async def delete_workspace_data(self, platform: str, workspace: str) -> None:
        return None


class FeatureFailed(Exception):
    """A feature failed inside a transaction (``erase``): the transaction must roll back as a
    whole, and whoever asked is told which feature failed."""

    def __init__(self, feature: str) -> None:
        super().__init__(f"feature {feature!r} failed")
        self.feature = feature


@dataclass
class DeletionReport:
    """What a fan-out of ``delete_person_data`` could not do, by feature name."""

    failed: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


class Features:
    """The registered features, in registration order; one name, one feature."""

    def __init__(self) -> None:
        self._by_name: dict[str, Feature] = {}

    def register(self, feature: Feature) -> Feature:
        if feature.name in self._by_name:
            raise ValueError(f"a feature named {feature.name!r} is already registered")
        self._by_name[feature.name] = feature
        return feature

    def unregister(self, name: str) -> None:
        self._by_name.pop(name, None)

    def get(self, name: str) -> Feature | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Feature]:
        return iter(list(self._by_name.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    async def start(self) -> None:
        for feature in self:
            await feature.start()

    async def close(self) -> None:
        """Every feature closes even if one fails (the failure is logged)."""
        for feature in self:
            try:
                await feature.close()
            except Exception:
                log.exception("feature %s failed to close", feature.name)

    async def observe(
        self, session: AsyncSession, person: Person, event: MessageEvent, signals: MessageSignals
    ) -> None:
        # Not isolated on purpose: it runs inside the observing transaction, which a failure
        # must roll back (the event is then not marked processed and can be retried).
        for feature in self:
            await feature.observe(session, person, event, signals)

    async def erase(self, session: AsyncSession, person: Person) -> None:
        # Inside the /forget transaction: a failure aborts the erasure as a whole, so
        # nothing is half-deleted, and the person is told which feature failed.
        for feature in self:
            try:
                await feature.erase(session, person)
            except Exception as exc:
                log.exception("feature %s could not erase person %s", feature.name, person.id)
                raise FeatureFailed(feature.name) from exc

    async def preference_changed(self, person: Person, key: str | None) -> None:
        for feature in self:
            try:
                await feature.on_preference_changed(person, key)
            except Exception:
                log.exception("feature %s failed on a preference change", feature.name)

    async def person_changed(self, ref: PersonRef) -> None:
        for feature in self:
            try:
                await feature.on_person_changed(ref)
            except Exception:
                log.exception("feature %s failed on a person change", feature.name)

    async def workspace_changed(
        self, platform: str, workspace: str, by: PersonRef | None = None
    ) -> None:
        for feature in self:
            try:
                await feature.on_workspace_changed(platform, workspace, by)
            except Exception:
                log.exception("feature %s failed on a workspace change", feature.name)

    async def delete_workspace_data(self, platform: str, workspace: str) -> DeletionReport:
        """:meth:`delete_person_data` for a whole workspace."""
        report = DeletionReport()
        for feature in self:
            try:
                await feature.delete_workspace_data(platform, workspace)
            except Exception:
                log.exception("feature %s could not delete workspace %s", feature.name,
                              workspace)
                report.failed.append(feature.name)
        return report

    async def delete_person_data(self, person: Person) -> DeletionReport:
        """Ask every feature, even after one failed; say which ones failed."""
        report = DeletionReport()
        for feature in self:
            try:
                await feature.delete_person_data(person)
            except Exception:
                log.exception("feature %s could not delete person %s", feature.name, person.id)
                report.failed.append(feature.name)
        return report
