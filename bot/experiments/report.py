"""Per-variant metrics from the feedback the bot already collects, and a chart of them.

For each assigned person, only what happened *after* their assignment and *before* the
experiment was stopped or promoted counts, and only people who currently allow learning are
counted (someone who revokes consent drops out of the report). Metrics:

* **👍 rate / 👎 rate** — share of the bot's replies (assistant conversation turns) that got
  at least one positive / negative reaction or button (``feedback`` rows), Wilson intervals;
* **reply length** — characters per reply, t interval (a verbosity variant should move it);
* **recommendations kept** — share of ``/recommend`` items later liked or marked done;
* **digest engagement** — share of digest items opened, engaged with or marked "more like
  this", when the digest tables exist.

Replies from one person are not independent; with many people and few replies each the
intervals are close, but a heavy user can dominate a small experiment — the table shows the
number of people next to every rate for that reason.

Everything is aggregated in SQL (counts and sums), so a report over 100k people reads a few
rows per variant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

import profiles.models as models
from bot.experiments.assign import PROMOTED, STOPPED, state_of
from bot.experiments.config import Experiment
from bot.experiments.stats import (
    Interval,
    mean_interval_from_sums,
    two_proportion_p,
    wilson,
)
from profiles.experiment_models import ExperimentAssignment
from profiles.models import Consent, ConsentStatus, ConversationTurn, Feedback, Recommendation


@dataclass(frozen=True, slots=True)
class VariantMetrics:
    variant: str
    control: bool
    people: int
    replies: int
    positive: Interval
    negative: Interval
    reply_chars: Interval
    recommendations: Interval
    digest: Interval | None
    p_positive_vs_control: float | None = None


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    name: str
    kind: str
    description: str
    status: str
    promoted_variant: str | None
    variants: list[VariantMetrics] = field(default_factory=list)
    window_end: dt.datetime | None = None

    @property
    def people(self) -> int:
        return sum(v.people for v in self.variants)


def _consented(consent_opt_out: bool) -> ColumnElement[bool]:
    allowed = [ConsentStatus.GRANTED.value]
    if consent_opt_out:
        allowed.append(ConsentStatus.UNKNOWN.value)
    return col(Consent.status).in_(allowed)


async def build_report(
    session: AsyncSession,
    experiment: Experiment | str,
    *,
    consent_opt_out: bool = False,
) -> ExperimentReport:
    """Metrics of every variant of ``experiment`` (its name alone works for an experiment no
    longer in the configuration: variants then come from the stored assignments)."""
    name = experiment if isinstance(experiment, str) else experiment.name
    state = await state_of(session, name)
    end = state.changed_at if state.status in (STOPPED, PROMOTED) else None
    a = ExperimentAssignment
    base = (
        select(col(a.variant))
        .join(Consent, col(Consent.person_id) == col(a.person_id))
        .where(col(a.experiment) == name, _consented(consent_opt_out))
    )
    counted = base.add_columns(func.count()).group_by(col(a.variant))
    people = {v: int(n) for v, n in (await session.exec(counted)).all()}  # type: ignore[call-overload]

    def window(created: Any) -> ColumnElement[bool]:
        condition = created >= a.assigned_at
        return and_(condition, created < end) if end is not None else condition

    turn = ConversationTurn
    length = func.length(turn.text)

    def feedback_on(positive: bool) -> Any:
        value = col(Feedback.value) > 0 if positive else col(Feedback.value) < 0
        return case((exists().where(col(Feedback.turn_id) == col(turn.id), value), 1), else_=0)

    replies_stmt = (
        base.add_columns(
            func.count(col(turn.id)),
            func.sum(feedback_on(True)),
            func.sum(feedback_on(False)),
            func.sum(length),
            func.sum(length * length),
        )
        .join(turn, col(turn.person_id) == col(a.person_id))
        .where(col(turn.role) == "assistant", window(turn.created_at))
        .group_by(col(a.variant))
    )
    replies = {row[0]: row[1:] for row in (await session.exec(replies_stmt)).all()}  # type: ignore[call-overload]
    rec = Recommendation
    kept = case((col(rec.status).in_(("liked", "done")), 1), else_=0)
    rec_stmt = (
        base.add_columns(func.count(col(rec.id)), func.sum(kept))
        .join(rec, col(rec.person_id) == col(a.person_id))
        .where(window(rec.created_at))
        .group_by(col(a.variant))
    )
    recs = {row[0]: row[1:] for row in (await session.exec(rec_stmt)).all()}  # type: ignore[call-overload]
    digests: dict[str, Any] | None = None
    item = getattr(models, "DigestItem", None)
    if item is not None:
        engaged = case(
            (
                or_(
                    col(item.feedback) > 0,
                    col(item.engaged_at).is_not(None),
                    col(item.opened_at).is_not(None),
                ),
                1,
            ),
            else_=0,
        )
        digest_stmt = (
            base.add_columns(func.count(col(item.id)), func.sum(engaged))
            .join(item, col(item.person_id) == col(a.person_id))
            .where(window(item.created_at))
            .group_by(col(a.variant))
        )
        digests = {row[0]: row[1:] for row in (await session.exec(digest_stmt)).all()}  # type: ignore[call-overload]

    if isinstance(experiment, str):
        names = sorted(people)
        control_name = "control" if "control" in people else (names[0] if names else "")
        kind, description = "unknown (not in configuration)", ""
    else:
        names = [v.name for v in experiment.variants]
        names += sorted(set(people) - set(names))  # removed from the config but still stored
        control_name = experiment.control.name
        kind, description = experiment.kind, experiment.description
    metrics: list[VariantMetrics] = []
    for variant in names:
        n, pos, neg, chars, squares = replies.get(variant, (0, 0, 0, 0, 0))
        rec_n, rec_kept = recs.get(variant, (0, 0))
        digest = None
        if digests is not None:
            d_n, d_engaged = digests.get(variant, (0, 0))
            digest = wilson(int(d_engaged or 0), int(d_n or 0))
        metrics.append(
            VariantMetrics(
                variant=variant,
                control=variant == control_name,
                people=people.get(variant, 0),
                replies=int(n or 0),
                positive=wilson(int(pos or 0), int(n or 0)),
                negative=wilson(int(neg or 0), int(n or 0)),
                reply_chars=mean_interval_from_sums(
                    int(n or 0), float(chars or 0), float(squares or 0)
                ),
                recommendations=wilson(int(rec_kept or 0), int(rec_n or 0)),
                digest=digest,
            )
        )
    control = next((m for m in metrics if m.control), None)
    if control is not None:
        metrics = [
            m
            if m.control
            else VariantMetrics(
                **{
                    **{f: getattr(m, f) for f in m.__dataclass_fields__},
                    "p_positive_vs_control": two_proportion_p(
                        round(m.positive.estimate * m.replies),
                        m.replies,
                        round(control.positive.estimate * control.replies),
                        control.replies,
                    ),
                }
            )
            for m in metrics
        ]
    return ExperimentReport(
        name=name,
        kind=kind,
        description=description,
        status=state.status,
        promoted_variant=state.promoted_variant,
        variants=metrics,
        window_end=end,
    )


MIN_PEOPLE_PER_VARIANT = 30


class NoChartData(ValueError):
    """Nothing measured yet: there is no chart to draw."""


def low_sample_warnings(
    report: ExperimentReport, min_people: int = MIN_PEOPLE_PER_VARIANT
) -> list[str]:
    """Why not to trust this report yet: a variant with few people (one heavy user can make
    its rate) or no rated replies at all. Shown next to the table and on the operator page."""
    found: list[str] = []
    for m in report.variants:
        if m.people < min_people:
            found.append(
                f"{m.variant} has {m.people} {'person' if m.people == 1 else 'people'} "
                f"(fewer than {min_people}): its rates and p-value are not reliable yet"
            )
        elif m.replies == 0:
            found.append(f"{m.variant} has no replies yet")
    return found


def write_chart(report: ExperimentReport, path: Path) -> Path:
    """A PNG a person would rather look at than the table: one panel per metric, a bar per
    variant with its 95 % interval, the control in grey, people and replies under each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, list[Interval], bool]] = [
        ("replies liked (share)", [m.positive for m in report.variants], True),
        ("replies disliked (share)", [m.negative for m in report.variants], True),
        ("reply length (characters)", [m.reply_chars for m in report.variants], False),
        ("recommendations kept (share)", [m.recommendations for m in report.variants], True),
    ]
    if all(m.digest is not None for m in report.variants):
        panels.append(
            ("digest items engaged (share)", [m.digest for m in report.variants if m.digest], True)
        )
    # A metric nobody produced yet (no recommendations, no digests) is not drawn: an empty
    # panel on an invented axis reads as "zero", which it is not.
    panels = [panel for panel in panels if any(v.n for v in panel[1])]
    if not panels:
        raise NoChartData(f"experiment {report.name} has no measured replies or items yet")
    labels = [f"{m.variant}\n{m.people} people\n{m.replies} replies" for m in report.variants]
    colours = ["#9e9e9e" if m.control else "#1f77b4" for m in report.variants]
    columns = 2 if len(panels) == 4 else min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.6 * columns, 4.0 * rows + 0.6), squeeze=False
    )
    from matplotlib.ticker import PercentFormatter

    flat = list(axes.ravel())
    for ax in flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (title, values, is_rate) in zip(flat, panels, strict=False):
        heights = [v.estimate if v.n else 0.0 for v in values]
        lower = [max(0.0, v.estimate - v.low) if v.n else 0.0 for v in values]
        upper = [max(0.0, v.high - v.estimate) if v.n else 0.0 for v in values]
        bars = ax.bar(range(len(values)), heights, color=colours, yerr=[lower, upper], capsize=6)
        for bar, value in zip(bars, values, strict=True):
            if value.n == 0:
                text = "no data"
            elif is_rate:
                text = f"{value.estimate:.0%}"
            else:
                text = f"{value.estimate:.0f}"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, value.high if value.n else 0.0),
                ha="center",
                va="bottom",
                fontsize=9,
                fontweight="bold",
                xytext=(0, 4),
                textcoords="offset points",
            )
        ax.set_xticks(range(len(values)), labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        if is_rate:
            top = max((v.high for v in values if v.n), default=0.1)
            ax.set_ylim(0, max(0.05, min(1.0, top * 1.3)))
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        else:
            ax.set_ylim(0, max((v.high for v in values if v.n), default=1.0) * 1.2)
        ax.spines[["top", "right"]].set_visible(False)
    status = report.status + (f" → {report.promoted_variant}" if report.promoted_variant else "")
    fig.suptitle(
        f"experiment {report.name} ({report.kind}, {status}) — {report.people} people; "
        "bars: 95% intervals; grey: control",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
