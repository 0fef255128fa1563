"""Offsets, kept apart: carbon-sink and CCER credits held by the park or an enterprise.

They are listed and can be applied to a net figure (Inner Mongolia's dual-control assessment
lets sinks and CCER offset regional emissions), never inside the core indicator or the
park's own totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from park_server.carbon.inputs import Input


class Offset(Input):
    kind: Literal["ccer", "sink"]
    project: str = Field(min_length=1)
    vintage: int = Field(ge=2000, le=2100)
    t_co2e: float = Field(gt=0)
    #: None: held by the park itself
    enterprise: str | None = None


def offsets_held_t(offsets: Iterable[Offset], enterprise: str | None = None) -> float:
    """Credits held [tCO2e]: the park's view (``None``) counts every holder."""
    return sum(o.t_co2e for o in offsets if enterprise is None or o.enterprise == enterprise)


@dataclass(frozen=True)
class NetEmissions:
    gross_t: float
    offsets_applied_t: float
    net_t: float


def apply_offsets(gross_t: float, offsets_t: float) -> NetEmissions:
    """A net figure: offsets applied up to the gross emissions, never below zero [tCO2e]."""
    applied = min(max(gross_t, 0.0), offsets_t)
    return NetEmissions(gross_t, applied, gross_t - applied)
