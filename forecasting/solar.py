"""Solar geometry for the park's place: the shape of a clear day (pvlib's solar position).

Pure: takes a location and times, returns fractions of capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

from config import Park

STEP_MIN = 15


def clear_sky_shape(park: Park, times_ms: list[int]) -> np.ndarray:
    """Fraction of PV capacity on a clear day, from the sun's elevation (pvlib)."""
    index = pd.to_datetime(times_ms, unit="ms", utc=True) + pd.Timedelta(minutes=STEP_MIN / 2)
    pos = pvlib.solarposition.get_solarposition(
        index, park.location.lat, park.location.lon, park.location.altitude_m
    )
    elevation = np.radians(np.clip(pos["apparent_elevation"].to_numpy(), 0, None))
    shape: np.ndarray = np.clip(np.sin(elevation) ** 1.2 * 1.05, 0, 1)
    return shape
