"""The report's SVG charts: bars stacked to the values, lines broken where a day has none, axis
ticks at whole steps, labels escaped and translated, the same bytes for the same chart."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from park_server.reports.charts import (
    BOTTOM,
    COLOURS,
    TOP,
    chart_svg,
    chart_svg_of,
    nice_step,
    tick_label,
    y_axis,
)
from park_server.reports.model import Chart, Series

NS = {"s": "http://www.w3.org/2000/svg"}
DAYS = ("2026-11-01", "2026-11-02", "2026-11-03")


def energy_chart() -> Chart:
    return Chart(
        "energy_chart",
        "Electricity by source per day",
        "stacked_bar",
        DAYS,
        (
            Series("PV", (1000.0, 2000.0, None), "days.*.pv"),
            Series("Grid import", (3000.0, 0.0, 4000.0), "days.*.grid_import"),
            Series("Consumption", (4000.0, None, 4000.0), "days.*.consumption", "line"),
        ),
        "MWh per day",
        mwh=True,
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize(
    ("span", "step"), [(4.0, 1.0), (9.3, 2.0), (14.0, 2.5), (23.0, 5.0), (0.7, 0.2), (0.0, 1.0)]
)
def test_nice_steps(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_y_axis_ends_on_a_whole_step_above_the_greatest_value() -> None:
    lo, hi, ticks = y_axis([3.2, 4.0, 1.0], percent=False)
    assert (lo, hi) == (0.0, 5.0)
    assert ticks == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    lo, hi, ticks = y_axis([-1.2, 3.0], percent=False)  # below zero: the axis goes down too
    assert lo == -2.0 and hi == 4.0 and ticks[0] == -2.0
    assert y_axis([4.9], percent=False)[1] == 6.0  # 5 % of room: 5.0 would touch the frame
    assert y_axis([0.4], percent=True) == (0.0, 1.05, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert [tick_label(t, 2.5, False) for t in (0.0, 2.5)] == ["0.0", "2.5"]
    assert tick_label(12500.0, 2500.0, False) == "12500"
    assert tick_label(0.6, 0.2, True) == "60%"


def rectangles(path: ET.Element) -> list[tuple[float, float, float, float]]:
    """(x, y, width, height) of each ``M x y h w v h h -w z`` of a bar series' path."""
    found = re.findall(r"M([-\d.]+) ([-\d.]+)h([-\d.]+)v([-\d.]+)h[-\d.]+z", path.get("d", ""))
    return [(float(x), float(y), float(w), float(h)) for x, y, w, h in found]


def test_bars_are_stacked_to_the_values_in_mwh() -> None:
    root = parse(chart_svg(energy_chart(), str))
    bars = [p for p in root.findall("s:path", NS) if p.get("fill") in COLOURS]
    pv, grid = rectangles(bars[0]), rectangles(bars[1])
    # the axis runs 0..5 MWh (the tallest stack is 4 MWh, the step 1): 1 MWh = this many points
    per_mwh = (BOTTOM - TOP) / 5.0
    assert [h for *_, h in pv] == pytest.approx([1.0 * per_mwh, 2.0 * per_mwh], abs=0.01)
    assert len(grid) == 2  # a zero draws nothing, and a day without PV no PV bar
    _, y, _, h = grid[0]
    # stacked: day 1's grid bar starts where its PV bar ends
    assert y + h == pytest.approx(BOTTOM - 1.0 * per_mwh, abs=0.01)
    assert h == pytest.approx(3.0 * per_mwh, abs=0.01)
    assert grid[1][3] == pytest.approx(4.0 * per_mwh, abs=0.01)  # day 3: grid alone, from 0
    assert grid[1][1] + grid[1][3] == pytest.approx(BOTTOM, abs=0.01)


def test_a_line_breaks_where_a_day_has_no_value() -> None:
    root = parse(chart_svg(energy_chart(), str))
    lines = root.findall("s:polyline", NS)
    assert lines == []  # consumption has values on days 1 and 3 only: no two neighbours
    dots = root.findall("s:path[@class='dots']", NS)
    assert len(dots) == 1 and (dots[0].get("d") or "").count("z") == 2  # a dot on days 1 and 3
    shares = Chart(
        "green_chart",
        "Green share per day",
        "lines",
        DAYS,
        (
            Series("Volumetric", (0.5, 0.6, 0.7), "days.*.volumetric_share", "line"),
            Series("Target", (0.5, 0.5, 0.5), "green.target_share", "dashed"),
        ),
        "Share",
        percent=True,
    )
    root = parse(chart_svg(shares, str))
    lines = root.findall("s:polyline", NS)
    assert len(lines) == 2
    assert lines[1].get("stroke-dasharray")
    ys = [float(p.split(",")[1]) for p in (lines[0].get("points") or "").split()]
    # 50 % on a 0..105 % axis
    assert ys[0] == pytest.approx(BOTTOM - 0.5 / 1.05 * (BOTTOM - TOP), abs=0.01)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "100%" in texts and "01" in texts and "2026-11" in texts


def test_labels_are_translated_and_escaped_and_the_bytes_repeat() -> None:
    svg = chart_svg(energy_chart(), lambda m: {"PV": "光伏 <&>"}.get(m, m))
    assert "光伏 &lt;&amp;&gt;" in svg
    parse(svg)  # well-formed
    assert chart_svg_of(energy_chart(), "zh") == chart_svg_of(energy_chart(), "zh")
    assert "光伏" in chart_svg_of(energy_chart(), "zh")
    assert chart_svg(energy_chart(), str) == chart_svg(energy_chart(), str)
