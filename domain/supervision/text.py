"""The supervisors' view said short in the chat (≤ about 15 lines): one line per organisation, worst first."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.evaluation.text import spread_line
from domain.supervision.overview import ChildRow, Overview
from domain.supervision.sections import attendance_rate
from domain.topics.text import local_time, short_title

CHAT_ROWS = 12  # organisations listed in one reply; the rest are counted
CHAT_BYTES = 1900  # a passive reply holds at most 2048 bytes of UTF-8: rows stop before the budget is spent


def rating_word(row: ChildRow) -> str:
    """评价4.2分(5人), or '' without ratings."""
    s = row.ratings
    return f"评价{s.mean:.1f}分({s.count}人)" if s.mean is not None else ""


def row_line(row: ChildRow) -> str:
    """· 东风村：会议超期12天，待落实1件，六有缺标识、成效，评价4.2分(5人)，到会率83%"""
    words = row.issues or ["正常"]
    rated = rating_word(row)
    if rated and not any(w.startswith("群众评价") for w in words):
        words = [*words, rated]
    rate = attendance_rate(row.participation)
    if rate is not None:
        words = [*words, f"到会率{rate}%"]
    return f"· {row.org.name}：{'，'.join(words)}"


def overview_lines(overview: Overview) -> list[str]:
    """The head, a line per organisation (worst first, as many as fit in one reply), and how to see more."""
    rows = overview.rows
    office = overview.office
    if not rows:
        return [f"{office.name}下面还没有村（社区）或单位。"]
    flagged = sum(1 for r in rows if r.issues)
    head = f"{office.name}监督情况：下属 {len(rows)} 个，{flagged} 个需要关注（问题多的在前）"
    tail = (f"发送“监督 代码”看一个的详情，例如：监督 {rows[0].org.code}；"
            f"全部表格：shangliang supervise --org {office.code} --out 监督.xlsx")
    more = f"……还有 {len(rows)} 个没有列出，问题不比上面的多。"
    budget = CHAT_BYTES - len("\n".join([head, more, tail]).encode())
    shown: list[str] = []
    for row in rows[:CHAT_ROWS]:
        line = row_line(row)
        budget -= len(line.encode()) + 1
        if budget < 0:
            break
        shown.append(line)
    lines = [head, *shown]
    if len(rows) > len(shown):
        lines.append(f"……还有 {len(rows) - len(shown)} 个没有列出，问题不比上面的多。")
    lines.append(tail)
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
        rate = attendance_rate(p)
        lines.append(f"参与：{p['people']} 人有记录，应到会 {p['expected']} 人次，实到 {p['attended']} 人次"
                     + (f"（到会率 {rate}%）" if rate is not None else "")
                     + f"，发言 {p['speeches']} 次，表决 {p['votes']} 人次，问卷 {p['questionnaires']} 份")
    return lines
