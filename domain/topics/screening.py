"""R-TOPIC-3 screening: the polls and questionnaires attached to a topic, summed up for its page.

A poll or questionnaire screens a topic when its file names the topic (``topic = "2026-007"``).
The topic's own state change to 筛选中 is the convenor's act (``筛选``, domain.topics.screen);
this module only reports what the screening tools found, for the reviewer who approves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.votes.questionnaires import phase as questionnaire_phase
from domain.votes.tally import PollPhase, count_votes, percent, phase
from models import Poll, Questionnaire, QuestionnaireResponse, Topic


def screening_lines(db: Session, topic: Topic, now: datetime) -> list[str]:
    """One line per poll and questionnaire screening the topic, oldest first."""
    lines: list[str] = []
    for poll in db.scalars(select(Poll).where(Poll.topic_id == topic.id).order_by(Poll.id)):
        closed = phase(poll, now) is PollPhase.CLOSED
        if poll.hide_results and not closed:
            lines.append(f"投票 {poll.number}：{poll.question}（进行中，结束后公布结果）")
            continue
        tally = count_votes(db, poll)
        best = max(poll.options, key=lambda o: tally.counts.get(o.position, 0))
        lead = (f"“{best.label}”最多，{tally.counts.get(best.position, 0)} 票 {percent(tally.share(best.position))}"
                if tally.voters else "还没有人投票")
        lines.append(f"投票 {poll.number}：{poll.question}（{'已结束' if closed else '进行中'}，{tally.voters} 人投票，{lead}）")
    for q in db.scalars(select(Questionnaire).where(Questionnaire.topic_id == topic.id).order_by(Questionnaire.id)):
        sheets = int(db.scalar(select(func.count()).select_from(QuestionnaireResponse)
                               .where(QuestionnaireResponse.questionnaire_id == q.id)) or 0)
        state = "已结束" if questionnaire_phase(q, now) is PollPhase.CLOSED else "进行中"
        lines.append(f"问卷 {q.number}：{q.title}（{state}，收到 {sheets} 份答卷）")
    return lines
