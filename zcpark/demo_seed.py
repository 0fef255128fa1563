"""What a park's energy manager enters by hand, entered for the demo through the same HTTP API a
manager uses: green certificates and a green-power trade for last month, this year's budgets and
intensity targets, and last month's production and fuels — so that the carbon figures and last
month's report have something to count from the first minute.

The figures are the demo's assumptions, scaled to the park's own size (its flexible loads'
production per day, its budgets in the park file); none of them is a real park's record.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, timedelta
from typing import Any

from config import Park


class Api:
    """A minimal client of the server's HTTP API (the standard library only)."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base.rstrip("/")
        form = urllib.parse.urlencode({"username": user, "password": password}).encode()
        token = self._send("POST", "/auth/token", form, "application/x-www-form-urlencoded")
        self.token = str(token["access_token"])

    def _send(self, method: str, path: str, body: bytes | None, kind: str) -> Any:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        req.add_header("Content-Type", kind)
        if getattr(self, "token", None):
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None

    def call(self, method: str, path: str, doc: Any = None) -> Any:
        body = None if doc is None else json.dumps(doc).encode()
        return self._send(method, path, body, "application/json")


def last_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def seed(api: Api, park: Park, today: date) -> dict[str, Any]:
    """Enter the demo's certificates, trade, budgets and monthly inputs; return what went in."""
    month = last_month(today)
    label = month.strftime("%Y-%m")
    days = ((month + timedelta(days=32)).replace(day=1) - month).days
    enterprises = [e.id for e in park.enterprises]
    first = enterprises[0] if enterprises else None
    production_per_day = sum(f.production_t_per_day or 0.0 for f in park.flexible_loads)
    consumption_mwh = sum(f.max_kw for f in park.flexible_loads) * 24 * days / 1000
    gec_mwh = round(0.05 * consumption_mwh) or 1000
    trade_mwh = round(0.10 * consumption_mwh) or 2000
    instruments = [
        {
            "enterprise": first,
            "kind": "gec",
            "serial_from": f"DEMO-{park.id.upper()}-{label}-000001",
            "serial_to": f"DEMO-{park.id.upper()}-{label}-{gec_mwh:06d}",
            "mwh": gec_mwh,
            "technology": "wind",
            "project": "Inner Mongolia wind farm (demo)",
            "vintage": month.year,
            "month": label,
        },
        {
            "enterprise": first,
            "kind": "trade",
            "serial_from": "",
            "serial_to": "",
            "mwh": trade_mwh,
            "technology": "wind",
            "project": "Mengxi green-power trade (demo)",
            "vintage": month.year,
            "month": label,
        },
    ]
    certificates = api.call("POST", f"/parks/{park.id}/certificates", instruments)
    carbon_t = park.carbon_budget_t_per_year
    budgets = [
        {
            "enterprise": None,
            "carbon_t": carbon_t,
            "energy_tce": getattr(park, "energy_budget_tce_per_year", None),
            "t_co2_per_t_product": 8.0 if production_per_day else None,
            "t_co2_per_10k_yuan": None,
        }
    ] + [
        {
            "enterprise": e.id,
            "carbon_t": e.carbon_budget_t_per_year,
            "energy_tce": getattr(e, "energy_budget_tce_per_year", None),
            "t_co2_per_t_product": None,
            "t_co2_per_10k_yuan": None,
        }
        for e in park.enterprises
        if e.carbon_budget_t_per_year
    ]
    api.call("PUT", f"/parks/{park.id}/budgets/{today.year}", {"budgets": budgets})
    entries = []
    if first is not None and production_per_day:
        entries.append(
            {
                "enterprise": first,
                "production_t": round(production_per_day * days, 1),
                # aluminium at about 19,000 yuan a tonne
                "output_10k_yuan": round(production_per_day * days * 1.9, 1),
                "fuels": {
                    "coal_t": 0,
                    "natural_gas_m3": 40_000,
                    "diesel_t": 12,
                    "purchased_heat_gj": 0,
                },
            }
        )
    inputs = {
        "entries": entries,
        "guide": {
            "solid_waste_utilisation": 0.72,
            "waste_heat_utilisation": 0.35,
            "water_reuse": 0.91,
        },
    }
    api.call("PUT", f"/parks/{park.id}/inputs/{label}", inputs)
    return {"certificates": certificates.get("accepted"), "month": label, "budgets": len(budgets)}
