"""The supervisors' view as an XLSX workbook (R-RES-7): one sheet per section."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.supervision.overview import Overview
from domain.supervision.sections import PARTICIPATION
from domain.votes.exports import Sheet, write_export

NOT_KNOWN = "（暂无记录）"


def _day(at: object, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d") if at is not None else ""  # type: ignore[attr-defined]


def sheets(overview: Overview, tz: ZoneInfo) -> list[Sheet]:
    """概览, 会议, 议题, 待落实与反馈, 评价, 六有, 参与: the rows of each sheet, children worst first."""
    rows = overview.rows
    head = [["组织", "代码", "类型", "需要关注"]]
    summary = head + [[r.org.name, r.org.code, r.org.kind.label, "；".join(r.issues) or "正常"] for r in rows]
    meetings = [["组织", "代码", "近一年召开", "一年应开", "上次会议", "下次应在", "超期天数"]] + [
        [r.org.name, r.org.code, r.held, r.expected, _day(r.last, tz), _day(r.due, tz), r.overdue_days]
        for r in rows if r.expected]
    topics = [["组织", "编号", "议题", "状态", "登记天数", "未动天数", "在等"]] + [
        [r.org.name, line.topic.number, line.topic.title, line.topic.state.label, line.age_days, line.idle_days,
         line.waiting] for r in rows for line in r.topics]
    waiting = [["组织", "编号", "议题", "状态", "在等", "结果反馈清单", "未动天数"]] + [
        [r.org.name, line.topic.number, line.topic.title, line.topic.state.label, line.waiting,
         "已反馈" if line.has_feedback else "未反馈", line.idle_days]
        for r in rows for line in sorted(r.topics, key=lambda x: -x.idle_days) if line.waiting]
    ratings = [["组织", "评价人数", "平均分", "标准差", "最低", "最高", "5分", "4分", "3分", "2分", "1分"]] + [
        [r.org.name, r.ratings.count, round(r.ratings.mean, 2), round(r.ratings.stdev or 0.0, 2), r.ratings.low,
         r.ratings.high, *(r.ratings.counts[s] for s in range(5, 0, -1))] for r in rows if r.ratings.mean is not None]
    six = [["组织", "代码", "六有缺项"]] + [
        [r.org.name, r.org.code, NOT_KNOWN if r.six_have_missing is None else ("、".join(r.six_have_missing) or "齐全")]
        for r in rows]
    people = [["组织", "代码", *PARTICIPATION.values()]] + [
        [r.org.name, r.org.code, *(r.participation[k] for k in PARTICIPATION)] if r.participation is not None
        else [r.org.name, r.org.code, NOT_KNOWN] for r in rows]
    return [("概览", summary), ("会议", meetings), ("议题", topics), ("待落实与反馈", waiting), ("评价", ratings),
            ("六有", six), ("参与", people)]


def write(path: str | Path, overview: Overview, tz: ZoneInfo) -> Path:
    """Write the workbook; only .xlsx."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise InvalidInput(f"监督表格只能导出为 .xlsx 文件，不认识“{target.name}”。")
    return write_export(target, sheets(overview, tz))
