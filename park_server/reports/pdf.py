"""The report as PDF: the same HTML printed by WeasyPrint on A4, Chinese in Noto Sans CJK
(embedded, subset). No browser is involved: the charts are already SVG.

WeasyPrint is pure Python and holds one core, and it lays out some 9,000 table cells for a park
of 500 meters. A report of :data:`PARALLEL_CELLS` cells or more is therefore printed in two
parts at once when this process may use two cores: the cover and the first scopes here, the
other scopes and the appendix in a child process (``python -m park_server.reports.pdf IN OUT``).
Every scope starts a page, so the parts' pages are the whole's. The parts are printed without
page numbers, joined by qpdf (pikepdf), and each page is stamped with its "n / N", which
WeasyPrint prints from the same stylesheet on empty pages of the same page box; the parts'
bookmarks become one outline. When the child fails, its
part is printed here: the PDF is never lost. One report at a time has a child; a report printed
meanwhile (another thread of the server) is printed in one run.

The cyclic garbage collector is paused while WeasyPrint runs: collecting among its hundreds of
thousands of live boxes found nothing worth it and cost 15-20 % of the time. (Process-wide for
that while; the other threads of a server only collect later.)
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from park_server.reports.html import Part
    from park_server.reports.model import Report

log = logging.getLogger("zcpark.reports")

#: table cells (charts counted as cells) from which a report is printed in two processes
PARALLEL_CELLS = 3000
#: the share of the layout work (in cells) aimed at for this process's part. Measured at 500
#: meters, three runs each: the cut nearest 0.45 (cover and 5 of 11 scopes here) printed the PDF
#: in 11.2-12.3 s, the next one (6 scopes here) in 12.9-14.7 s
FIRST_SHARE = 0.45
#: one report at a time is printed in two processes; another meanwhile is printed in one
_child_slot = threading.BoundedSemaphore(1)
#: how long the child may take, from its start, before its part is printed here instead [s]
CHILD_TIMEOUT_S = 600


def render_pdf(report: Report, lang: str = "zh", *, parts: int | None = None) -> bytes:
    """The report in ``lang`` as PDF bytes, dated with the report's generation time.

    ``parts``: 1 prints it in this process, 2 in two (this one and a child); None chooses 2 for
    a report of :data:`PARALLEL_CELLS` or more when two cores are available."""
    # the HTML module (Jinja, Babel) is imported here, not above: the child loads WeasyPrint only
    from park_server.reports.html import print_parts, render_html, report_cells

    if parts is None:
        parts = 2 if _cores() >= 2 and report_cells(report) >= PARALLEL_CELLS else 1
    cut = print_parts(report, FIRST_SHARE) if parts >= 2 else None
    meta = _metadata(report)
    # one child at a time: the two cores are used by one report already
    if cut is None or not _child_slot.acquire(blocking=False):
        return _print(render_html(report, lang, for_print=True), meta=meta)
    try:
        return _print_in_two(report, lang, cut, meta)
    finally:
        _child_slot.release()


def _print_in_two(report: Report, lang: str, cut: tuple[Part, Part], meta: dict[str, str]) -> bytes:
    """The two parts of ``cut``, the first here and the second in a child, joined."""
    from park_server.reports.html import page_numbers_html, render_html

    with tempfile.TemporaryDirectory(prefix="zcpark-pdf-") as tmp:
        child = _Child(Path(tmp))
        try:
            child.give(render_html(report, lang, for_print=True, part=cut[1]))
            counted: list[int] = []
            first = _print(render_html(report, lang, for_print=True, part=cut[0]), counted.append)
            # the child tells its page count when its layout is done, before it writes its PDF:
            # the page numbers are printed meanwhile
            theirs = child.pages()
            numbers = (
                None if theirs is None else _print(page_numbers_html(lang, counted[0] + theirs))
            )
            second, second_pages = child.result()
        finally:
            child.stop()
    total = counted[0] + second_pages
    if numbers is None or theirs != second_pages:
        numbers = _print(page_numbers_html(lang, total))
    return _join([first, second], numbers, meta)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _metadata(report: Report) -> dict[str, str]:
    # a reproducible file: the dates are the report's, not the moment of rendering
    when = datetime.fromtimestamp(report.meta.generated_ms / 1000, UTC)
    return {
        "title": f"{report.meta.park} {report.meta.month} r{report.meta.revision}",
        "when": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pdf_date": when.strftime("D:%Y%m%d%H%M%SZ"),
    }


def _print(
    html: str,
    on_layout: Callable[[int], object] | None = None,
    meta: dict[str, str] | None = None,
) -> bytes:
    """One WeasyPrint run: HTML to PDF bytes, the garbage collector paused meanwhile;
    ``on_layout`` is told the page count once the pages are laid out, before they are drawn."""
    from weasyprint import HTML  # imported here: it loads Pango, which only this needs

    with _gc_paused():
        doc = HTML(string=html, base_url=None).render()
        if on_layout is not None:
            on_layout(len(doc.pages))
        if meta is not None:
            doc.metadata.title = meta["title"]
            doc.metadata.created = doc.metadata.modified = meta["when"]
        pdf: bytes = doc.write_pdf()
    return pdf


_gc_lock = threading.Lock()
_gc_pauses = 0  # WeasyPrint runs under way in this process
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic collector off while any thread of this process prints, back as it was when
    the last one ends (two reports may print at once in a server's threads)."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def child_command(src: Path, dst: Path) -> list[str]:
    """The command printing the HTML file ``src`` to the PDF ``dst`` (this module, run) once
    its standard input ends."""
    return [sys.executable, "-m", "park_server.reports.pdf", "--wait", str(src), str(dst)]


class _Child:
    """The second part, printed by a child process. The child starts before its HTML exists,
    so that Python and WeasyPrint load while this process renders the HTML; :meth:`give` hands
    the HTML over, :meth:`result` waits for the PDF, or prints the part here when the child
    could not."""

    def __init__(self, tmp: Path) -> None:
        self.html = ""
        self.src, self.dst, self.err = tmp / "part.html", tmp / "part.pdf", tmp / "stderr.txt"
        self.count = self.dst.with_suffix(".pages")
        self.deadline = time.monotonic() + CHILD_TIMEOUT_S
        try:
            with open(self.err, "wb") as err:
                self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                    child_command(self.src, self.dst),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
        except OSError as exc:
            log.warning("report PDF: no child process (%s); printing both parts here", exc)
            self.proc = None

    def give(self, html: str) -> None:
        """Write the part's HTML, then end the child's standard input: its signal to go."""
        self.html = html
        self.src.write_text(html, encoding="utf-8")
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):  # the child has gone; result() says why
                self.proc.stdin.close()

    def pages(self) -> int | None:
        """The child's page count once its layout is done (None if it ended without one)."""
        while (
            self.proc is not None
            and not self.count.is_file()
            and self.proc.poll() is None
            and time.monotonic() < self.deadline
        ):
            time.sleep(0.02)
        return self._told()

    def _told(self) -> int | None:
        return int(self.count.read_text(encoding="ascii")) if self.count.is_file() else None

    def stop(self) -> None:
        """End the child if it still runs (this process's part failed)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def result(self) -> tuple[bytes, int]:
        """The part's PDF and its page count."""
        why = "it could not start"
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=max(0.0, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = None
            told = self._told()
            if code == 0 and self.dst.is_file() and told is not None:
                return self.dst.read_bytes(), told
            said = self.err.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            why = (
                f"it took over {CHILD_TIMEOUT_S} s"
                if code is None
                else f"it exited {code}: {said[-1] if said else 'no message'}"
            )
        log.warning("report PDF: the child process printed no part (%s); printing it here", why)
        counted: list[int] = []
        return _print(self.html, counted.append), counted[0]


def _join(parts: list[bytes], numbers_pdf: bytes, meta: dict[str, str]) -> bytes:
    """The parts as one PDF (qpdf, through pikepdf), every page stamped with its page of
    ``numbers_pdf`` ("n / N"), the parts' bookmarks one outline."""
    import pikepdf

    out = pikepdf.Pdf.open(io.BytesIO(parts[0]))
    sources = []  # open until the joined file is saved: its pages still read from them
    with out.open_outline() as outline:
        for part in parts[1:]:
            src = pikepdf.Pdf.open(io.BytesIO(part))
            sources.append(src)
            where = {p.objgen: len(out.pages) + i for i, p in enumerate(src.pages)}
            out.pages.extend(src.pages)
            with src.open_outline() as theirs:
                outline.root.extend(_bookmarks(theirs.root, where))
    numbers = pikepdf.Pdf.open(io.BytesIO(numbers_pdf))
    for page, number in zip(out.pages, numbers.pages, strict=True):
        page.add_overlay(number, pikepdf.Rectangle(page.mediabox))
    out.docinfo["/Title"] = meta["title"]
    out.docinfo["/CreationDate"] = out.docinfo["/ModDate"] = meta["pdf_date"]
    buf = io.BytesIO()
    out.save(buf, deterministic_id=True)
    for src in sources:
        src.close()
    return buf.getvalue()


def _bookmarks(items: list[Any], where: dict[Any, int]) -> list[Any]:
    """Copies of a part's outline items pointing at its pages' places in the joined PDF."""
    import pikepdf

    copied = []
    for item in items:
        dest = item.destination
        if not isinstance(dest, pikepdf.Array):
            raise ValueError(f"report PDF: bookmark {item.title!r} has no page destination")
        at: dict[str, Any] = {}
        if len(dest) >= 4 and dest[1] == "/XYZ":
            at = {"page_location": pikepdf.PageLocation.XYZ, "left": dest[2], "top": dest[3]}
        new = pikepdf.OutlineItem(item.title, where[dest[0].objgen], **at)
        new.children.extend(_bookmarks(item.children, where))
        copied.append(new)
    return copied


def _child_main(argv: list[str]) -> int:
    """``python -m park_server.reports.pdf [--wait] IN OUT``: print the HTML file IN to the PDF
    OUT, writing its page count to OUT with the suffix ``.pages`` once the layout is done; with
    ``--wait``, WeasyPrint is loaded first and IN read once standard input ends."""
    wait = argv[:1] == ["--wait"]
    args = argv[1:] if wait else argv
    if len(args) != 2:
        print("usage: python -m park_server.reports.pdf [--wait] IN.html OUT.pdf", file=sys.stderr)
        return 2
    if wait:
        import weasyprint  # noqa: F401 - loaded while the server renders the HTML

        sys.stdin.buffer.read()
    src, dst = (Path(a) for a in args)

    def tell(pages: int) -> None:  # OUT.pages: the page count, as soon as it is known
        _write(dst.with_suffix(".pages"), str(pages).encode("ascii"))

    _write(dst, _print(src.read_text(encoding="utf-8"), tell))
    return 0


def _write(path: Path, data: bytes) -> None:
    """``path`` appears whole or not at all."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    part.replace(path)


if __name__ == "__main__":
    raise SystemExit(_child_main(sys.argv[1:]))
