"""Background work: the scheduler and its leadership (one instance runs the jobs), and every job —
rollups, alarms, weather, forecasts, rolling and day-ahead dispatch (``registry`` lists them with
their schedules).

May import ingest, timeseries, db, state, the pure cores (forecasting, dispatch) and the bottom
modules; not api.
"""
