"""Experiments over the real database fixtures (SQLite and PostgreSQL)."""

import datetime as dt

import pytest

from bot.experiments import ExperimentRegistry, parse_experiments
from profiles.engine import PersonKey
from profiles.models import ConsentStatus

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)

CONFIG = {
    "short_replies": {
        "kind": "prompt",
        "description": "brief by default: more 👍?",
        "variants": {
            "control": {},
            "brief": {"preferences": {"verbosity": "brief"}},
        },
    },
    "focused_ranking": {
        "kind": "ranking",
        "variants": {
            "control": {},
            "focused": {"ranking": {"diversity": 1.0, "collaborative_weight": 1.0}},
        },
    },
}


@pytest.fixture
def registry(tmp_path) -> ExperimentRegistry:
    return parse_experiments(CONFIG, base=tmp_path, source="test")


async def make_person(core, user: str, *, consent: bool = True):
    async with core.services.db.session() as session:
        person = await core.services.engine.person(session, PersonKey("test", "W1", user))
        if consent:
            await core.services.engine.set_consent(session, person.id, ConsentStatus.GRANTED, T0)
        return person
