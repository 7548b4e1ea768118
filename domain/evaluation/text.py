"""The plain-Chinese rendering of a topic's evaluations: short for the chat, whole for the CLI."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.evaluation.summary import Spread, Summary
from domain.topics.text import local_time, mask_name, short_title
from models import Evaluation, EvaluationAspect, EvaluationKind

CHAT_COMMENT_CHARS = 40  # one comment's length in the chat (a reply holds at most ~2 KB)


def spread_line(what: str, s: Spread) -> str:
    """群众评价：3 人，平均 4.0 分（最低 3，最高 5，标准差 0.82）."""
    if s.count == 0:
        return f"{what}：还没有。"
    assert s.mean is not None and s.stdev is not None
    return f"{what}：{s.count} 人，平均 {s.mean:.1f} 分（最低 {s.low}，最高 {s.high}，标准差 {s.stdev:.2f}）"


def distribution_line(s: Spread) -> str:
    """分布：5分 1人，4分 1人，3分 1人，2分 0人，1分 0人."""
    return "分布：" + "，".join(f"{score}分 {s.counts[score]}人" for score in range(5, 0, -1))


def _cut(text: str, full: bool) -> str:
    if full or len(text) <= CHAT_COMMENT_CHARS:
        return text
    return text[: CHAT_COMMENT_CHARS - 1] + "…"


def entry_line(e: Evaluation, tz: ZoneInfo, *, full: bool) -> str:
    """One evaluation: who (residents masked in the chat), aspect, score, words, when."""
    name = e.author.display_name
    if e.kind is EvaluationKind.RESIDENT_RATING and not full:
        name = mask_name(name)
    aspect = "" if e.aspect is EvaluationAspect.OVERALL else f"（{e.aspect.label}）"
    score = f" {e.score}分" if e.score is not None else ""
    words = f"：{_cut(e.text, full)}" if e.text else ""
    when = f"（{local_time(e.changed_at or e.created_at, tz)}{'，改过' if e.changes else ''}）" if full else ""
    return f"· {name}{aspect}{score}{words}{when}"


def summary_lines(summary: Summary, tz: ZoneInfo, *, full: bool = False, limit: int = 8) -> list[str]:
    """The averages, the spread and the comments; in the chat at most ``limit`` residents' comments."""
    topic = summary.topic
    lines = [f"{topic.org.name} 议题 {topic.number}“{short_title(topic)}”（{topic.state.label}）的评价",
             spread_line("群众评价", summary.ratings)]
    if summary.ratings.count:
        lines.append(distribution_line(summary.ratings))
    lines.append(spread_line("成员评议", summary.reviews))
    for kind in (EvaluationKind.PARTY_COMMENT, EvaluationKind.ORGANISER_ANALYSIS, EvaluationKind.MEMBER_REVIEW):
        entries = summary.of(kind)
        if entries:
            lines.append(f"{kind.label}意见：" if kind is EvaluationKind.MEMBER_REVIEW else f"{kind.label}：")
            lines += [entry_line(e, tz, full=full) for e in entries]
        elif kind is not EvaluationKind.MEMBER_REVIEW:
            lines.append(f"{kind.label}：还没有。")
    said = [e for e in summary.of(EvaluationKind.RESIDENT_RATING) if e.text or full]
    if said:
        lines.append(f"群众意见（{len(said)} 条）：")
        shown = said if full else said[-limit:]
        lines += [entry_line(e, tz, full=full) for e in shown]
        if len(shown) < len(said):
            lines.append(f"（还有 {len(said) - len(shown)} 条较早的意见，用命令行 shangliang topic evaluations 查看全部）")
    return lines
