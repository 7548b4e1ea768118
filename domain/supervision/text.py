"""The supervisors' view said short in the chat (≤ about 15 lines): one line per organisation, worst first."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.evaluation.text import spread_line
from domain.supervision.overview import ChildRow, Overview
from domain.topics.text import local_time, short_title

CHAT_ROWS = 12  # organisations listed in one reply (a reply holds at most ~2 KB); the rest are counted


def rating_word(row: ChildRow) -> str:
    """评价4.2分(5人), or '' without ratings."""
    s = row.ratings
    return f"评价{s.mean:.1f}分({s.count}人)" if s.mean is not None else ""


def overview_lines(overview: Overview) -> list[str]:
    """The head, a line per organisation (worst first), and how to see more."""
    rows = overview.rows
    office = overview.office
    if not rows:
        return [f"{office.name}下面还没有村（社区）或单位。"]
    flagged = sum(1 for r in rows if r.issues)
    lines = [f"{office.name}监督情况：下属 {len(rows)} 个，{flagged} 个需要关注（问题多的在前）"]
    for row in rows[:CHAT_ROWS]:
        words = row.issues or ["正常"]
        rated = rating_word(row)
        if rated and not any(w.startswith("群众评价") for w in words):
            words = [*words, rated]
        lines.append(f"· {row.org.name}：{'，'.join(words)}")
    if len(rows) > CHAT_ROWS:
        lines.append(f"……还有 {len(rows) - CHAT_ROWS} 个没有列出，问题不比上面的多。")
    lines.append(f"发送“监督 代码”看一个的详情（含六有、参与），例如：监督 {rows[0].org.code}；"
                 f"全部表格：shangliang supervise --org {office.code} --out 监督.xlsx")
    return lines


def detail_lines(row: ChildRow, tz: ZoneInfo, limit: int) -> list[str]:
    """One organisation in some more lines: meetings, topics by state, what waits, ratings."""
    org = row.org
    lines = [f"{org.name}（{org.code}）监督详情："]
    if row.expected:
        last = local_time(row.last, tz) if row.last else "从未开会"
        due = local_time(row.due, tz) if row.due else "-"
        late = f"，已超期 {row.overdue_days} 天" if row.overdue_days else ""
        lines.append(f"会议：近一年 {row.held} 次（应 {row.expected} 次），上次 {last}，下次应在 {due} 前{late}")
    states = "，".join(f"{state.label}{n}" for state, n in sorted(row.by_state.items(), key=lambda i: -i[1]))
    lines.append(f"议题：{states or '没有'}")
    waiting = [line for line in row.topics if line.waiting]
    for line in sorted(waiting, key=lambda x: -x.idle_days)[:limit]:
        lines.append(f"· {line.topic.number} {short_title(line.topic)}：{line.waiting}，"
                     f"{line.idle_days} 天没有进展")
    if len(waiting) > limit:
        lines.append(f"……还有 {len(waiting) - limit} 件在等。")
    lines.append(spread_line("群众评价", row.ratings))
    if row.six_have_missing is not None:
        lines.append("六有：" + ("齐全" if not row.six_have_missing else "缺" + "、".join(row.six_have_missing)))
    if row.participation is not None:
        p = row.participation
        lines.append(f"参与：{p['people']} 人有记录，应到会 {p['expected']} 人次，实到 {p['attended']} 人次")
    return lines
