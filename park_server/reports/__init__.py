"""The monthly green-power and carbon report (DESIGN.md §6, §7, §10; docs/reports.md): one typed
model of the report built from the carbon accounting's answer, the month's forecast accuracy and
data completeness (``build``), rendered to HTML (``html``), PDF from the same HTML (``pdf``,
WeasyPrint) and XLSX (``xlsx``); issued revisions with their data's SHA-256 (``issue``,
``digest``).

May import timeseries, db, the pure carbon core, locale and the bottom modules; not jobs, api or
console (they call it).
"""
