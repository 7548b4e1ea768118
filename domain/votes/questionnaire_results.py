"""Questionnaire results: per-question counts, percentages, rating averages and free-text answers.

Every saved answer counts, also from sheets not finished: an opinion given is an opinion. The
headline says how many sheets were finished. Percentages are of the people who answered that
question (skips excluded); for multiple choice they may add up to more than 100%.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import tzinfo
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import PermissionDenied
from domain.votes.answers import format_local
from domain.votes.audience import count_in, may_manage
from domain.votes.questionnaires import respondents_query
from domain.votes.tally import percent
from models import (
    Person,
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireAnswer,
    QuestionnaireResponse,
)

RATING_SCALE = range(1, 6)
SKIPPED = "（跳过）"


@dataclass
class QuestionSummary:
    """What one question's answers add up to."""

    question: Question
    answered: int = 0
    skipped: int = 0
    counts: dict[int, int] = field(default_factory=dict)  # option position, or rating value → people
    average: Fraction | None = None
    texts: list[str] = field(default_factory=list)

    def share(self, key: int) -> Fraction:
        """The share of answerers who chose an option or gave a score."""
        return Fraction(self.counts.get(key, 0), self.answered) if self.answered else Fraction(0)

    def items(self) -> list[tuple[int, str]]:
        """(key, label) of what is counted: options, or the scores 1–5."""
        if self.question.kind is QuestionKind.RATING:
            return [(score, f"{score} 分") for score in RATING_SCALE]
        return list(enumerate(self.question.options, start=1))


@dataclass
class Summary:
    """A questionnaire's results."""

    questionnaire: Questionnaire
    responses: int
    submitted: int
    eligible: int
    questions: list[QuestionSummary]


def _sheets(db: Session, q: Questionnaire) -> list[QuestionnaireResponse]:
    rows = list(db.scalars(select(QuestionnaireResponse).where(QuestionnaireResponse.questionnaire_id == q.id)
                           .order_by(QuestionnaireResponse.id)))
    if q.anonymous:  # no order that follows the order people answered in
        rows.sort(key=lambda r: hashlib.sha256(f"{q.id}:{r.id}".encode()).hexdigest())
    return rows


def _answers(db: Session, q: Questionnaire) -> list[QuestionnaireAnswer]:
    return list(db.scalars(
        select(QuestionnaireAnswer).join(QuestionnaireResponse, QuestionnaireResponse.id == QuestionnaireAnswer.response_id)
        .where(QuestionnaireResponse.questionnaire_id == q.id).order_by(QuestionnaireAnswer.id)
    ))


def summarise(db: Session, q: Questionnaire) -> Summary:
    """Add up every saved answer of a questionnaire."""
    sheets = _sheets(db, q)
    by_question = {qu.id: QuestionSummary(qu) for qu in q.questions}
    for ans in _answers(db, q):
        summary = by_question.get(ans.question_id)
        if summary is None:
            continue
        if ans.skipped:
            summary.skipped += 1
            continue
        summary.answered += 1
        if ans.choices:
            for choice in ans.choices:
                summary.counts[choice] = summary.counts.get(choice, 0) + 1
        elif ans.rating is not None:
            summary.counts[ans.rating] = summary.counts.get(ans.rating, 0) + 1
        elif ans.text is not None:
            summary.texts.append(ans.text)
    for summary in by_question.values():
        if summary.question.kind is QuestionKind.RATING and summary.answered:
            summary.average = Fraction(sum(k * n for k, n in summary.counts.items()), summary.answered)
        if q.anonymous:
            summary.texts.sort()
    return Summary(q, len(sheets), sum(1 for s in sheets if s.submitted_at), count_in(db, respondents_query(q)),
                   [by_question[qu.id] for qu in q.questions])


def average_text(average: Fraction | None) -> str:
    """'4.3' (one decimal), or '—' when nobody answered."""
    return "—" if average is None else f"{float(average):.1f}"


def summary_text(summary: Summary, *, max_texts: int = 5) -> str:
    """The results as a short text for the chat or the terminal."""
    q = summary.questionnaire
    lines = [f"问卷 {q.number}《{q.title}》：收到 {summary.responses} 份答卷，答完 {summary.submitted} 份"
             f"（应答 {summary.eligible} 人）。"]
    for qs in summary.questions:
        skipped = f"，跳过 {qs.skipped} 人" if qs.skipped else ""
        lines.append(f"{qs.question.position}. {qs.question.prompt}（{qs.answered} 人回答{skipped}）")
        if qs.question.kind is QuestionKind.TEXT:
            lines += [f"  · {text}" for text in qs.texts[:max_texts]]
            if len(qs.texts) > max_texts:
                lines.append(f"  ……共 {len(qs.texts)} 条，全部意见请导出查看。")
            continue
        lines += [f"  {label}：{qs.counts.get(key, 0)} 人 {percent(qs.share(key))}" for key, label in qs.items()]
        if qs.question.kind is QuestionKind.RATING:
            lines.append(f"  平均 {average_text(qs.average)} 分")
    return "\n".join(lines)


def summary_rows(summary: Summary) -> list[list[object]]:
    """The results as table rows: 题号, 题目, 类型, 项目, 人数, 占比, 平均分."""
    rows: list[list[object]] = [["题号", "题目", "类型", "项目", "人数", "占比", "平均分"]]
    for qs in summary.questions:
        head = [qs.question.position, qs.question.prompt, qs.question.kind.label]
        if qs.question.kind is QuestionKind.TEXT:
            rows += [[*head, text, 1, "", ""] for text in qs.texts] or [[*head, "（无人填写）", 0, "", ""]]
        else:
            for key, label in qs.items():
                rows.append([*head, label, qs.counts.get(key, 0), percent(qs.share(key)), ""])
            if qs.question.kind is QuestionKind.RATING:
                rows.append([*head, "平均分", qs.answered, "", average_text(qs.average)])
        if qs.skipped:
            rows.append([*head, SKIPPED, qs.skipped, "", ""])
    return rows


def describe(question: Question, ans: QuestionnaireAnswer | None) -> str:
    """One answer in words: '1. 东头；3. 两头都装', '4 分', the text, or '（跳过）'."""
    if ans is None:
        return ""
    if ans.skipped:
        return SKIPPED
    if ans.choices:
        return "；".join(f"{c}. {question.options[c - 1]}" for c in ans.choices if 0 < c <= len(question.options))
    if ans.rating is not None:
        return f"{ans.rating} 分"
    return ans.text or ""


def response_rows(db: Session, q: Questionnaire, tz: tzinfo) -> list[list[object]]:
    """Every answer sheet as one row; anonymous questionnaires show neither names nor times."""
    head: list[object] = ["答卷", "状态"] + ([] if q.anonymous else ["姓名", "提交时间"])
    rows: list[list[object]] = [head + [f"{qu.position}. {qu.prompt}" for qu in q.questions]]
    by_sheet: dict[int, dict[int, QuestionnaireAnswer]] = {}
    for ans in _answers(db, q):
        by_sheet.setdefault(ans.response_id, {})[ans.question_id] = ans
    for index, sheet in enumerate(_sheets(db, q), start=1):
        row: list[object] = [index, "已提交" if sheet.submitted_at else "未答完"]
        if not q.anonymous:
            person = db.get(Person, sheet.person_id) if sheet.person_id else None
            row += [person.display_name if person else "", format_local(sheet.submitted_at, tz) if sheet.submitted_at else ""]
        answers = by_sheet.get(sheet.id, {})
        rows.append(row + [describe(qu, answers.get(qu.id)) for qu in q.questions])
    return rows


def summary_for(db: Session, q: Questionnaire, viewer: Person | None) -> Summary:
    """A questionnaire's results for a convenor of its organisation or above (None = administrator)."""
    if viewer is not None and not may_manage(db, viewer, q.org):
        raise PermissionDenied(f"问卷结果只给{q.org.name}的召集人和上级查看。")
    return summarise(db, q)
