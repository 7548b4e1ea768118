"""Questionnaire keywords (问卷, 问卷结果, 结束问卷) and the one-question-at-a-time dialog.

Redis holds only a cursor (questionnaire, sheet, position, mode) with the dialog TTL; every
answer is in the database the moment it is given. 取消 (handled by the router) or an expired
cursor loses nothing: “问卷 编号” resumes at the first unanswered question.
"""

from __future__ import annotations

import logging

from domain.errors import InvalidInput
from domain.votes import questionnaires, refs
from domain.votes.answers import RATING_HINT, choice_hint, format_local
from domain.votes.audience import related_org_ids
from domain.votes.questionnaire_results import describe, summary_for, summary_text
from domain.votes.questionnaires import Mode
from domain.votes.tally import PollPhase
from handlers.context import Context
from handlers.dialogs import DialogState, clear_state, set_state
from handlers.proxy import acting_villager
from handlers.registry import router
from models import Question, QuestionKind, Questionnaire, QuestionnaireAnswer, QuestionnaireResponse, Role

logger = logging.getLogger(__name__)

DIALOG = "questionnaire"
BACK_WORDS = {"上一题", "上一个", "上一步", "返回"}
SKIP_WORDS = {"跳过", "不答", "不回答", "略过"}
KEEP_WORDS = {"不变", "不改", "不用改", "保持"}
FOOTER = "（发“上一题”返回，发“取消”暂停，答过的都已保存）"


def _hint(ctx: Context, question: Question) -> str:
    if question.kind is QuestionKind.SINGLE:
        return choice_hint(len(question.options), False, 1)
    if question.kind is QuestionKind.MULTIPLE:
        return choice_hint(len(question.options), True, question.max_choices or len(question.options))
    if question.kind is QuestionKind.RATING:
        return RATING_HINT
    most = question.max_chars or ctx.settings.polls.text_max_chars
    return f"请直接写下您的意见（不超过 {most} 字）。"


def prompt(ctx: Context, q: Questionnaire, position: int, current: QuestionnaireAnswer | None = None) -> str:
    """One question as the respondent reads it."""
    question = questionnaires.question_at(q, position)
    need = "必答" if question.required else "选答"
    lines = [f"问卷 {q.number} 第 {position}/{len(q.questions)} 题（{question.kind.label}，{need}）", question.prompt]
    lines += [f"{i}. {label}" for i, label in enumerate(question.options, start=1)]
    lines.append(_hint(ctx, question))
    if current is not None:
        lines.append(f"您原来的回答：{describe(question, current)}。不改请回复“不变”。")
    if not question.required:
        lines.append("不想答可以回复“跳过”。")
    lines.append(FOOTER)
    return "\n".join(lines)


def _ask(ctx: Context, q: Questionnaire, response: QuestionnaireResponse, position: int, mode: Mode) -> str:
    set_state(ctx, DialogState(DIALOG, "answer", {"q": q.id, "r": response.id, "pos": position, "mode": mode.value}))
    current = questionnaires.answers_of(ctx.db, response).get(questionnaires.question_at(q, position).id)
    return prompt(ctx, q, position, current)


def _finish(ctx: Context, q: Questionnaire, response: QuestionnaireResponse, mode: Mode) -> str:
    was_submitted = response.submitted_at is not None
    missing = questionnaires.submit(ctx.db, q, response, ctx.now)
    if missing is not None:
        return "还有一道必答题没答：\n" + _ask(ctx, q, response, missing, mode)
    clear_state(ctx)
    done = "您的修改已保存" if was_submitted else f"问卷 {q.number} 已提交"
    again = f"截止前还可以发“问卷 {q.number}”修改。" if q.allow_changes else ""
    return f"{done}，谢谢您！{again}"


def _listing(ctx: Context) -> str:
    rows = questionnaires.open_for(ctx.db, ctx.person, ctx.now)
    if not rows:
        return "现在没有需要您填写的问卷。有新问卷时会通知您。"
    lines, clash = ["请您填写的问卷："], refs.clashing([q for q, _ in rows], lambda q: q.number)
    for q, sheet in rows:
        if sheet is None:
            state = "还没开始"
        elif sheet.submitted_at:
            state = "已提交" + ("，可修改" if q.allow_changes else "")
        else:
            state = "没答完，可接着答"
        lines.append(f"· 问卷 {refs.label(q.number, q.org, q.number in clash)}：{q.title}（{len(q.questions)} 题，{state}，"
                     f"{format_local(q.closes_at, ctx.settings.tz)} 截止）")
    first = rows[0][0]
    lines.append(f"发送“问卷 编号”开始，例如：问卷 {refs.label(first.number, first.org, first.number in clash)}")
    return "\n".join(lines)


@router.keyword("问卷", "填问卷", "调查")
def questionnaire(ctx: Context, rest: str) -> str:
    """问卷 编号：填写问卷（只发“问卷”看有哪些）"""
    if not rest:
        return _listing(ctx)
    q = questionnaires.ensure_final(ctx.db, questionnaires.find_questionnaire(ctx.db, ctx.person, rest.split(" ")[0]),
                                    ctx.now)
    villager = acting_villager(ctx)
    response, mode, position = questionnaires.begin(ctx.db, q, villager or ctx.person, ctx.now,
                                                    by_proxy=ctx.person if villager else None)
    if position is None:
        return _finish(ctx, q, response, mode)
    who = f"（替 {villager.display_name} 填写）" if villager else ""
    if mode is Mode.EDIT:
        head = f"您已提交过问卷 {q.number}{who}，截止前可以修改：每题回复新的答案，或回复“不变”。"
    elif position == 1 and not questionnaires.answers_of(ctx.db, response):
        intro = f"\n{q.intro}" if q.intro else ""
        head = f"问卷 {q.number}《{q.title}》{who}共 {len(q.questions)} 题，一题一题回答就行。{intro}"
    else:
        head = f"接着上次的问卷 {q.number}{who}，从第 {position} 题开始。"
    return head + "\n\n" + _ask(ctx, q, response, position, mode)


@router.step(DIALOG, "answer", answers=("问卷", "同意", "反对", "弃权"))  # 问卷: restart; the rest: plain answers
def on_answer(ctx: Context, text: str, state: DialogState) -> str:
    """回答问卷的一道题"""
    q = ctx.db.get(Questionnaire, int(state.data["q"]))
    response = ctx.db.get(QuestionnaireResponse, int(state.data["r"]))
    if q is None or response is None:
        clear_state(ctx)
        return "这份问卷已经找不到了。发送“问卷”看看还有哪些。"
    if text == "问卷" or text.startswith("问卷 "):
        clear_state(ctx)
        return questionnaire(ctx, text[2:].strip())
    position, mode = int(state.data["pos"]), Mode(str(state.data["mode"]))
    word = text.rstrip("。.!！ ")
    if word in BACK_WORDS:
        if position == 1:
            return "已经是第一题了。\n" + _ask(ctx, q, response, 1, mode)
        return _ask(ctx, q, response, position - 1, mode)
    question = questionnaires.question_at(q, position)
    current = questionnaires.answers_of(ctx.db, response).get(question.id)
    try:
        if current is not None and (word in KEEP_WORDS or (word in SKIP_WORDS and mode is Mode.EDIT)):
            pass  # keep the earlier answer
        elif word in KEEP_WORDS:
            raise InvalidInput("这题还没回答过。")
        else:
            questionnaires.answer(ctx.db, q, response, question, text, ctx.now, ctx.settings.polls,
                                  skip=word in SKIP_WORDS)
    except InvalidInput as exc:
        if questionnaires.phase(q, ctx.now) is not PollPhase.OPEN:
            clear_state(ctx)
            return exc.reply
        return f"{exc.reply}\n\n" + _ask(ctx, q, response, position, mode)
    following = questionnaires.next_position(ctx.db, q, response, position, mode)
    if following is None:
        return _finish(ctx, q, response, mode)
    return "已记下。\n\n" + _ask(ctx, q, response, following, mode)


def _find(ctx: Context, rest: str, usage: str) -> Questionnaire:
    ref = rest.split(" ")[0] if rest else ""
    if not ref:
        raise InvalidInput(refs.usage_example(ctx.db, Questionnaire, related_org_ids(ctx.db, ctx.person), usage))
    return questionnaires.ensure_final(ctx.db, questionnaires.find_questionnaire(ctx.db, ctx.person, ref), ctx.now)


@router.keyword("问卷结果", "问卷汇总", roles=(Role.CONVENOR, Role.UPPER_OFFICE))
def questionnaire_results(ctx: Context, rest: str) -> str:
    """问卷结果 编号：查看问卷汇总（召集人）"""
    q = _find(ctx, rest, "问卷结果")
    return summary_text(summary_for(ctx.db, q, ctx.person))


@router.keyword("结束问卷", roles=(Role.CONVENOR, Role.UPPER_OFFICE))
def close_questionnaire(ctx: Context, rest: str) -> str:
    """结束问卷 编号：提前结束一份问卷（召集人）"""
    q = questionnaires.close_questionnaire(ctx.db, _find(ctx, rest, "结束问卷"), ctx.person, ctx.now)
    return f"问卷 {q.number} 已结束。发送“问卷结果 {q.number}”查看汇总。"
