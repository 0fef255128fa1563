"""The report as PDF: the same HTML printed by WeasyPrint on A4, Chinese in Noto Sans CJK
(embedded, subset). No browser is involved: the charts are already SVG."""

from __future__ import annotations

from park_server.reports.html import render_html
from park_server.reports.model import Report


def render_pdf(report: Report, lang: str = "zh") -> bytes:
    """The report in ``lang`` as PDF bytes (metadata dated with the report's generation time)."""
    from weasyprint import HTML  # imported here: it loads Pango, which only this needs

    html = render_html(report, lang, for_print=True)
    doc = HTML(string=html, base_url=None).render()
    # a reproducible file: the creation date is the report's, not the moment of rendering
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(report.meta.generated_ms / 1000, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    doc.metadata.created = when
    doc.metadata.modified = when
    doc.metadata.title = f"{report.meta.park} {report.meta.month} r{report.meta.revision}"
    pdf: bytes = doc.write_pdf()
    return pdf
