"""Data read: 15-minute, hourly and daily rollups of the raw samples, latest values, measurement
queries, energy KPIs, stored weather and forecast issues with their accuracy.

May import db, state and the bottom modules; not ingest, jobs or api.
"""
