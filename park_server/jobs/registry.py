"""Every job the server runs and when: the one list a reader needs to know what runs in the
background (the scheduler runs them on the leader only)."""

from __future__ import annotations

from park_server.jobs import dispatch, forecast, weather
from park_server.jobs.alarms import alarm_job
from park_server.jobs.rollup import rollup_job
from park_server.jobs.scheduler import Jobs
from park_server.settings import Settings


def schedule_all(jobs: Jobs, settings: Settings) -> None:
    """Add the server's jobs to ``jobs`` (not yet started)."""
    jobs.add("rollups", rollup_job, seconds=30)
    jobs.add("alarms", alarm_job, seconds=30)
    jobs.add("weather", weather.weather_job, seconds=60)
    jobs.add("forecasts", forecast.forecast_job, seconds=900)
    jobs.add("dispatch-rolling", dispatch.rolling_job, seconds=settings.dispatch_interval_s)
    jobs.add_cron(
        "dispatch-day-ahead",
        dispatch.day_ahead_job,
        hour=10,
        minute=0,
        timezone="Asia/Shanghai",
    )
