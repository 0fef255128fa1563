"""Every shipped park, gateway example, device profile and factor table loads and is consistent."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import (
    load_factors,
    load_gateway,
    load_park,
    load_profile,
    shipped_gateways,
    shipped_parks,
    shipped_profiles,
)
from config.loader import gateway_profiles, park_tariff
from config.profile import REGISTER_COUNT

PARKS = ["huolingol", "baotou_aluminum", "mengsu", "damao", "etuoke", "alxa_wusi"]


def test_all_six_parks_are_shipped() -> None:
    assert sorted(p.stem for p in shipped_parks()) == sorted(PARKS)


@pytest.mark.parametrize("path", shipped_parks(), ids=lambda p: p.stem)
def test_park_loads(path: Path) -> None:
    park = load_park(path)
    assert park.id == path.stem
    assert park.timezone == "Asia/Shanghai"
    for meter in park.meters:
        profile = load_profile(meter.profile)
        assert profile.points, meter.id
    # every asset that produces or consumes power is metered
    metered = {m.asset for m in park.meters}
    for asset in park.assets:
        if asset.kind != "weather":
            assert asset.id in metered, f"{park.id}: asset {asset.id} has no meter"
    assert "grid" in {park.meter_role(m) for m in park.meters}


def test_huolingol_is_sized_from_public_figures() -> None:
    park = load_park(shipped_parks()[[p.stem for p in shipped_parks()].index("huolingol")])
    wind = park.asset("wind-zhn")
    assert wind.kind == "wind" and wind.capacity_kw == 650_000
    bess = park.asset("bess-1")
    assert bess.kind == "storage" and (bess.power_kw, bess.energy_kwh) == (100_000, 200_000)
    potline = park.asset("potline-zhn")
    # 350 kt/yr at 4.6 TWh/yr is about 525 MW on average
    assert potline.kind == "flexible_load" and potline.daily_energy_kwh == pytest.approx(
        525_000 * 24
    )
    renewables = sum(
        a.capacity_kw
        for a in park.assets
        if a.kind in ("wind", "pv")  # type: ignore[union-attr]
    )
    assert renewables == pytest.approx(1_050_000)


@pytest.mark.parametrize("path", shipped_profiles(), ids=lambda p: p.stem)
def test_profile_loads_and_notes_its_manual(path: Path) -> None:
    profile = load_profile(path.stem)
    assert profile.name == path.stem
    assert len(profile.source) > 20, "each map says which manual it comes from"
    for point in profile.points:
        assert point.count == REGISTER_COUNT[point.type]


def test_profiles_cover_the_device_families() -> None:
    names = {p.stem for p in shipped_profiles()}
    assert len(names) >= 8
    assert {"chint-dtsu666", "acrel-adl400"} <= names  # two Chinese three-phase meters
    assert {"eastron-sdm630", "janitza-umg604"} & names  # an international meter
    assert {"sunspec-inverter-float", "sunspec-inverter-int"} <= names
    storage = load_profile("sma-storage-pcs")
    assert storage.setpoint("active_power_kw").min < 0 < storage.setpoint("active_power_kw").max
    assert load_profile("sunspec-inverter-int").point("active_power_kw").scale_factor is not None
    assert "wind_speed_ms" in load_profile("wind-scada-gateway").quantities
    assert "irradiance_wm2" in load_profile("renke-weather-station").quantities
    assert load_profile("potline-rectifier").setpoints


@pytest.mark.parametrize("path", shipped_gateways(), ids=lambda p: p.stem)
def test_gateway_example_loads_against_its_park(path: Path) -> None:
    gateway = load_gateway(path)
    park = load_park(Path(path).parent.parent / "parks" / f"{gateway.park}.yaml")
    assert load_gateway(path, park=park) == gateway
    profiles = gateway_profiles(gateway, path)
    assert set(profiles) == {d.meter for d in gateway.devices if d.profile}


def test_factor_tables_carry_sources() -> None:
    factors = load_factors()
    im = factors.grid_factor("inner_mongolia", 2022)
    assert (im.value, im.confidence) == (0.6849, "H")
    assert factors.grid_factor("national_average", 2023).value == 0.5306
    assert factors.energy["electricity_kgce_per_kwh"].value == 0.1229
    assert factors.aluminium["gwp_cf4"].value == 6630
    assert factors.indicators["core_tco2_per_tce_small"].value == 0.20
    for region in factors.grid.values():
        for value in region.values():
            assert value.source and value.confidence in "HML"


def test_mengxi_tariff_prices_by_local_hour() -> None:
    tariff = park_tariff(load_park(shipped_parks()[0]))
    minutes = [h * 60 for h in (3, 7, 9, 13, 18, 22, 23)]
    assert list(tariff.prices(minutes)) == [0.3793, 0.6689, 0.9585, 0.6689, 0.9585, 0.6689, 0.3793]
    assert tariff.period_at(23 * 60 + 59) == "valley"
