"""The report's charts, drawn on the server as SVG (matplotlib), so the PDF needs no browser.

Text is drawn as paths in Noto Sans CJK (Debian's fonts-noto-cjk), so Chinese labels show the
same in a browser, in WeasyPrint and on paper. The SVG is deterministic (no date, fixed ids):
the same chart gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("svg")

from matplotlib import font_manager
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from park_server.reports.model import Chart

#: fonts-noto-cjk's sans collection; its Simplified Chinese face draws every label
CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
)
CJK_FAMILY = "Noto Sans CJK SC"
#: source, in stacking order, to colour (same colour in every chart and language)
COLOURS = ("#f2b705", "#2a9d8f", "#8ab17d", "#6a4c93", "#8d99ae", "#264653", "#e76f51")
WIDTH_IN, HEIGHT_IN = 7.0, 2.9
#: glyphs as paths: the SVG needs no font where it is shown (tried "none": no faster in WeasyPrint)
FONTTYPE = "path"


class FontMissing(RuntimeError):
    """The CJK font is not installed (apt-get install fonts-noto-cjk; .ci/system-deps.sh)."""


@cache
def _font_family() -> str:
    found = [p for p in CJK_FONT_FILES if p.exists()]
    if not found:
        raise FontMissing(f"{CJK_FONT_FILES[0]} not found: install Debian's fonts-noto-cjk")
    for p in found:
        font_manager.fontManager.addfont(str(p))
    return CJK_FAMILY


def chart_svg(chart: Chart, tr: Callable[[str], str]) -> str:
    """``chart`` as an SVG document (text as paths); ``tr`` translates the message ids."""
    family = _font_family()
    rc: dict[str, Any] = {
        "font.family": family,
        "font.size": 7.5,
        "svg.fonttype": FONTTYPE,
        "svg.hashsalt": f"zcpark-{chart.id}",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot(1, 1, 1)
        n = len(chart.x)
        xs = list(range(n))
        scale = 1000.0 if chart.mwh else 1.0
        if chart.kind == "stacked_bar":
            bottom = [0.0] * n
            bars = [s for s in chart.series if s.style == "bar"]
            for i, s in enumerate(bars):
                vals = [(v or 0.0) / scale for v in s.values]
                ax.bar(
                    xs,
                    vals,
                    0.78,
                    bottom=bottom,
                    label=tr(s.name),
                    color=COLOURS[i % 7],
                    linewidth=0,
                )
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        lines = [s for s in chart.series if s.style != "bar"]
        for j, s in enumerate(lines):
            vals = [float("nan") if v is None else v / scale for v in s.values]
            ax.plot(
                xs,
                vals,
                label=tr(s.name),
                color="#1d3557" if j == 0 else ("#e63946" if s.style == "line" else "#555555"),
                linestyle="--" if s.style == "dashed" else "-",
                linewidth=1.4 if s.style != "dashed" else 1.0,
                marker="o" if s.style == "line" else None,
                markersize=2.2,
            )
        ax.set_xticks(xs)
        ax.set_xticklabels([d[-2:] for d in chart.x])  # day of month: never overlapping
        ax.set_xlim(-0.7, n - 0.3)
        if chart.x:
            ax.set_xlabel(chart.x[0][:7])
        ax.set_ylabel(tr(chart.y_label))
        if chart.percent:
            ax.set_ylim(0, 1.05)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.grid(axis="y", linewidth=0.4, color="#cccccc")
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=6.5)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.22),
            ncol=min(6, len(chart.series)),
            frameon=False,
            fontsize=7,
        )
        fig.subplots_adjust(left=0.08, right=0.99, top=0.96, bottom=0.32)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


@lru_cache(maxsize=256)
def chart_svg_of(chart: Chart, lang: str) -> str:
    """:func:`chart_svg` in ``lang``, kept for the same chart (a frozen value): the PDF of a
    report whose HTML was just rendered draws no chart again."""
    from park_server.reports.fmt import gettext

    return chart_svg(chart, lambda msgid: gettext(lang, msgid))
