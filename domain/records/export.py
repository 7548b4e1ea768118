"""One member's participation record for 履职考核 (X-三(四), L-五(二)) as XLSX (openpyxl) or DOCX (python-docx).

The record holds the counts, then the meetings, topics, training and council terms one by one. Votes
appear as a count only: which poll, when, and above all which choice are never written; questionnaires too (the
sheets submitted, never an answer).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from domain import office_docs
from domain.errors import InvalidInput
from domain.records.participation import PersonRecord

FORMATS = ("xlsx", "docx")
TITLE = "委员参与基层协商履职记录"


@dataclass
class Table:
    """A titled table of the record."""

    heading: str
    header: list[str]
    rows: list[list[str]]


def _day(value: date | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def head_lines(record: PersonRecord, made_at: datetime) -> list[str]:
    """Name, period and when the record was made."""
    return [f"姓名：{record.name}（编号 {record.person_id}）",
            f"期间：{_day(record.since)} 至 {_day(record.until)}",
            f"生成时间：{made_at:%Y-%m-%d %H:%M}"]


def tables(record: PersonRecord) -> list[Table]:
    """The counts, then each list (a table with no rows says 无)."""
    c = record.counts
    counts = Table("一、统计", ["项目", "次数"], [
        ["应到会议", str(c.expected)], ["实际到会", str(c.attended)], ["会上发言（含网络协商意见）", str(c.speeches)],
        ["提出议题", str(c.proposed)], ["联名议题", str(c.cosigned)], ["参加表决（只计次数）", str(c.votes)],
        ["参加培训", str(c.trainings)], ["填写问卷（只计份数，不含匿名问卷）", str(c.questionnaires)]])
    meetings = Table("二、会议", ["日期", "组织", "会议", "到会", "发言次数"],
                     [[_day(m.day), m.org, m.title, "到会" if m.attended else "缺席", str(m.speeches)]
                      for m in record.meetings])
    topics = Table("三、议题", ["日期", "组织", "编号", "议题", "方式"],
                   [[_day(t.day), t.org, t.number, t.title, t.how] for t in record.topics])
    training = Table("四、培训", ["日期", "组织", "培训"], [[_day(d), org, title] for d, org, title in record.trainings])
    terms = Table("五、协商议事会任职", ["组织", "进入日期", "退出日期"],
                  [[org, _day(entered), _day(exited) or "在任"] for org, entered, exited in record.terms])
    liaisons = Table("六、联系的协商议事平台", ["平台"], [[name] for name in record.liaisons])
    return [counts, meetings, topics, training, terms, liaisons]


def render(record: PersonRecord, fmt: str, made_at: datetime) -> bytes:
    """The record as a file of the format."""
    if fmt == "xlsx":
        return to_xlsx(record, made_at)
    if fmt == "docx":
        return to_docx(record, made_at)
    raise InvalidInput(f"不支持的格式 {fmt}，请用 {' 或 '.join(FORMATS)}。")


def to_xlsx(record: PersonRecord, made_at: datetime) -> bytes:
    """One sheet: title, head lines, then each table under its heading."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "履职记录"
    sheet.append([TITLE])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    for line in head_lines(record, made_at):
        sheet.append([line])
    for table in tables(record):
        sheet.append([])
        sheet.append([table.heading])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(table.header)
        for row in table.rows or [["无"]]:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":  # a typed title such as =HYPERLINK(...) stays text, never a formula
                    cell.data_type = "s"
    for letter, width in zip("ABCDE", (14, 24, 36, 10, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def to_docx(record: PersonRecord, made_at: datetime) -> bytes:
    """A Word document: centred title, head lines, a bordered table per list."""
    doc = office_docs.new_document(TITLE, head_lines(record, made_at))
    for table in tables(record):
        doc.add_paragraph().add_run(office_docs.clean(table.heading)).bold = True
        if not table.rows:
            doc.add_paragraph("无")
            continue
        office_docs.add_grid(doc, table.header, table.rows)
    return office_docs.document_bytes(doc)
