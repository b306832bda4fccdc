"""Reading and writing the defaults an admin set for a workspace (``workspace_default``).

Storage only: which keys exist, which values are valid and how they combine with the
deployment's settings is ``bot/workspace_settings.py``. Kept here so the profile engine (the
consent gate) and the retention purge can read them without knowing the bot layer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.admin_models import WorkspaceDefault
from profiles.models import Consent, ConsentStatus, Person, table_of

CONSENT_KEY = "consent"
OPT_OUT = "opt_out"
OPT_IN = "opt_in"


async def stored_defaults(session: AsyncSession, platform: str, workspace: str) -> dict[str, str]:
    """Every default set for one workspace, key → stored text."""
    rows = await session.exec(
        select(WorkspaceDefault).where(
            WorkspaceDefault.platform == platform, WorkspaceDefault.workspace == workspace
        )
    )
    return {row.key: row.value for row in rows}


async def stored_default(
    session: AsyncSession, platform: str, workspace: str, key: str
) -> str | None:
    """One default of one workspace, or None when the deployment's setting applies."""
    result = await session.exec(
        select(WorkspaceDefault.value).where(
            WorkspaceDefault.platform == platform,
            WorkspaceDefault.workspace == workspace,
            WorkspaceDefault.key == key,
        )
    )
    return result.first()


async def set_default(
    session: AsyncSession, platform: str, workspace: str, key: str, value: str | None,
    at: dt.datetime,
) -> str | None:
    """Set (``value``) or remove (None) one default; returns the previous stored value."""
    row = (await session.exec(select(WorkspaceDefault).where(
        WorkspaceDefault.platform == platform,
        WorkspaceDefault.workspace == workspace,
        WorkspaceDefault.key == key,
    ))).first()
    previous = row.value if row is not None else None
    if value is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(WorkspaceDefault(platform=platform, workspace=workspace, key=key,
                                     value=value, changed_at=at))
    else:
        row.value, row.changed_at = value, at
        session.add(row)
    await session.flush()
    return previous


async def defaults_by_workspace(
    session: AsyncSession, prefix: str
) -> dict[tuple[str, str], dict[str, str]]:
    """Defaults whose key starts with ``prefix``, grouped by (platform, workspace): e.g. every
    workspace that chose its own retention, for the purge."""
    rows = await session.exec(
        select(WorkspaceDefault)
        .where(col(WorkspaceDefault.key).startswith(prefix))
        .order_by(col(WorkspaceDefault.platform), col(WorkspaceDefault.workspace))
    )
    found: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        found.setdefault((row.platform, row.workspace), {})[row.key] = row.value
    return found


def learning_allowed(
    *,
    consent_opt_out: bool,
    workspace_opt_out_allowed: bool,
    status: ColumnElement[str] | None = None,
    platform: ColumnElement[str] | None = None,
    workspace: ColumnElement[str] | None = None,
) -> ColumnElement[bool]:
    """The SQL twin of ``ProfileEngine.may_learn_in`` for a query over many workspaces that
    joins ``person`` and ``consent``: an answered consent decides alone, an unanswered one
    follows the person's workspace's mode (an admin's default over the deployment's, opt-out
    by an admin only where the operator allows it), as ``ProfileEngine.opt_out_of`` says.
    ``status``, ``platform``, ``workspace``: the columns to judge when the query reads them
    from elsewhere than those two tables (a subquery's; ``ProfileEngine.still_learning``)."""
    person, consent = table_of(Person), table_of(Consent)
    judged = consent.c.status if status is None else status
    platform = person.c.platform if platform is None else platform
    workspace = person.c.workspace if workspace is None else workspace
    stored = func.coalesce(
        select(WorkspaceDefault.value)
        .where(
            col(WorkspaceDefault.platform) == platform,
            col(WorkspaceDefault.workspace) == workspace,
            col(WorkspaceDefault.key) == CONSENT_KEY,
        )
        .scalar_subquery(),
        "",
    )
    granted = judged == ConsentStatus.GRANTED.value
    if consent_opt_out:
        opt_out = stored != OPT_IN
    elif workspace_opt_out_allowed:
        opt_out = stored == OPT_OUT
    else:
        return granted
    return or_(granted, and_(judged == ConsentStatus.UNKNOWN.value, opt_out))
