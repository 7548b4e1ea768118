"""Evaluation keywords (R-RES-6, L-三(九)): 评价 (residents), 评议 (members), 点评 (party reviewer),
评析 (convenor), 评价结果 (convenors, party reviewers and supervisors)."""

from __future__ import annotations

import re

from domain.errors import InvalidInput, NotFound
from domain.evaluation import give
from domain.evaluation import summary as evaluation_summary
from domain.evaluation.text import summary_lines
from domain.orgs import people
from domain.topics import refs as topic_refs
from domain.topics.text import local_time, short_title
from handlers.context import Context
from handlers.normalize import chinese_number
from handlers.proxy import acting_subject
from handlers.registry import router
from handlers.topic_input import as_typed
from models import EvaluationAspect, EvaluationKind, Organisation, Role, Topic

K = EvaluationKind
SCORE_RE = re.compile(r"^(?P<n>\d+|[零〇一二两三四五六七八九十]+)\s*(?P<unit>分|颗星|星)?(?P<rest>.*)$", re.S)
# Right after a bare number these make it another number (4.5, 4/5, 1e3, 80%): refused, not read as its first digit.
NOT_A_SCORE_RE = re.compile(r"^(?:[.．。·/／%％]\s*\d|[A-Za-z0-9０-９])")
ASPECT_WORDS = {"过程": EvaluationAspect.PROCESS, "结果": EvaluationAspect.RESULT, "整体": EvaluationAspect.OVERALL}
RATE_USAGE = "请发送“评价 编号 分数 意见”，例如：评价 2026-007 5 路修得很好。分数 1 到 5，5 分最满意；意见可以不写。"
REVIEW_USAGE = "请发送“评议 编号 分数 意见”，例如：评议 2026-007 4 过程规范，工期稍长。可在分数前写“过程”或“结果”。"
COMMENT_USAGE = "请发送“点评 编号 意见”，例如：点评 2026-007 结果 群众满意。可在意见前写“过程”或“结果”。"
ANALYSIS_USAGE = "请发送“评析 编号 意见”，例如：评析 2026-007 过程 调研充分，会上分歧较大。可在意见前写“过程”或“结果”。"
SUMMARY_USAGE = "请发送“评价结果 编号”，例如：评价结果 2026-007。"


def parse_score(text: str) -> tuple[int, str]:
    """A score 1–5 at the start (5, ５, 5分, 五, 五分) and the rest; a clear refusal otherwise."""
    match = SCORE_RE.match(text.strip())
    value = chinese_number(match["n"]) if match else None
    if match and not match["unit"] and NOT_A_SCORE_RE.match(match.string[match.end("n"):]):
        value = None
    if value is None or not 1 <= value <= 5:
        raise InvalidInput("请打 1 到 5 分，例如：评价 2026-007 5 路修得很好（5 分最满意，1 分最不满意）。")
    return value, match["rest"].strip().lstrip(",:;").strip() if match else ""


def parse_aspect(text: str) -> tuple[EvaluationAspect, str]:
    """An optional 过程 / 结果 / 整体 at the start, and the rest."""
    for word, aspect in ASPECT_WORDS.items():
        if text.startswith(word):
            return aspect, text[len(word):].strip().lstrip(",:;").strip()
    return EvaluationAspect.OVERALL, text


def _split(rest: str, usage: str) -> tuple[str, str]:
    if not rest:
        raise InvalidInput(usage)
    return topic_refs.split_ref(rest)


def _find(ctx: Context, ref: str, among: list[Organisation], prefer: Organisation | None = None) -> Topic:
    return topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz, prefer=prefer,
                              narrow=lambda t: t.state in give.EVALUABLE)


def _window(ctx: Context, given: give.Given) -> str:
    days = ctx.settings.rules.rating_change_days
    if days == 0:
        return "给出后不能再改。"
    return f"{local_time(give.window_end(given.evaluation, ctx.settings), ctx.settings.tz)} 前可以重新发送来修改。"


@router.keyword("评价")
def rate(ctx: Context, rest: str) -> str:
    """评价 编号 1-5：给落实的议题打分"""
    ref, tail = _split(rest, RATE_USAGE)
    if not tail:
        raise InvalidInput(RATE_USAGE)
    score, words = parse_score(tail)
    person, agent = acting_subject(ctx)
    home = people.require_home(person)
    among = [home] + ([home.parent] if home.parent is not None else [])
    topic = _find(ctx, ref, among, prefer=home)
    words = give.check_words(as_typed(ctx, words), ctx.settings, required=False, usage=RATE_USAGE)
    given = give.rate(ctx.db, topic, person, score, words, ctx.now, settings=ctx.settings, agent=agent)
    whose = f"{person.display_name}" if agent else "您"
    title = f"议题 {topic.number}“{short_title(topic)}”"
    if given.outcome == "same":
        return f"{whose}已经评价过{title}（{score} 分），没有变化。"
    if given.outcome == "changed":
        return f"已把{whose}对{title}的评价改为 {score} 分。"
    lead = f"已代 {person.display_name} 评价" if agent else "谢谢您！已记下您的评价"
    return f"{lead}：{title} {score} 分。\n{_window(ctx, given)}"


def _official(ctx: Context, rest: str, kind: EvaluationKind, usage: str, *, scored: bool) -> str:
    ref, tail = _split(rest, usage)
    aspect, tail = parse_aspect(tail)
    score = None
    if scored:
        if not tail:
            raise InvalidInput(usage)
        score, tail = parse_score(tail)
    topic = _find(ctx, ref, people.role_orgs(ctx.db, ctx.person, give.ROLE_OF[kind]))
    words = give.check_words(as_typed(ctx, tail), ctx.settings, required=True, usage=usage)
    given = give.comment(ctx.db, topic, ctx.person, kind, words, ctx.now, settings=ctx.settings, aspect=aspect,
                         score=score)
    what = f"{kind.label}（{aspect.label}）" if aspect is not EvaluationAspect.OVERALL else kind.label
    title = f"{topic.org.name} 议题 {topic.number}"
    if given.outcome == "same":
        return f"您对{title}的{what}已经记下了，没有变化。"
    if given.outcome == "changed":
        return f"已修改您对{title}的{what}。"
    moved = "议题现在“已评价”，已通知提议人。\n" if given.evaluated_now else ""
    return f"已记下您对{title}的{what}。\n{moved}{_window(ctx, given)}"


@router.keyword("评议", "成员评议", roles=(Role.MEMBER,))
def review(ctx: Context, rest: str) -> str:
    """评议 编号 分数(1-5) 意见：议事会成员评议已落实的议题（可写“过程”或“结果”）"""
    return _official(ctx, rest, K.MEMBER_REVIEW, REVIEW_USAGE, scored=True)


@router.keyword("点评", "党组织点评", roles=(Role.PARTY_REVIEWER,))
def party_comment(ctx: Context, rest: str) -> str:
    """点评 编号 意见：党组织点评已落实的议题（可写“过程”或“结果”）"""
    return _official(ctx, rest, K.PARTY_COMMENT, COMMENT_USAGE, scored=False)


@router.keyword("评析", "分析", roles=(Role.CONVENOR,))
def analysis(ctx: Context, rest: str) -> str:
    """评析 编号 意见：召集人（组织者）评析已落实的议题（可写“过程”或“结果”）"""
    return _official(ctx, rest, K.ORGANISER_ANALYSIS, ANALYSIS_USAGE, scored=False)


@router.keyword("评价结果", "评价汇总", roles=evaluation_summary.VIEWER_ROLES)
def evaluations(ctx: Context, rest: str) -> str:
    """评价结果 编号：看一个议题的平均分、分数分布和各方意见"""
    if not rest:
        raise InvalidInput(SUMMARY_USAGE)
    ref, _ = topic_refs.split_ref(rest)
    among = topic_refs.with_subtrees(ctx.db, people.role_orgs(ctx.db, ctx.person, *evaluation_summary.VIEWER_ROLES))
    topic = _find(ctx, ref, among)
    if not evaluation_summary.may_see(ctx.db, ctx.person, topic):
        raise NotFound(f"没有找到议题 {topic.number}。")
    summary = evaluation_summary.summarise(ctx.db, topic)
    return "\n".join(summary_lines(summary, ctx.settings.tz, limit=ctx.settings.topics.list_limit))
