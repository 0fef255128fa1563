"""The console's navigation, as data: what a page is called, where it lives, and — for a page
whose API has not landed yet — what is missing, said plainly instead of a page that pretends.

To add a page (docs/console.md): write its route in a module of this package, its template in
templates/, and move its entry here from PENDING to PARK_PAGES (or REGION_PAGES).
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Mark a message for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class NavEntry:
    key: str  # the active-page key a route passes to its template
    label: str  # msgid
    path: str  # with {park} for a park's page
    missing: str = ""  # msgid: why the page is not there yet ("" = the page works)


REGION_PAGES = (NavEntry("overview", N_("Overview"), "/"),)

PARK_PAGES = (
    NavEntry("dashboard", N_("Dashboard"), "/parks/{park}"),
    NavEntry("gateways", N_("Meters and gateways"), "/parks/{park}/gateways"),
    NavEntry("forecasts", N_("Forecast accuracy"), "/parks/{park}/forecasts"),
    NavEntry("carbon", N_("Carbon"), "/parks/{park}/carbon"),
    NavEntry("reports", N_("Reports"), "/parks/{park}/reports"),
    NavEntry("alarms", N_("Alarms"), "/parks/{park}/alarms"),
)

# ---- pages waiting for their API: shown greyed out with the reason, never as a link ---------
# e.g. NavEntry("trading", N_("Trading"), "/parks/{park}/trading", N_("not built yet: needs …"))
PENDING: tuple[NavEntry, ...] = ()
