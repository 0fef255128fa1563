"""The HTTP API under /api/v1 (DESIGN.md §6): thin routes, their dependencies (session, user,
park access, gateway key) and error shape.

Routes call the db, timeseries and jobs layers and shape their answers; they run no SQL of their
own (a contract forbids importing sqlalchemy or sqlmodel here).
"""
