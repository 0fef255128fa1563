"""Dual-control alarms (issue #16): for every park and enterprise with a budget or target this
year, an alarm when the year-end projection passes the carbon or energy budget, or the
year-to-date intensity passes its target, naming which and by how much
(park_server.carbon.budget_alarms). Raised and cleared through the alarm machinery's events
(park_server.jobs.alarms), one per scope and kind while it lasts. Hourly: the figures of the
year so far are read from the rollups, and a budget moves slowly.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from park_server.carbon import BudgetAlarm, CarbonInputError
from park_server.db import crud
from park_server.jobs.alarms import _set
from park_server.state import ServerState
from park_server.timeseries.carbon import carbon_figures_of, dual_control_inputs
from park_server.timeutil import local_now, now_ms

log = logging.getLogger("zcpark.carbon_alarms")

#: the event kinds, one per budget or target (DESIGN.md §10's budget keys)
KINDS = ("carbon_budget", "energy_budget", "intensity_per_t_product", "intensity_per_10k_yuan")
EVERY_SECONDS = 3600


def check_budgets(session: Session, now: int | None = None) -> list[BudgetAlarm]:
    """Open or close the dual-control events of every park; return the alarms in force."""
    now = now if now is not None else now_ms()
    raised: list[BudgetAlarm] = []
    for park in crud.park_configs(session):
        today = local_now(park.timezone).date()
        scopes: list[str | None] = [None, *(e.id for e in park.enterprises)]
        try:
            # this month's inputs: the year to date holds the earlier months, accounted one by
            # one or as recorded, for every scope at once; the projection runs from now
            inp = dual_control_inputs(session, park, today)
        except (CarbonInputError, KeyError) as exc:  # entries or factors the park does not fit
            log.warning("park %s: no dual-control check: %s", park.id, exc)
            continue
        for scope in scopes:
            try:
                fig = carbon_figures_of(inp, scope)
            except CarbonInputError as exc:  # stored entries the park no longer fits
                log.warning("park %s: no dual-control check for %s: %s", park.id, scope, exc)
                continue
            sc = fig.park if scope is None else fig.enterprise
            assert sc is not None
            by_kind: dict[str, BudgetAlarm] = {a.kind: a for a in sc.alarms}
            raised.extend(sc.alarms)
            subject = park.id if scope is None else scope
            for kind in KINDS:
                alarm = by_kind.get(kind)
                _set(
                    session,
                    park.id,
                    kind,
                    subject,
                    alarm is not None,
                    alarm.message if alarm is not None else "",
                    now,
                )
    session.commit()
    return raised


def carbon_alarm_job(state: ServerState) -> None:
    with Session(state.engine) as session:
        check_budgets(session)
