"""``python -m bench --stages`` (bench/stages.py): every stage of a DM is timed, the figures
add up, and the statements are counted where they are sent — the reply's apart from the
learning batch after it."""

from __future__ import annotations

import statistics

from bench.stages import (
    BETWEEN,
    LEARNING,
    STAGE_NAMES,
    TOTAL,
    format_stages,
    measure_stages,
)

# Stages every answered DM of a person with a profile goes through (the model is the
# "none" backend, which answers at once; extraction runs in a worker or a thread). The
# bench's people are steady senders on SQLite: read and claimed in one call, not through
# the claim's session ("sender read + touch", "claim").
ALWAYS = {
    "steady: read + claim", "consent gate", "learn", "profile + history read",
    "profile snapshot", "assembly (rest)", "prompt render", "record",
}


async def test_every_stage_of_a_dm_is_timed_and_the_figures_add_up() -> None:
    figures = await measure_stages("sqlite", n_people=20, n_dms=6, preload=0)
    per_dm = figures.per_dm_us
    assert set(per_dm) == set(STAGE_NAMES) | {BETWEEN, TOTAL, LEARNING}
    assert all(len(values) == 6 for values in per_dm.values())
    for name in ALWAYS:
        assert statistics.fmean(per_dm[name]) > 0, name
    for i in range(6):  # stages are exclusive of each other: they sum to the total
        parts = sum(per_dm[name][i] for name in STAGE_NAMES) + per_dm[BETWEEN][i]
        assert abs(parts - per_dm[TOTAL][i]) < 1.0
    assert statistics.fmean(per_dm[LEARNING]) > 0  # the batch with what each DM taught
    assert 0 < figures.statements_per_dm <= 8  # issue 16's goal for a reply
    assert figures.learning_statements_per_dm >= 4  # signal, interest, trait, style
    text = format_stages(figures)
    assert "learning batch (after)" in text and "statements per DM" in text
