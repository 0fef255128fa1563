"""Regional totals: the §10 answers of several parks for one period added up, as the league/city
and the region monitor them under dual control of carbon (docs/carbon.md, "Regional totals").

Energies, emissions, tce, budgets and offsets are sums. Shares and intensities are the ratios of
the sums — a consumption-weighted green share, CO2 over tce — never means of the parks' ratios.
A budget total adds only the parks that have one, and says how many do; a projection total is
given only when every one of them has a projection. Offsets (ecosystem sinks,
CCER) are summed apart and never subtracted from emissions: the region's assessment may count
them, a park's indicator does not (DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _sum(values: Sequence[float | None]) -> float | None:
    """The sum of the values given; None when none is."""
    present = [v for v in values if v is not None]
    return float(sum(present)) if present else None


def _all(values: Sequence[float | None]) -> float | None:
    """The sum when every value is given; None when one is missing (a partial sum would pass
    for the whole)."""
    present = [v for v in values if v is not None]
    return float(sum(present)) if values and len(present) == len(values) else None


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


def region_totals(answers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The totals of ``answers`` (§10 ``GET /parks/{park}/carbon`` answers of one period)."""
    e = [a["energy_kwh"] for a in answers]
    consumption = _sum([x["consumption"] for x in e]) or 0.0
    # each park's green kWh by the two definitions: share × its consumption
    volumetric = _sum(
        [
            None
            if a["green"]["volumetric_share"] is None
            else a["green"]["volumetric_share"] * a["energy_kwh"]["consumption"]
            for a in answers
        ]
    )
    time_matched = _sum([x["green_consumed_time_matched"] for x in e])
    location = _sum([a["emissions_t"]["total_location"] for a in answers])
    market = _sum([a["emissions_t"]["total_market"] for a in answers])
    tce = _sum([a["energy_tce"]["total"] for a in answers])
    budgets = [a["budget"] for a in answers]
    with_carbon = [b for b in budgets if b["carbon_t"] is not None]
    with_energy = [b for b in budgets if b["energy_tce"] is not None]
    return {
        "parks": [a["park"] for a in answers],
        "energy_kwh": {
            key: _sum([x[key] for x in e])
            for key in (
                "consumption",
                "pv",
                "wind",
                "direct_green",
                "grid_import",
                "grid_export",
                "curtailed",
            )
        },
        "green": {
            "volumetric_share": _ratio(volumetric, consumption),
            "time_matched_share": _ratio(time_matched, consumption),
            "volumetric_kwh": volumetric,
            "time_matched_kwh": time_matched,
        },
        "emissions_t": {"total_location": location, "total_market": market},
        "energy_tce": tce,
        "intensity_t_per_tce": {
            "location": _ratio(location, tce),
            "market": _ratio(market, tce),
        },
        "budget": {
            "parks_with_carbon_budget": len(with_carbon),
            "carbon_t": _sum([b["carbon_t"] for b in with_carbon]),
            "used_t": _sum([b["used_t"] for b in with_carbon]),
            # None unless every park with a budget has a projection
            "projected_t": _all([b["projected_t"] for b in with_carbon]),
            "parks_with_energy_budget": len(with_energy),
            "energy_tce": _sum([b["energy_tce"] for b in with_energy]),
            "energy_used_tce": _sum([b["energy_used_tce"] for b in with_energy]),
            "energy_projected_tce": _all([b["energy_projected_tce"] for b in with_energy]),
        },
        # curtailment is known only where measured or planned: the sum of those, and how many
        "parks_with_curtailment": sum(1 for x in e if x["curtailed"] is not None),
        "offsets_held_t": _sum([a["emissions_t"]["offsets_held"] for a in answers]),
        "completeness_min": min((a["completeness"] for a in answers), default=None),
        #: parks with any measurement in the period (none: the sums above are sums of nothing)
        "parks_with_data": sum(1 for a in answers if a["completeness"]),
    }


def by_league(
    answers: Sequence[tuple[str, Mapping[str, Any]]],
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """Each league/city's totals (by name, the parks without one — "" — last) and the region's,
    from (league, answer) pairs of one period: an answer of another period than the first's (a
    park in another time zone on a month's last evening) is not added in; the region's
    ``other_period`` names it."""
    label = answers[0][1]["label"] if answers else None
    same = [(league, a) for league, a in answers if a["label"] == label]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for league, answer in same:
        groups.setdefault(league, []).append(answer)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == "", kv[0]))
    region = region_totals([a for _, a in same])
    region["label"] = label
    region["other_period"] = [
        {"park": a["park"], "label": a["label"]} for _, a in answers if a["label"] != label
    ]
    return [(name, region_totals(group)) for name, group in ordered], region
