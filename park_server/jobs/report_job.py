"""The monthly report, issued by itself: from 02:00 on the 1st in each park's own time zone,
the previous month's report (issue #12).

Run on every quarter-hour by the scheduler (leader only): a park whose previous month has no
issued report yet, once it is 02:00 or later on the 1st locally (or any later day of the month,
so a server that was down at 02:00 issues it when it comes back), gets revision 1. A month
without any interval data (a park not yet measuring) is not issued. A report already issued
is left alone: later data make revision 2 when someone asks (POST, ``zcpark report``).
"""

from __future__ import annotations

import logging
from datetime import date

from park_server.db import crud, report_crud
from park_server.db.engine import Session
from park_server.reports.issue import gather, issue_from_inputs, previous_month
from park_server.state import ServerState
from park_server.timeutil import local_now

log = logging.getLogger("zcpark.jobs.report")

#: local hour on the 1st from which the previous month is reported
REPORT_HOUR = 2


def report_job(state: ServerState) -> None:
    with Session(state.engine) as session:
        parks = crud.park_configs(session)
    for park in parks:
        local = local_now(park.timezone)
        if local.day == 1 and local.hour < REPORT_HOUR:
            continue
        month = previous_month(park)
        with Session(state.engine) as session:
            if report_crud.revision(session, park_id=park.id, month=month) is not None:
                continue
            first = date(int(month[:4]), int(month[5:]), 1)
            try:
                ri = gather(session, park, first)
                if ri.carbon.intervals.empty:
                    continue  # nothing measured that month: no report
                done = issue_from_inputs(session, ri, by="scheduler")
            except Exception:
                log.exception("park %s: the report of %s failed", park.id, month)
                continue
        log.info("park %s: report %s revision %d issued", park.id, month, done.info.revision)
