"""The operator page at ``/admin``: is the bot healthy, what does it cost, do the
experiments say anything — aggregates only, never a person's data (no names, ids or text).

Behind ``TAILORBOT_ADMIN_TOKEN``: ``Authorization: Bearer <token>``, or open
``/admin?token=<token>`` once in a browser, which sets an HttpOnly, SameSite=Strict cookie
and redirects to ``/admin`` so the token leaves the address bar. Without a configured
token the page answers 404: an operator turns it on deliberately.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from adapters.ops import charts
from bot import metrics

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Core
    from bot.experiments.report import ExperimentReport

log = logging.getLogger(__name__)
COOKIE = "tailorbot_admin"
MODEL_DAYS = 14
INGEST_HOURS = 48
DIGEST_DAYS = 7

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass
class PageData:
    now: dt.datetime
    people: dict[str, int]
    erasures: float
    outage_backlog: int
    model_days: list[Any]
    model_totals: dict[str, float]
    cost_known: bool
    ingest: list[tuple[str, int]]
    ingest_total: int
    digest: Any
    experiments: list[ExperimentReport] = field(default_factory=list)
    experiment_warnings: dict[str, list[str]] = field(default_factory=dict)
    charts: dict[str, str] = field(default_factory=dict)


def authorised(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    offered = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    offered = offered or request.cookies.get(COOKIE, "")
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


async def gather(core: Core, settings: Settings) -> PageData:
    from bot.experiments import current_registry
    from bot.experiments.report import build_report, low_sample_warnings
    from profiles import stats

    now = core.services.clock()
    async with core.services.db.session() as session:
        people = await stats.people_by_consent(session)
        model_days = await stats.model_usage_by_day(session, now - dt.timedelta(days=MODEL_DAYS))
        ingest = await stats.events_by_hour(session, now - dt.timedelta(hours=INGEST_HOURS))
        digest = await stats.digest_health(session, now - dt.timedelta(days=DIGEST_DAYS))
        names = await stats.experiment_names(session)
        registry = current_registry()
        configured = {e.name: e for e in registry.experiments}
        reports = [
            await build_report(
                session,
                configured.get(name, name),
                consent_opt_out=settings.consent_mode == "opt_out",
            )
            for name in [*configured, *sorted(set(names) - set(configured))]
        ]
    tokens_in = sum(d.input_tokens for d in model_days)
    tokens_out = sum(d.output_tokens for d in model_days)
    price_in, price_out = settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok
    cost_known = bool(price_in or price_out)
    calls = sum(d.calls for d in model_days)
    data = PageData(
        now=now,
        people=people,
        erasures=metrics.value("tailorbot_erasures_total"),
        outage_backlog=core.backlog_size,
        model_days=model_days,
        model_totals={
            "calls": calls,
            "errors": sum(d.errors for d in model_days),
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "cost": (tokens_in * price_in + tokens_out * price_out) / 1e6,
        },
        cost_known=cost_known,
        ingest=ingest,
        ingest_total=sum(n for _, n in ingest),
        digest=digest,
        experiments=reports,
        experiment_warnings={r.name: low_sample_warnings(r) for r in reports},
    )
    data.charts = _charts(data, price_in, price_out)
    return data


def _by_day(rows: list[Any], value: Any, days: list[str]) -> list[tuple[str, float]]:
    totals = dict.fromkeys(days, 0.0)
    for d in rows:
        totals[d.day] = totals.get(d.day, 0.0) + value(d)
    return [(day[5:], total) for day, total in sorted(totals.items())]


def _charts(data: PageData, price_in: float, price_out: float) -> dict[str, str]:
    # Every day and hour of the window gets a bar, zero included: a gap is information.
    days = [
        (data.now - dt.timedelta(days=back)).strftime("%Y-%m-%d")
        for back in range(MODEL_DAYS - 1, -1, -1)
    ]
    hours = [
        (data.now - dt.timedelta(hours=back)).strftime("%Y-%m-%d %H:00")
        for back in range(INGEST_HOURS - 1, -1, -1)
    ]
    counts = dict(data.ingest)
    found = {
        "model_calls": charts.bars(
            "model calls per day", _by_day(data.model_days, lambda d: d.calls, days),
            integers=True,
        ),
        "model_latency": charts.bars(
            "mean model latency per day (ms)", _mean_latency(data.model_days, days), unit=" ms"
        ),
        "ingest": charts.bars(
            f"events per hour, last {INGEST_HOURS} h (UTC)",
            [(hour[5:], float(counts.get(hour, 0))) for hour in hours],
            integers=True,
        ),
    }
    if price_in or price_out:
        found["model_cost"] = charts.bars(
            "model cost per day (USD)",
            _by_day(
                data.model_days,
                lambda d: (d.input_tokens * price_in + d.output_tokens * price_out) / 1e6,
                days,
            ),
        )
    else:
        found["model_cost"] = charts.bars(
            "model tokens per day (input + output)",
            _by_day(data.model_days, lambda d: d.input_tokens + d.output_tokens, days),
            integers=True,
        )
    for report in data.experiments:
        rated = [m for m in report.variants if m.replies]
        found[f"experiment:{report.name}"] = charts.bars(
            f"{report.name}: share of replies liked (95% interval; grey: control)",
            [(m.variant, m.positive.estimate) for m in rated],
            unit="%",
            errors=[(m.positive.low, m.positive.high) for m in rated],
            highlight=[m.control for m in rated],
        )
    return found


def _mean_latency(rows: list[Any], days: list[str]) -> list[tuple[str, float]]:
    sums: dict[str, tuple[float, int]] = {day: (0.0, 0) for day in days}
    for d in rows:
        if d.mean_latency_ms is None:
            continue
        total, n = sums.get(d.day, (0.0, 0))
        sums[d.day] = (total + d.mean_latency_ms * d.calls, n + d.calls)
    return [(day[5:], total / n if n else 0.0) for day, (total, n) in sorted(sums.items())]


def add_routes(app: web.Application, core: Core, settings: Settings) -> None:
    async def page(request: web.Request) -> web.StreamResponse:
        token = settings.admin_token
        if not token:
            raise web.HTTPNotFound(text="The operator page is off: set TAILORBOT_ADMIN_TOKEN.")
        offered = request.query.get("token")
        if offered is not None:
            if not hmac.compare_digest(offered.encode(), token.encode()):
                raise web.HTTPUnauthorized(text="Wrong admin token.")
            response = web.HTTPSeeOther("/admin")
            response.set_cookie(
                COOKIE, token, httponly=True, samesite="Strict", path="/admin",
                secure=request.secure,
            )
            raise response
        if not authorised(request, token):
            raise web.HTTPUnauthorized(
                text="Admin token needed: Authorization: Bearer <token>, or open "
                "/admin?token=<token> once.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        from profiles.db import DatabaseUnavailable

        try:
            data = await gather(core, settings)
        except DatabaseUnavailable as exc:
            log.warning("operator page: the database cannot be reached: %s", exc)
            return _page(DATABASE_AWAY, status=503)
        return _page(_templates.get_template("admin.html.j2").render(data=data, settings=settings))

    app.router.add_get("/admin", page)


# Found in the operations audit: a database away made the page a 500 with a traceback in the
# log, where /readyz says 503. The page is aggregates read from the database: without it there
# is nothing to show but that, and that the process still serves.
DATABASE_AWAY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tailorbot: database away</title></head>
<body><h1>The database cannot be reached</h1>
<p>The operator page is read from the database, which does not answer now. The bot keeps
events in its outage journal meanwhile; <a href="/readyz">/readyz</a> says what is ready.
Reload this page when the database is back.</p></body></html>
"""


def _page(html: str, *, status: int = 200) -> web.Response:
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src 'self' data:",
            "X-Frame-Options": "DENY",
        },
    )
