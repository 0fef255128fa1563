"""Revisions and hashes (SQLite and PostgreSQL): the same data give the same hash and no new
revision; late data give revision 2 with the figures that changed; an issued revision and its
renderings never change."""

from __future__ import annotations

import json

import pandas as pd
import zctest_carbon as synth
from zctest_report import report_inputs
from zctest_server import make_server

from park_server.db import report_crud
from park_server.db.engine import Session
from park_server.reports.issue import issue_from_inputs, list_reports, rendering, stored_report


def late_intervals() -> pd.DataFrame:
    """The month with the gap's first interval delivered late (grid-main and pv-1 on day 20 at
    06:00 local, as every block-B interval: import 200 kWh, PV 800 kWh)."""
    frame = synth.intervals()
    ts = pd.Timestamp("2026-11-20 06:00", tz=synth.TZ).tz_convert("UTC")
    late = pd.DataFrame(
        [(ts, "grid-main", 200.0, float("nan")), (ts, "pv-1", 800.0, 800.0)],
        columns=frame.columns,
    )
    return pd.concat([frame, late], ignore_index=True)


def test_same_data_same_hash_and_late_data_make_revision_2(database_url: str) -> None:
    server = make_server(database_url)
    with Session(server.engine) as session:
        first = issue_from_inputs(session, report_inputs(), by="test")
        assert first.created and first.info.revision == 1 and first.changes == []
        assert len(first.info.sha256) == 64 and len(first.info.factors_version) == 16
        stored_1 = report_crud.revision(session, park_id="synthpark", month="2026-11")
        assert stored_1 is not None
        model_1 = stored_1.model_json
        _, html_1 = rendering(session, "synthpark", "2026-11", "html", "zh")

        # the same data, the rows in another order: same hash, no new revision
        shuffled = synth.intervals().sample(frac=1.0, random_state=7)
        again = issue_from_inputs(session, report_inputs(intervals=shuffled), by="test")
        assert not again.created
        assert (again.info.revision, again.info.sha256) == (1, first.info.sha256)
        assert [r.revision for r in list_reports(session, "synthpark")] == [1]

        # a late sample: revision 2, with what changed
        late = issue_from_inputs(session, report_inputs(intervals=late_intervals()), by="test")
        assert late.created and late.info.revision == 2
        assert late.info.sha256 != first.info.sha256
        assert late.info.factors_version == first.info.factors_version
        changed = {c["figure"]: (c["before"], c["after"]) for c in late.changes}
        before, after = changed["park:energy_kwh.consumption"]
        assert before == synth.HAND["energy_kwh.consumption"]
        assert after == synth.HAND["energy_kwh.consumption"] + 1200.0
        assert (
            changed["park:energy_kwh.grid_import"][1]
            == synth.HAND["energy_kwh.grid_import"] + 200.0
        )
        assert changed["park:completeness.grid-main.with_data"] == (2856, 2857)
        assert (
            "alu:energy_kwh.consumption" in changed and "park:factors.grid_location" not in changed
        )
        assert "park:green.target_share" not in changed  # unchanged figures are not listed
        assert [r.revision for r in list_reports(session, "synthpark")] == [2, 1]

        # the same late data again: still revision 2
        same = issue_from_inputs(session, report_inputs(intervals=late_intervals()), by="test")
        assert not same.created and same.info.revision == 2

        # revision 1 never changed: its model and its rendering are what was issued
        stored = report_crud.revision(session, park_id="synthpark", month="2026-11", revision=1)
        assert stored is not None and stored.model_json == model_1
        _, html_again = rendering(session, "synthpark", "2026-11", "html", "zh", revision=1)
        assert html_again == html_1
        info_2, report_2 = stored_report(session, "synthpark", "2026-11", None)
        assert info_2.revision == 2 and report_2.meta.revision == 2
        assert json.loads(stored.changes_json) == []
        _, html_2 = rendering(session, "synthpark", "2026-11", "html", "en")
        text = html_2.decode()
        assert "Changed since revision 1" in text and "park:energy_kwh.consumption" in text
        assert "revision 2" in text and late.info.sha256 in text
