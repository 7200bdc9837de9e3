"""The printable log as PDF, drawn with ReportLab's canvas row by row as the rows arrive from the cursor.

Drawn, not laid out: a layout engine (WeasyPrint, or platypus's tables) measures the whole document in
memory before writing a page (WeasyPrint took about 10 s per 400 rows under load). Here each row is
drawn as it comes, a page is finished when it is full, and the column headings repeat on every
page. A cell too wide for its column wraps onto up to three lines, the last cut short with an ellipsis
(the CSV has every character).

Each call draws on the CPU for a while: the route runs `add` and `finish` in a worker thread.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path
from typing import IO, Any

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from services.reporting.entries.domain import LogEntry
from services.reporting.logs.report import TOTALS_LEGEND, Report, entry_row, header
from services.reporting.usage.chart import EXPIRED_COLOUR, IN_COLOUR, OUT_COLOUR, PROMOTIONAL_COLOUR

CONTENT_TYPE = "application/pdf"

_PAGE = landscape(A4)
_LEFT, _RIGHT, _TOP, _BOTTOM = 12 * mm, 12 * mm, 16 * mm, 18 * mm
_WIDTH = _PAGE[0] - _LEFT - _RIGHT
_ROW_FONT_SIZE = 7.5
_LINE_HEIGHT = _ROW_FONT_SIZE + 1
# A long note or reference wraps onto this many lines at most, the last cut short (the CSV has it whole).
_MAX_LINES = 3
_PAD = 2.5
_GREY = (0.4, 0.4, 0.4)
_WARNING = (0.706, 0.325, 0.035)  # the page's #b45309

# Date/time, Account, Direction, Quantity, Kind, Balance after, Counterparty, By, Reference, Note: the
# HTML page's widths, in percent. Right-aligned columns are the numbers.
_COLUMNS = (
    ("Date/time", "occurred_at", 15, False),
    ("Account", "account", 11, False),
    ("Direction", "direction", 6, False),
    ("Quantity", "quantity", 6, True),
    ("Kind", "kind", 9, False),
    ("Balance after", "balance_after", 8, True),
    ("Counterparty", "counterparty", 11, False),
    ("By", "by", 10, False),
    ("Reference", "reference", 9, False),
    ("Note", "note", 15, False),
)

# DejaVu has every script people type names in; the PDF's built-in Helvetica only has Latin-1.
_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


@functools.cache
def _fonts() -> tuple[str, str, str]:
    """(regular, bold, italic) font names, registered once per process."""
    faces = {"SmsDejaVu": "DejaVuSans.ttf", "SmsDejaVu-Bold": "DejaVuSans-Bold.ttf",
             "SmsDejaVu-Oblique": "DejaVuSans-Oblique.ttf"}
    if all((_FONT_DIR / file).exists() for file in faces.values()):
        for name, file in faces.items():
            pdfmetrics.registerFont(TTFont(name, str(_FONT_DIR / file)))
        return "SmsDejaVu", "SmsDejaVu-Bold", "SmsDejaVu-Oblique"
    return "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"


class PdfReport:
    """One report being written to `out`: the header, totals and chart at once, then `add` for each
    chunk of rows (oldest first) and `finish` once. Memory holds one chunk of rows; the canvas keeps
    each finished page compressed (a few kilobytes: about the file's size in all) until `finish` writes
    the file."""

    def __init__(self, report: Report, out: IO[bytes]) -> None:
        self._regular, self._bold, self._italic = _fonts()
        self._report = report
        self._canvas = Canvas(out, pagesize=_PAGE, pageCompression=1)
        self._canvas.setTitle(f"SMS credits log: {report.directory.display_name}")
        self._page = 1
        self._rows = 0
        self._y = _PAGE[1] - _TOP
        self._widths = [_WIDTH * share / 100 for _, _, share, _ in _COLUMNS]
        self._fits: dict[tuple[str, str, float], str] = {}
        self._head(header(report))

    def add(self, entries: list[LogEntry]) -> None:
        directory = self._report.directory
        for entry in entries:
            self._row(entry_row(entry, directory))
            self._rows += 1

    def finish(self) -> None:
        if self._rows == 0:
            self._line("No movements in this period.", self._regular, _ROW_FONT_SIZE)
        self._footer()
        # Every page's "n / N" names a form drawn only now, when N is known.
        self._canvas.beginForm("page-count")
        self._canvas.setFont(self._regular, 8)
        self._canvas.setFillColorRGB(*_GREY)
        self._canvas.drawString(0, 0, str(self._page))
        self._canvas.endForm()
        self._canvas.save()

    # The first page: who, when, the totals and the chart.

    def _head(self, fields: dict[str, Any]) -> None:
        self._line("SMS credits log", self._bold, 15, gap=8)
        meta = [
            ("Organisation", fields["tenant"]),
            ("Period", f"{fields['period_from']} to {fields['period_to']} ({fields['timezone']})"),
            ("Generated", f"{fields['generated_at']} by {fields['generated_by']}"),
        ]
        if fields["narrowed_to"]:
            meta.append(("Rows shown", f"{fields['narrowed_to']} only; the totals count every movement of the period"))
        for label, value in meta:
            self._canvas.setFont(self._bold, 9)
            self._canvas.drawString(_LEFT, self._y - 9, label)
            self._canvas.setFont(self._regular, 9)
            self._canvas.drawString(_LEFT + 28 * mm, self._y - 9, value)
            self._y -= 12
        if fields["stale"]:
            self._canvas.setFillColorRGB(*_WARNING)
            self._line("The log had not yet caught up with your latest change when this report was made; "
                       "it may be missing it.", self._regular, 9, gap=4)
            self._canvas.setFillColorRGB(0, 0, 0)
        self._totals(fields["totals"])
        self._chart()
        self._line("Movements", self._bold, 11, gap=14)
        self._canvas.setFillColorRGB(*_GREY)
        self._line("Oldest first. Rows in grey italics are reservations (a hold placed for a message, or released "
                   "by a void or expiry): they change the credits available, not the balance, and the totals do "
                   "not count them.", self._regular, 7.5)
        self._canvas.setFillColorRGB(0, 0, 0)
        self._column_headings()

    def _totals(self, totals: list[dict[str, Any]]) -> None:
        self._line("Totals per account", self._bold, 11, gap=14)
        columns = [("Account", 70 * mm, False), ("Opening balance", 32 * mm, True), ("Purchased in", 32 * mm, True),
                   ("Promotional in", 32 * mm, True), ("Credits out", 32 * mm, True),
                   ("Credits expired", 32 * mm, True), ("Closing balance", 32 * mm, True)]
        keys = ("account", "opening", "purchased_in", "promotional_in", "credits_out", "expired", "closing")
        self._table_row([c[0] for c in columns], [(w, right) for _, w, right in columns], self._bold, 9)
        for t in totals:
            self._table_row([t[key] for key in keys], [(w, right) for _, w, right in columns], self._regular, 9)
            if not t["balanced"]:
                self._canvas.setFillColorRGB(*_WARNING)
                self._line("This account's log does not add up: it is missing a movement. Ask an operator to "
                           "reconcile the log.", self._regular, 8)
                self._canvas.setFillColorRGB(0, 0, 0)
        if not totals:
            self._line("No account in this report has any credits logged.", self._regular, 9)
        self._canvas.setFillColorRGB(*_GREY)
        self._line(TOTALS_LEGEND, self._regular, 7.5, gap=2)
        self._canvas.setFillColorRGB(0, 0, 0)

    def _chart(self) -> None:
        """Credits in and out per day as stacked bars, in the HTML chart's colours, with the largest figure."""
        colours = {name: HexColor(value) for name, value in (
            ("in", IN_COLOUR), ("promotional", PROMOTIONAL_COLOUR), ("out", OUT_COLOUR), ("expired", EXPIRED_COLOUR))}
        usage = self._report.usage
        self._line("Credits per day", self._bold, 11, gap=14)
        height, width = 34 * mm, min(_WIDTH, 190 * mm)
        if self._y - height - 20 < _BOTTOM:
            self._next_page()
        c = self._canvas
        top = max([1, *(d.credits_in for d in usage), *(d.credits_out for d in usage)])
        base = self._y - height - 4
        slot = width / max(1, len(usage))
        bar = max(0.5, slot * 0.38)
        c.setStrokeColorRGB(0.6, 0.6, 0.6)
        c.line(_LEFT, base, _LEFT + width, base)
        for i, day in enumerate(usage):
            x = _LEFT + i * slot + slot * 0.1
            for left, pieces in ((x, (("in", day.purchased_in), ("promotional", day.promotional_in))),
                                 (x + bar, (("out", day.out_not_expired), ("expired", day.expired)))):
                bottom = base
                for name, value in pieces:
                    c.setFillColor(colours[name])
                    c.rect(left, bottom, bar, height * value / top, stroke=0, fill=1)
                    bottom += height * value / top
        c.setFillColorRGB(*_GREY)
        c.setFont(self._regular, 7)
        c.drawString(_LEFT + width + 4, base + height - 6, f"{top:,}")
        if usage:
            c.drawString(_LEFT, base - 9, usage[0].day.isoformat())
            c.drawRightString(_LEFT + width, base - 9, usage[-1].day.isoformat())
        self._chart_legend(colours, _LEFT + width / 2, base - 9)
        self._y = base - 14

    def _chart_legend(self, colours: dict[str, Color], middle: float, y: float) -> None:
        c = self._canvas
        legend = (("in", "Purchased"), ("promotional", "Promotional"), ("out", "Credits out"), ("expired", "Expired"))
        for n, (name, label) in enumerate(legend):
            x = middle - 104 + n * 52
            c.setFillColor(colours[name])
            c.rect(x, y, 6, 6, stroke=0, fill=1)
            c.setFillColorRGB(*_GREY)
            c.drawString(x + 8, y, label)
        c.setFillColorRGB(0, 0, 0)

    # Rows, pages and text.

    def _column_headings(self) -> None:
        self._table_row([title for title, _, _, _ in _COLUMNS],
                        [(w, right) for w, (_, _, _, right) in zip(self._widths, _COLUMNS, strict=True)],
                        self._bold, _ROW_FONT_SIZE, rule=0.9)

    def _row(self, row: dict[str, Any]) -> None:
        reservation = row["reservation"]
        font = self._italic if reservation else self._regular
        columns = [(w, right) for w, (_, _, _, right) in zip(self._widths, _COLUMNS, strict=True)]
        cells = [self._wrap(row[key], font, _ROW_FONT_SIZE, width - 2 * _PAD) for (_, key, _, _), (width, _)
                 in zip(_COLUMNS, columns, strict=True)]
        if self._y - max(len(lines) for lines in cells) * _LINE_HEIGHT - 3 < _BOTTOM:
            self._next_page()
            self._column_headings()
        if reservation:
            self._canvas.setFillColorRGB(*_GREY)
        self._draw_row(cells, columns, font, _ROW_FONT_SIZE)
        if reservation:
            self._canvas.setFillColorRGB(0, 0, 0)

    def _table_row(self, cells: list[str], columns: list[tuple[float, bool]], font: str, size: float,
                   rule: float = 0.3) -> None:
        self._draw_row([[self._fit(text, font, size, width - 2 * _PAD)] for text, (width, _) in
                        zip(cells, columns, strict=True)], columns, font, size, rule)

    def _draw_row(self, cells: list[list[str]], columns: list[tuple[float, bool]], font: str, size: float,
                  rule: float = 0.3) -> None:
        c = self._canvas
        c.setFont(font, size)
        x = _LEFT
        for lines, (width, right) in zip(cells, columns, strict=True):
            baseline = self._y - size - 1
            for line in lines:
                if right:
                    c.drawRightString(x + width - _PAD, baseline, line)
                else:
                    c.drawString(x + _PAD, baseline, line)
                baseline -= size + 1
            x += width
        self._y -= max(len(lines) for lines in cells) * (size + 1) + 2
        c.setStrokeColorRGB(0.73, 0.73, 0.73)
        c.setLineWidth(rule)
        c.line(_LEFT, self._y, x, self._y)

    def _wrap(self, text: str, font: str, size: float, width: float) -> list[str]:
        """The cell on up to _MAX_LINES lines, broken at spaces where it can be, the last cut short."""
        # No glyph is wider than the font size: a short cell needs no measuring (most cells).
        if len(text) * size <= width or pdfmetrics.stringWidth(text, font, size) <= width:
            return [text]
        text = " ".join(text.split())  # line breaks and tabs typed in a note are spaces here
        lines: list[str] = []
        while text and len(lines) < _MAX_LINES - 1 and pdfmetrics.stringWidth(text, font, size) > width:
            # The longest start of the text that fits, found by halving, then back to its last space.
            low, high = 1, len(text)
            while low < high:
                middle = (low + high + 1) // 2
                if pdfmetrics.stringWidth(text[:middle], font, size) <= width:
                    low = middle
                else:
                    high = middle - 1
            space = text.rfind(" ", 0, low + 1)
            end = space if space > 0 else low
            lines.append(text[:end])
            text = text[end:].lstrip()
        if text:
            lines.append(self._fit(text, font, size, width))
        return lines

    def _fit(self, text: str, font: str, size: float, width: float) -> str:
        # No glyph is wider than the font size: a short cell needs no measuring (most cells).
        if len(text) * size <= width:
            return text
        if pdfmetrics.stringWidth(text, font, size) <= width:
            return text
        key = (text, font, width)
        if (cut := self._fits.get(key)) is None:
            cut = text
            while cut and pdfmetrics.stringWidth(cut + "…", font, size) > width:
                cut = cut[:-1]
            cut += "…"
            if len(self._fits) < 10_000:  # names repeat; notes seldom do: bounded either way
                self._fits[key] = cut
        return cut

    def _line(self, text: str, font: str, size: float, gap: float = 0) -> None:
        self._y -= gap
        if self._y - size - 3 < _BOTTOM:
            self._next_page()
        self._canvas.setFont(font, size)
        self._canvas.drawString(_LEFT, self._y - size, self._fit(text, font, size, _WIDTH))
        self._y -= size + 4

    def _next_page(self) -> None:
        self._footer()
        self._canvas.showPage()
        self._compress_finished_page()
        self._page += 1
        self._y = _PAGE[1] - _TOP

    def _compress_finished_page(self) -> None:
        """Compress the page just finished now rather than when the file is saved: ReportLab keeps every
        page's drawing commands as text until `save`, some 40 KB a page, so 100,000 rows held 90 MB; as
        compressed streams they hold a tenth of that (what the file will hold anyway). Relies on
        ReportLab's document internals (its pages list, PDFStream's "Filter already applied" rule)."""
        page = self._canvas._doc.Pages.pages[-1]
        if page.Contents or not page.stream:
            return
        stream = PDFStream(PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])}),
                           zlib.compress(page.stream.encode("utf-8")))
        stream.__Comment__ = "page stream"
        page.Contents, page.stream = stream, None

    def _footer(self) -> None:
        c = self._canvas
        c.setFont(self._regular, 8)
        c.setFillColorRGB(*_GREY)
        label = f"{self._page} / "
        x = _PAGE[0] - _RIGHT - 30
        c.drawRightString(x, _BOTTOM / 2, label)
        c.saveState()
        c.translate(x, _BOTTOM / 2)
        c.doForm("page-count")
        c.restoreState()
        c.setFillColorRGB(0, 0, 0)
