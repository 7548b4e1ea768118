"""One office document (title, 编号, organisation and date lines, a table) rendered as DOCX, PDF or CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape

from domain import office_docs
from domain.office_docs import clean

FORMATS = ("docx", "pdf", "csv")
PDF_FONT = "STSong-Light"  # the CJK font domain/notices/pdf.py uses (built into reportlab)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: a spreadsheet would run these


@dataclass
class Sheet:
    """What a filed list holds, independent of its file format."""

    title: str
    number: str  # the 编号 line's value
    org_line: str
    date_line: str
    extra_lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)  # relative column widths

    def head_lines(self) -> list[str]:
        """The lines above the table, after the title."""
        return [f"编号：{self.number}", self.org_line, self.date_line, *self.extra_lines]


def render(sheet: Sheet, fmt: str) -> bytes:
    """The sheet as a file of the format (docx, pdf or csv)."""
    sheet = cleaned(sheet)
    if fmt == "docx":
        return to_docx(sheet)
    if fmt == "pdf":
        return to_pdf(sheet)
    if fmt == "csv":
        return to_csv(sheet)
    raise ValueError(f"unknown format {fmt!r}")


def cleaned(sheet: Sheet) -> Sheet:
    """The sheet with every text cleaned."""
    return replace(sheet, title=clean(sheet.title), number=clean(sheet.number), org_line=clean(sheet.org_line),
                   date_line=clean(sheet.date_line), extra_lines=[clean(x) for x in sheet.extra_lines],
                   header=[clean(x) for x in sheet.header], rows=[[clean(c) for c in row] for row in sheet.rows])


def safe_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ tab or CR gets a quote before it (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(sheet: Sheet) -> bytes:
    """CSV in UTF-8 with a BOM (Excel opens it): title and head lines, a blank row, then the table."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(sheet.title)])
    for line in sheet.head_lines():
        writer.writerow([safe_cell(line)])
    writer.writerow([])
    writer.writerow([safe_cell(c) for c in sheet.header])
    writer.writerows([[safe_cell(c) for c in row] for row in sheet.rows])
    return out.getvalue().encode("utf-8-sig")


def to_docx(sheet: Sheet) -> bytes:
    """A Word document: centred title, head lines, a bordered table."""
    doc = office_docs.new_document(sheet.title, sheet.head_lines())
    office_docs.add_grid(doc, sheet.header, sheet.rows)
    return office_docs.document_bytes(doc)


def to_pdf(sheet: Sheet) -> bytes:
    """An A4 PDF in the CJK font: title, head lines, a table whose cells wrap."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=11, leading=16, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=10, leading=14)
    head = ParagraphStyle("title", parent=body, fontSize=18, leading=28, alignment=TA_CENTER)

    def para(text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=sheet.title)
    story: list = [para(sheet.title, head), Spacer(1, 4 * mm)]
    story += [para(line, body) for line in sheet.head_lines()]
    story.append(Spacer(1, 4 * mm))
    weights = sheet.widths or [1.0] * len(sheet.header)
    widths = [doc.width * w / sum(weights) for w in weights]
    data = [[para(h, cell) for h in sheet.header]] + [[para(c, cell) for c in row] for row in sheet.rows]
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)  # a cell taller than a page goes on
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE"))]))
    story.append(table)
    doc.build(story)
    return buf.getvalue()
