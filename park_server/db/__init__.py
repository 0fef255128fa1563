"""The database: SQLModel tables, Alembic migrations, the engine (SQLite or PostgreSQL), crud and
plan storage.

Owns every table's shape. May import config and the bottom modules (``security``, ``settings``,
``timeutil``); nothing of the server above it.
"""
