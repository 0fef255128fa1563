"""Every job the server runs and when: the one list a reader needs to know what runs in the
background (the scheduler runs them on the leader only)."""

from __future__ import annotations

from park_server.jobs import carbon_alarms, dispatch, forecast, partitions, weather
from park_server.jobs.alarms import alarm_job
from park_server.jobs.report_job import report_job
from park_server.jobs.rollup import rollup_job
from park_server.jobs.scheduler import Jobs
from park_server.settings import Settings


def schedule_all(jobs: Jobs, settings: Settings) -> None:
    """Add the server's jobs to ``jobs`` (not yet started)."""
    jobs.add("rollups", rollup_job, seconds=30)
    jobs.add("partitions", partitions.partition_job, seconds=partitions.EVERY_SECONDS)
    jobs.add("alarms", alarm_job, seconds=30)
    jobs.add("carbon-alarms", carbon_alarms.carbon_alarm_job, seconds=carbon_alarms.EVERY_SECONDS)
    jobs.add("weather", weather.weather_job, seconds=60)
    jobs.add("forecasts", forecast.forecast_job, seconds=900)
    # re-plans start on the quarter (a plan's first interval is the current quarter-hour), a few
    # seconds in so that the quarter's first samples are in; the plan in force carries its later
    # intervals to the gateways, so a late or missed re-plan never leaves them without one
    jobs.add_aligned(
        "dispatch-rolling", dispatch.rolling_job, seconds=settings.dispatch_interval_s, offset_s=5
    )
    # each park's next-day plan from 10:00 in its own time zone: checked every quarter-hour
    jobs.add_aligned("dispatch-day-ahead", dispatch.day_ahead_job, seconds=900, offset_s=10)
    # the previous month's report from 02:00 on the 1st in each park's zone (report_job.py)
    jobs.add_aligned("reports", report_job, seconds=900, offset_s=20)
