"""Data in and setpoints out: validation and storage of telemetry batches (MQTT and HTTP share
``batches.ingest_batch``), the MQTT link with its acks and gateway status, weather forecast rows,
and the setpoint messages to the gateways.

May import db, state and the bottom modules, and the pure ``dispatch`` core for a plan's
setpoints; not timeseries, jobs or api.
"""
