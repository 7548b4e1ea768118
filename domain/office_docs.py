"""Word documents in the layout offices file (centred 宋体 title, head lines, bordered tables), shared by the
opinion and feedback lists (domain/paperwork) and the participation records (domain/records)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not allowed in XML (DOCX), unprintable in a PDF


def clean(text: str) -> str:
    """The text without control characters (a pasted vertical tab would make the DOCX unwritable)."""
    return CONTROL_RE.sub("", text)


def new_document(title: str, head_lines: Sequence[str]) -> Any:
    """A python-docx Document in 宋体 with the centred bold title and the head lines under it."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "SimSun", Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")  # Chinese text in 宋体
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(clean(title))
    run.bold, run.font.size = True, Pt(18)
    for line in head_lines:
        doc.add_paragraph(clean(line))
    return doc


def add_grid(doc: Any, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A bordered table: a bold header row, then one row per entry (texts cleaned)."""
    grid = doc.add_table(rows=1, cols=len(header))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, header, strict=True):
        cell.text = clean(text)
        for paragraph in cell.paragraphs:
            for run in paragraph.runs:
                run.bold = True
    for row in rows:
        for cell, text in zip(grid.add_row().cells, row, strict=True):
            cell.text = clean(str(text))


def document_bytes(doc: Any) -> bytes:
    """The document as the bytes of a .docx file."""
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
