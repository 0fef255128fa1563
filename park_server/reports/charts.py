"""The report's charts, drawn on the server as small SVG documents, so the PDF needs no browser.

Two kinds (model.Chart): stacked bars per day with lines over them (electricity by source and
consumption), and lines per day (green shares and their target). A chart is some 60 plain
elements — a path of rectangles per bar series, a polyline and a path of dots per line, the axis
and grid as paths, the labels as ``<text>`` in Noto Sans CJK (Debian's fonts-noto-cjk, which
WeasyPrint embeds in the PDF; a browser uses its own CJK face when it lacks Noto). The SVG is
deterministic: the same chart gives the same bytes.

Drawn here rather than by matplotlib (docs/decisions.md): matplotlib took 0.34 s a chart, and
its SVG (every glyph a path, every patch clipped) cost WeasyPrint about as much again to draw;
a report of ten enterprises has 22 charts.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

from park_server.reports.model import Chart, Series

#: source, in stacking order, to colour (same colour in every chart and language)
COLOURS = ("#f2b705", "#2a9d8f", "#8ab17d", "#6a4c93", "#8d99ae", "#264653", "#e76f51")
#: the lines: the first, the others, a dashed reference (a target)
LINE_COLOURS = ("#1d3557", "#e63946")
DASHED_COLOUR = "#555555"
FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans SC', 'Noto Sans', sans-serif"
#: the drawing in points: 7 × 2.9 inches, shown at the page's width
WIDTH = 504.0
#: the plot area [pt]
LEFT, RIGHT, TOP, BOTTOM = 44.0, 498.0, 8.0, 140.0
FONT = 7.5
TICK_FONT = 6.5
LEGEND_FONT = 7.0
#: legend entries per row
LEGEND_COLUMNS = 6
#: the legend's first row's baseline below the plot, and the step to the next row [pt]
LEGEND_BELOW, LEGEND_ROW = 40.0, 12.0


def _num(v: float) -> str:
    """A coordinate with two decimals, trailing zeros cut (deterministic and short)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def text_width(s: str, size: float) -> float:
    """Estimated advance of ``s`` in Noto Sans CJK at ``size`` [pt]: a wide (CJK) character one
    em, a narrow one about 0.56 em (the face's Latin average). Used to centre the legend."""
    em = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.56 for c in s)
    return em * size


def nice_step(span: float, ticks: int = 6) -> float:
    """A step of 1, 2, 2.5 or 5 × 10ⁿ giving about ``ticks`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * power * (1 + 1e-9):
            return m * power
    return 10.0 * power


def y_axis(values: Sequence[float], percent: bool) -> tuple[float, float, list[float]]:
    """The y range and its tick values: 0..105 % for shares; otherwise from the smaller of 0
    and the least value to the first whole step 5 % or more above the greatest."""
    if percent:
        return 0.0, 1.05, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    finite = [v for v in values if math.isfinite(v)]
    # 5 % of room past the extremes, as matplotlib leaves: a bar never touches the frame
    lo = min([0.0, *finite]) * 1.05
    hi = max([0.0, *finite]) * 1.05
    if hi - lo <= 0:
        hi = lo + 1.0
    step = nice_step(hi - lo)
    lo = math.floor(lo / step + 1e-9) * step
    top = math.ceil(hi / step - 1e-9) * step
    n = round((top - lo) / step)
    return lo, top, [lo + i * step for i in range(n + 1)]


def tick_label(v: float, step: float, percent: bool) -> str:
    if percent:
        return f"{v:.0%}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step >= 1 and step != int(step):  # 2.5, 25, …
        decimals = 1 if step < 10 else 0
    return f"{v:.{decimals}f}"


def chart_svg(chart: Chart, tr: Callable[[str], str]) -> str:
    """``chart`` as an SVG document; ``tr`` translates the message ids."""
    n = len(chart.x)
    scale = 1000.0 if chart.mwh else 1.0
    bars = [s for s in chart.series if s.style == "bar"]
    lines = [s for s in chart.series if s.style != "bar"]
    bar_values = [[(v or 0.0) / scale for v in s.values] for s in bars]
    line_values = [[None if v is None else v / scale for v in s.values] for s in lines]
    tops = [sum(col) for col in zip(*bar_values, strict=True)] if bar_values else []
    span_values = [*tops, *(v for vs in line_values for v in vs if v is not None)]
    lo, hi, ticks = y_axis(span_values, chart.percent)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    slot = (RIGHT - LEFT) / max(n, 1)

    def x_of(i: float) -> float:
        return LEFT + (i + 0.5) * slot

    def y_of(v: float) -> float:
        return BOTTOM - (v - lo) / (hi - lo) * (BOTTOM - TOP)

    rows = max(1, math.ceil(len(chart.series) / LEGEND_COLUMNS))
    # as tall as the legend's rows need: no blank band under it
    height = BOTTOM + LEGEND_BELOW + LEGEND_ROW * (rows - 1) + 6
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(WIDTH)}pt" '
        f'height="{_num(height)}pt" viewBox="0 0 {_num(WIDTH)} {_num(height)}" '
        f'font-family="{FONT_FAMILY}" font-size="{_num(FONT)}" role="img">',
        f"<title>{escape(tr(chart.title))}</title>",
    ]
    # the grid and the y axis's labels
    grid = " ".join(f"M{_num(LEFT)} {_num(y_of(t))}H{_num(RIGHT)}" for t in ticks)
    out.append(f'<path d="{grid}" stroke="#cccccc" stroke-width="0.4" fill="none"/>')
    out.append('<g text-anchor="end" fill="#333333">')
    for t in ticks:
        out.append(
            f'<text x="{_num(LEFT - 4)}" y="{_num(y_of(t) + FONT * 0.35)}">'
            f"{escape(tick_label(t, step, chart.percent))}</text>"
        )
    out.append("</g>")
    # the bars, stacked in the model's order: each series one path of rectangles (one node for
    # WeasyPrint to draw, not one a day)
    width = slot * 0.78
    bottom = [0.0] * n
    for k, vals in enumerate(bar_values):
        rects = []
        for i, v in enumerate(vals):
            if v != 0.0:
                y0, y1 = y_of(bottom[i]), y_of(bottom[i] + v)
                rects.append(
                    f"M{_num(x_of(i) - width / 2)} {_num(min(y0, y1))}h{_num(width)}"
                    f"v{_num(abs(y0 - y1))}h{_num(-width)}z"
                )
            bottom[i] += v
        if rects:
            out.append(f'<path fill="{COLOURS[k % len(COLOURS)]}" d="{"".join(rects)}"/>')
    # the lines, broken where a day has no value, with a dot per day unless dashed
    for j, (s, points) in enumerate(zip(lines, line_values, strict=True)):
        colour, stroke, dot = _line_colour(j, s.style), _stroke(j, s.style), _dot(j)
        runs: list[list[tuple[float, float]]] = [[]]
        for i, p in enumerate(points):
            if p is None or not math.isfinite(p):
                runs.append([])
            else:
                runs[-1].append((x_of(i), y_of(p)))
        dash = ' stroke-dasharray="3.7 1.6"' if s.style == "dashed" else ""
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in run)
                out.append(
                    f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                    f'stroke-width="{stroke}"{dash} stroke-linejoin="round"/>'
                )
        if s.style == "line":  # a dot a day, all in one path (two half-circle arcs each)
            dots = "".join(
                f"M{_num(x - dot)} {_num(y)}a{dot} {dot} 0 1 0 {_num(2 * dot)} 0"
                f"a{dot} {dot} 0 1 0 {_num(-2 * dot)} 0z"
                for run in runs
                for x, y in run
            )
            if dots:
                out.append(f'<path class="dots" fill="{colour}" d="{dots}"/>')
    # the axes (left and bottom), the days under their bars, the month under the days
    out.append(
        f'<path d="M{_num(LEFT)} {_num(TOP)}V{_num(BOTTOM)}H{_num(RIGHT)}" stroke="#222222" '
        'stroke-width="0.8" fill="none"/>'
    )
    marks = " ".join(f"M{_num(x_of(i))} {_num(BOTTOM)}v3" for i in range(n))
    marks += " " + " ".join(f"M{_num(LEFT)} {_num(y_of(t))}h-3" for t in ticks)
    out.append(f'<path d="{marks}" stroke="#222222" stroke-width="0.6" fill="none"/>')
    out.append(f'<g text-anchor="middle" font-size="{_num(TICK_FONT)}" fill="#333333">')
    for i, day in enumerate(chart.x):
        out.append(f'<text x="{_num(x_of(i))}" y="{_num(BOTTOM + 11)}">{escape(day[-2:])}</text>')
    out.append("</g>")
    if chart.x:
        out.append(
            f'<text x="{_num((LEFT + RIGHT) / 2)}" y="{_num(BOTTOM + 23)}" '
            f'text-anchor="middle">{escape(chart.x[0][:7])}</text>'
        )
    mid = (TOP + BOTTOM) / 2
    out.append(
        f'<text transform="translate(10 {_num(mid)}) rotate(-90)" text-anchor="middle">'
        f"{escape(tr(chart.y_label))}</text>"
    )
    out.extend(_legend(bars, lines, tr))
    out.append("</svg>")
    return "\n".join(out)


def _stroke(j: int, style: str) -> str:
    """Line width: the first line broader than those drawn over it, so where two lines are
    equal (the volumetric and the time-matched share of a day without trades) both show."""
    return "1" if style == "dashed" else ("2.6" if j == 0 else "1.3")


def _dot(j: int) -> float:
    return 1.8 if j == 0 else 1.1


def _line_colour(j: int, style: str) -> str:
    if j == 0:
        return LINE_COLOURS[0]
    return LINE_COLOURS[1] if style == "line" else DASHED_COLOUR


def _legend(bars: Sequence[Series], lines: Sequence[Series], tr: Callable[[str], str]) -> list[str]:
    """The legend under the plot, rows of up to six entries, each row centred; a line's swatch
    is drawn as its line is (colour, width, dash, dot)."""
    #: (style, index among its kind, label)
    entries = [("bar", k, tr(s.name)) for k, s in enumerate(bars)]
    entries += [(s.style, j, tr(s.name)) for j, s in enumerate(lines)]
    swatch, gap, pad = 12.0, 3.0, 12.0
    out = [f'<g font-size="{_num(LEGEND_FONT)}" fill="#222222">']
    for r in range(0, len(entries), LEGEND_COLUMNS):
        row = entries[r : r + LEGEND_COLUMNS]
        widths = [swatch + gap + text_width(label, LEGEND_FONT) for _, _, label in row]
        x = (WIDTH - sum(widths) - pad * (len(row) - 1)) / 2
        y = BOTTOM + LEGEND_BELOW + (r // LEGEND_COLUMNS) * LEGEND_ROW
        for (style, k, label), w in zip(row, widths, strict=True):
            if style == "bar":
                out.append(
                    f'<rect x="{_num(x)}" y="{_num(y - 5.5)}" width="{_num(swatch)}" '
                    f'height="6" fill="{COLOURS[k % len(COLOURS)]}"/>'
                )
            else:
                colour = _line_colour(k, style)
                dash = ' stroke-dasharray="3.7 1.6"' if style == "dashed" else ""
                out.append(
                    f'<path d="M{_num(x)} {_num(y - 2.5)}h{_num(swatch)}" stroke="{colour}" '
                    f'stroke-width="{_stroke(k, style)}"{dash} fill="none"/>'
                )
                if style == "line":
                    out.append(
                        f'<circle cx="{_num(x + swatch / 2)}" cy="{_num(y - 2.5)}" '
                        f"r={quoteattr(_num(_dot(k)))} fill={quoteattr(colour)}/>"
                    )
            out.append(f'<text x="{_num(x + swatch + gap)}" y="{_num(y)}">{escape(label)}</text>')
            x += w + pad
    out.append("</g>")
    return out


@lru_cache(maxsize=256)
def chart_svg_of(chart: Chart, lang: str) -> str:
    """:func:`chart_svg` in ``lang``, kept for the same chart (a frozen value): the PDF of a
    report whose HTML was just rendered draws no chart again."""
    from park_server.reports.fmt import gettext

    return chart_svg(chart, lambda msgid: gettext(lang, msgid))
