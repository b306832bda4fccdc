"""Who gets which variant.

* **Deterministic**: a person's bucket is sha256("experiment/platform/workspace/user") read as
  a number in [0, 1). It depends only on the experiment and the person's identity, so every
  worker, and a re-created database, computes the same answer.
* **Sticky**: the first assignment is stored (``experiment_assignment``) and read back from
  then on, so editing weights or adding a variant never moves someone mid-experiment.
* **Consent only**: people who have not allowed learning are never assigned, never stored and
  never counted; they receive exactly what they would without experiments (the control).
* **Explicit preferences win**: a variant's preference defaults apply only where the person
  set nothing explicit (:meth:`Variant.apply_preferences`).

``traffic`` < 1 enrols only that share of consented people; the rest are not assigned either.
A stopped experiment gives everyone the control; a promoted one gives every consented person
the promoted variant (still under their explicit preferences).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.experiments.config import Experiment, ExperimentRegistry, Variant, load_experiments
from profiles.experiment_models import ExperimentAssignment, ExperimentState
from profiles.models import Person, table_of, utcnow
from profiles.upsert import insert_for

RUNNING, STOPPED, PROMOTED = "running", "stopped", "promoted"


def bucket(experiment: str, identity: str) -> float:
    """A stable, uniform number in [0, 1) for (experiment, person)."""
    digest = hashlib.sha256(f"{experiment}/{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def identity_of(person: Person) -> str:
    return f"{person.platform}/{person.workspace}/{person.user_id}"


def choose(experiment: Experiment, identity: str) -> Variant | None:
    """The variant the hash picks, or None when the person falls outside ``traffic``."""
    point = bucket(experiment.name, identity)
    if point >= experiment.traffic:
        return None
    position = point / experiment.traffic * sum(v.weight for v in experiment.variants)
    for variant in experiment.variants:
        if position < variant.weight:
            return variant
        position -= variant.weight
    return experiment.variants[-1]


async def state_of(session: AsyncSession, name: str) -> ExperimentState:
    row = await session.get(ExperimentState, name)
    return row if row is not None else ExperimentState(name=name, status=RUNNING)


async def set_state(
    session: AsyncSession,
    name: str,
    status: str,
    *,
    promoted_variant: str | None = None,
    at: dt.datetime | None = None,
) -> ExperimentState:
    row = await session.get(ExperimentState, name)
    if row is None:
        row = ExperimentState(name=name)
    row.status = status
    row.promoted_variant = promoted_variant
    row.changed_at = at or utcnow()
    session.add(row)
    return row


async def assignment(
    session: AsyncSession, person: Person, experiment: Experiment, *, now: dt.datetime
) -> Variant | None:
    """The person's stored variant, or a new one chosen by hash and stored (race-free: the
    unique key means two workers agree on the first insert)."""
    assert person.id is not None
    found = await session.exec(
        select(ExperimentAssignment.variant).where(
            ExperimentAssignment.person_id == person.id,
            ExperimentAssignment.experiment == experiment.name,
        )
    )
    name = found.first()
    if name is None:
        chosen = choose(experiment, identity_of(person))
        if chosen is None:
            return None
        stmt = insert_for(session, table_of(ExperimentAssignment)).values(
            person_id=person.id, experiment=experiment.name, variant=chosen.name, assigned_at=now
        )
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["person_id", "experiment"]))
        found = await session.exec(
            select(ExperimentAssignment.variant).where(
                ExperimentAssignment.person_id == person.id,
                ExperimentAssignment.experiment == experiment.name,
            )
        )
        name = found.first() or chosen.name
    try:
        return experiment.variant(name)
    except KeyError:  # the variant was removed from the configuration: back to the control
        return experiment.control


@functools.lru_cache(maxsize=1)
def default_registry() -> ExperimentRegistry:
    """Loaded once per process (``TAILORBOT_EXPERIMENTS_FILE`` or ./tailorbot.toml)."""
    return load_experiments(None)


def use_registry_file(path: Path | None) -> ExperimentRegistry:
    """Reload the process-wide registry (e.g. from ``--config``)."""
    default_registry.cache_clear()
    registry = load_experiments(path)
    default_registry.cache_clear()
    _override.clear()
    _override.append(registry)
    return registry


_override: list[ExperimentRegistry] = []


def current_registry() -> ExperimentRegistry:
    return _override[-1] if _override else default_registry()


async def variant_for(
    session: AsyncSession,
    person: Person,
    consented: bool,
    experiment_kind: str,
    *,
    registry: ExperimentRegistry | None = None,
    now: dt.datetime | None = None,
) -> Variant | None:
    """What the core should apply for this person and kind (``prompt`` or ``ranking``).

    None means "no experiment applies: do exactly what you do today" — for people who have
    not allowed learning, people outside the traffic share, unsaved people (no id), and when
    nothing of that kind is configured. A control variant also changes nothing; it is
    returned so callers can log or display the assignment.
    """
    if not consented or person.id is None or person.id < 0:
        return None
    registry = registry if registry is not None else current_registry()
    for experiment in registry.of_kind(experiment_kind):
        state = await state_of(session, experiment.name)
        if state.status == STOPPED:
            return None
        if state.status == PROMOTED and state.promoted_variant:
            try:
                return experiment.variant(state.promoted_variant)
            except KeyError:
                return None
        return await assignment(session, person, experiment, now=now or utcnow())
    return None
