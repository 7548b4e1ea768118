"""Exports of questionnaire and poll results as CSV (UTF-8 with BOM, opens in Excel) or XLSX.

An XLSX file holds every sheet; a CSV file holds one table: the summary, or with ``detail``
the per-person table (answer sheets, or ballots). Anonymous ones name nobody.
"""

from __future__ import annotations

import csv
from datetime import datetime, tzinfo
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.votes.questionnaire_results import response_rows, summarise, summary_rows
from domain.votes.tally import OUTCOME_LABELS, PollPhase, count_votes, percent, phase
from models import Person, Poll, PollBallot, Questionnaire

Sheet = tuple[str, list[list[object]]]
MAX_COLUMN_WIDTH = 60


def questionnaire_sheets(db: Session, q: Questionnaire, tz: tzinfo) -> list[Sheet]:
    """The summary sheet and the answer-sheet table of a questionnaire."""
    return [("汇总", summary_rows(summarise(db, q))), ("答卷", response_rows(db, q, tz))]


def poll_sheets(db: Session, poll: Poll, now: datetime) -> list[Sheet]:
    """The result sheet and the ballot table of a poll (refused while results are hidden)."""
    closed = phase(poll, now) is PollPhase.CLOSED
    if poll.hide_results and not closed:
        raise InvalidInput(f"投票 {poll.number} 的结果要到结束后才公开。")
    tally = count_votes(db, poll)
    result: list[list[object]] = [["选项", "票数", "占比"]]
    result += [[f"{o.position}. {o.label}", tally.counts.get(o.position, 0), percent(tally.share(o.position))]
               for o in poll.options]
    result += [[], ["投票人数", tally.voters, ""], ["状态", "已结束" if closed else "进行中", ""]]
    if poll.eligible_count is not None:
        result.append(["可投票人数", poll.eligible_count, ""])
    if poll.outcome is not None:
        result.append(["表决结果", OUTCOME_LABELS[poll.outcome], poll.outcome_note or ""])
    if poll.tally_hash:
        result.append(["计票指纹 (sha256)", poll.tally_hash, ""])
    labels = {o.position: o.label for o in poll.options}
    ballots: list[list[object]] = [["回执", "选项"] + ([] if poll.anonymous else ["投票人"])]
    rows = db.execute(select(PollBallot.receipt, PollBallot.choices, PollBallot.voter_id)
                      .where(PollBallot.poll_id == poll.id).order_by(PollBallot.receipt))
    for receipt, choices, voter_id in rows:
        row: list[object] = [receipt, "；".join(f"{c}. {labels.get(c, '?')}" for c in sorted(choices))]
        if not poll.anonymous:
            voter = db.get(Person, voter_id) if voter_id else None
            row.append(voter.display_name if voter else "")
        ballots.append(row)
    return [("结果", result), ("选票", ballots)]


def write_export(path: str | Path, sheets: list[Sheet], *, detail: bool = False) -> Path:
    """Write sheets to a .csv (one table) or .xlsx (all) file chosen by the file name."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        _, rows = sheets[1 if detail and len(sheets) > 1 else 0]
        with target.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerows([[_csv_safe(value) for value in row] for row in rows])
    elif suffix == ".xlsx":
        _write_xlsx(target, sheets)
    else:
        raise InvalidInput(f"只能导出 .csv 或 .xlsx 文件，不认识“{target.name}”。")
    return target


def _csv_safe(value: object) -> object:
    """A text cell starting with = + - @ (or a tab or CR) gets a quote before it, so spreadsheets show it (OWASP)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def _write_xlsx(target: Path, sheets: list[Sheet]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":  # typed text such as =HYPERLINK(...) stays text, never a formula
                    cell.data_type = "s"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None), default=4)
            sheet.column_dimensions[column[0].column_letter].width = min(MAX_COLUMN_WIDTH, max(6, width * 2))
    book.save(target)
