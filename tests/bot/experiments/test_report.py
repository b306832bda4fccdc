"""Per-variant metrics from real feedback rows, the chart, and the CLI commands."""

import datetime as dt

import pytest

from bot.context import build_prompt_context
from bot.events import PlatformContext
from bot.experiments import parse_experiments, renderer_for
from bot.experiments.render import check_variants
from bot.experiments.report import (
    NoChartData,
    build_report,
    low_sample_warnings,
    write_chart,
)
from profiles.experiment_models import ExperimentAssignment, ExperimentState
from profiles.models import ConversationTurn, Feedback, Recommendation
from profiles.preferences import resolve
from prompts.render import PromptRenderer
from tests.bot.experiments.conftest import T0, make_person


async def seed(core, registry):
    """control: 2 people, 4 replies (1 liked, 1 disliked), 100-char replies;
    brief: 1 person, 2 replies (2 liked), 40-char replies; plus noise that must not count."""
    people = {
        "control": [await make_person(core, "c1"), await make_person(core, "c2")],
        "brief": [await make_person(core, "b1")],
    }
    revoked = await make_person(core, "r1", consent=False)
    async with core.services.db.session() as session:
        for variant, members in people.items():
            for person in [*members, *([revoked] if variant == "brief" else [])]:
                session.add(
                    ExperimentAssignment(
                        person_id=person.id,
                        experiment="short_replies",
                        variant=variant,
                        assigned_at=T0,
                    )
                )
        await session.flush()

        async def reply(person, chars, value=None, *, at=T0 + dt.timedelta(hours=1)):
            turn = ConversationTurn(
                person_id=person.id, role="assistant", text="x" * chars, created_at=at
            )
            session.add(turn)
            await session.flush()
            if value is not None:
                session.add(
                    Feedback(person_id=person.id, turn_id=turn.id, value=value, source="reaction")
                )

        c1, c2 = people["control"]
        await reply(c1, 100, 1)
        await reply(c1, 100, -1)
        await reply(c2, 100)
        await reply(c2, 100)
        await reply(c2, 999, 1, at=T0 - dt.timedelta(days=1))  # before assignment: ignored
        (b1,) = people["brief"]
        await reply(b1, 40, 1)
        await reply(b1, 40, 1)
        await reply(revoked, 40, -1)  # not consented: never counted
        session.add(
            Recommendation(
                person_id=b1.id,
                request="r",
                title="t",
                normalised_title="t",
                status="liked",
                created_at=T0 + dt.timedelta(hours=2),
            )
        )
    return people


async def test_report_counts_only_consented_people_after_assignment(core, registry):
    await seed(core, registry)
    async with core.services.db.session() as session:
        report = await build_report(session, registry.get("short_replies"))
    by = {m.variant: m for m in report.variants}
    control, brief = by["control"], by["brief"]
    assert control.control and not brief.control
    assert (control.people, control.replies, brief.people, brief.replies) == (2, 4, 1, 2)
    assert control.positive.estimate == pytest.approx(0.25)
    assert control.negative.estimate == pytest.approx(0.25)
    assert brief.positive.estimate == 1.0 and brief.negative.estimate == 0.0
    assert control.reply_chars.estimate == pytest.approx(100)
    assert brief.reply_chars.estimate == pytest.approx(40)
    assert brief.recommendations.estimate == 1.0 and brief.recommendations.n == 1
    assert control.recommendations.n == 0
    assert brief.p_positive_vs_control is not None and control.p_positive_vs_control is None


async def test_stopped_experiment_counts_until_the_stop(core, registry):
    people = await seed(core, registry)
    async with core.services.db.session() as session:
        session.add(
            ExperimentState(
                name="short_replies", status="stopped", changed_at=T0 + dt.timedelta(hours=3)
            )
        )
        session.add(
            ConversationTurn(
                person_id=people["brief"][0].id,
                role="assistant",
                text="late",
                created_at=T0 + dt.timedelta(hours=5),
            )
        )
    async with core.services.db.session() as session:
        report = await build_report(session, "short_replies")  # by name: config not needed
    assert report.status == "stopped"
    assert {m.variant: m.replies for m in report.variants} == {"brief": 2, "control": 4}


async def test_nothing_measured_means_no_chart_and_a_warning(core, registry, tmp_path):
    await make_person(core, "lonely")
    async with core.services.db.session() as session:
        report = await build_report(session, registry.get("short_replies"))
    with pytest.raises(NoChartData):
        write_chart(report, tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()
    assert low_sample_warnings(report) == [
        "control has 0 people (fewer than 30): its rates and p-value are not reliable yet",
        "brief has 0 people (fewer than 30): its rates and p-value are not reliable yet",
    ]
    assert low_sample_warnings(report, min_people=0) == [
        "control has no replies yet",
        "brief has no replies yet",
    ]


async def test_chart_is_written(core, registry, tmp_path):
    await seed(core, registry)
    async with core.services.db.session() as session:
        report = await build_report(session, registry.get("short_replies"))
    path = write_chart(report, tmp_path / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_prompt_template_variant_renders_its_template(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "chat_concise.j2").write_text("Be concise, {{ bot_name }}. ({{ verbosity }})")
    base = PromptRenderer(folder)
    registry = parse_experiments(
        {
            "concise": {
                "kind": "prompt",
                "variants": {"control": {}, "concise": {"template": "chat_concise.j2"}},
            }
        },
        base=tmp_path,
        source="t",
    )
    check_variants(registry, base)  # what the core does at start
    experiment = registry.get("concise")
    context = build_prompt_context(
        bot_name="tb",
        platform="test",
        surface="dm",
        now=T0,
        prefs=resolve([("verbosity", "detailed", "explicit", T0)], {}, None),
        platform_context=PlatformContext(),
        default_timezone="UTC",
        snapshot=None,
        history=[],
        display_name=None,
    )
    varied = renderer_for(experiment.variant("concise"), base)
    rendered = varied.chat(context, "hi", count_tokens=len)
    assert rendered.system == "Be concise, tb. (detailed)"  # the explicit verbosity still wins
    assert renderer_for(experiment.control, base) is base
    assert renderer_for(None, base) is base
    assert base.chat(context, "hi", count_tokens=len).system != rendered.system
