"""Questionnaires in the domain: one sheet per person, answers at once, summaries, anonymity at close, screening."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.votes import questionnaires
from domain.votes.questionnaire_create import QuestionDraft, QuestionnaireDraft, create_questionnaire
from domain.votes.questionnaire_results import summarise, summary_for, summary_text
from domain.votes.questionnaires import Mode
from models import (
    Audience,
    Notice,
    QuestionKind,
    Questionnaire,
    QuestionnaireAnswer,
    QuestionnaireResponse,
    Role,
    Topic,
    TopicState,
)
from tests.test_polls_support import NOW, SETTINGS, person, questionnaire, villagers, villages


def _fill(db, q, who, answers, now=NOW):
    response, mode, position = questionnaires.begin(db, q, who, now)
    for index, text in enumerate(answers, start=1):
        question = questionnaires.question_at(q, index)
        questionnaires.answer(db, q, response, question, text, now, SETTINGS.polls, skip=text == "跳过")
    return response, questionnaires.submit(db, q, response, now)


def test_each_answer_is_stored_at_once_under_one_row_per_question(db):
    _, v1, _ = villages(db)
    [who] = villagers(db, v1, 1)
    q = questionnaire(db, v1)
    response, mode, position = questionnaires.begin(db, q, who, NOW)
    assert (mode, position) == (Mode.FILL, 1)
    first = questionnaires.question_at(q, 1)
    questionnaires.answer(db, q, response, first, "1", NOW, SETTINGS.polls)
    questionnaires.answer(db, q, response, first, "3", NOW, SETTINGS.polls)  # changed before submitting
    rows = db.scalars(select(QuestionnaireAnswer).where(QuestionnaireAnswer.response_id == response.id)).all()
    assert [(r.question_id, r.choices) for r in rows] == [(first.id, [3])]
    again, _, position = questionnaires.begin(db, q, who, NOW)  # a second start is the same sheet
    assert again.id == response.id and position == 2
    assert db.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 1


def test_next_question_after_going_back_is_the_first_unanswered(db):
    _, v1, _ = villages(db)
    [who] = villagers(db, v1, 1)
    q = questionnaire(db, v1)
    response, _ = _fill(db, q, who, ["1", "2"])
    questionnaires.answer(db, q, response, questionnaires.question_at(q, 1), "2", NOW, SETTINGS.polls)
    assert questionnaires.next_position(db, q, response, 1, Mode.FILL) == 3
    assert questionnaires.next_position(db, q, response, 1, Mode.EDIT) == 2
    assert questionnaires.next_position(db, q, response, 4, Mode.EDIT) is None


def test_submit_needs_every_required_answer(db):
    _, v1, _ = villages(db)
    [who] = villagers(db, v1, 1)
    q = questionnaire(db, v1)
    response, missing = _fill(db, q, who, ["1", "2"])
    assert missing == 3 and response.submitted_at is None
    with pytest.raises(InvalidInput, match="必须回答"):
        questionnaires.answer(db, q, response, questionnaires.question_at(q, 3), "", NOW, SETTINGS.polls, skip=True)
    _, missing = _fill(db, q, who, ["1", "2", "4", "跳过"])
    assert missing is None


def test_once_submitted_no_changes_unless_allowed(db):
    _, v1, _ = villages(db)
    a, b = villagers(db, v1, 2)
    fixed = questionnaire(db, v1)
    _fill(db, fixed, a, ["1", "2", "4", "跳过"])
    with pytest.raises(Conflict, match="已经提交过"):
        questionnaires.begin(db, fixed, a, NOW)
    open_q = questionnaire(db, v1, allow_changes=True)
    _fill(db, open_q, b, ["1", "2", "4", "跳过"])
    assert questionnaires.begin(db, open_q, b, NOW)[1:] == (Mode.EDIT, 1)
    with pytest.raises(InvalidInput, match="已经结束"):
        questionnaires.begin(db, open_q, b, open_q.closes_at)


def test_r_role_4_only_the_audience_answers(db):
    _, v1, v2 = villages(db)
    [outsider] = villagers(db, v2, 1)
    [follower] = villagers(db, v1, 1)
    member = person(db, "m1", v1, (v1, Role.MEMBER))
    q = questionnaire(db, v1, audience=Audience.MEMBERS)
    with pytest.raises(PermissionDenied, match="议事会成员"):
        questionnaires.begin(db, q, follower, NOW)
    with pytest.raises(PermissionDenied):
        questionnaires.begin(db, q, outsider, NOW)
    assert questionnaires.begin(db, q, member, NOW)[2] == 1
    with pytest.raises(NotFound):
        questionnaires.find_questionnaire(db, outsider, "1")


def test_r_role_4_only_a_convenor_of_the_village_creates(db):
    _, v1, v2 = villages(db)
    other = person(db, "c2", v2, (v2, Role.CONVENOR))
    draft = QuestionnaireDraft(title="调查", questions=[QuestionDraft(QuestionKind.RATING, "打分")],
                               closes_at=NOW + timedelta(days=1))
    with pytest.raises(PermissionDenied):
        create_questionnaire(db, v1, draft, actor=other, now=NOW, settings=SETTINGS.polls)
    assert db.scalar(select(Questionnaire.id)) is None


def test_summary_counts_percentages_average_and_texts(db):
    _, v1, _ = villages(db)
    folks = villagers(db, v1, 4)
    q = questionnaire(db, v1)
    _fill(db, q, folks[0], ["1", "1 2", "5", "路灯"])
    _fill(db, q, folks[1], ["1", "2", "4", "跳过"])
    _fill(db, q, folks[2], ["3", "2 4", "3", "排水沟"])
    _fill(db, q, folks[3], ["2"])  # stopped after one answer
    summary = summarise(db, q)
    assert (summary.responses, summary.submitted, summary.eligible) == (4, 3, 4)
    first, second, rating, text = summary.questions
    assert first.counts == {1: 2, 3: 1, 2: 1} and first.answered == 4 and first.share(1) == Fraction(1, 2)
    assert second.counts == {1: 1, 2: 3, 4: 1} and second.answered == 3
    assert rating.average == Fraction(4) and rating.counts == {5: 1, 4: 1, 3: 1}
    assert sorted(text.texts) == ["排水沟", "路灯"] and text.skipped == 1
    shown = summary_text(summary)
    assert "收到 4 份答卷，答完 3 份" in shown and "村东主路：2 人 50%" in shown and "平均 4.0 分" in shown
    assert "· 路灯" in shown


def test_r_topic_3_anonymous_sheets_lose_their_people_at_close_and_convenors_are_told(db):
    _, v1, _ = villages(db)
    convenor = person(db, "c1", v1, (v1, Role.CONVENOR))
    folks = villagers(db, v1, 2)
    q = questionnaire(db, v1, anonymous=True)
    for who in folks:
        _fill(db, q, who, ["1", "2", "3", "跳过"])
    assert questionnaires.close_due(db, NOW) == []
    after = q.closes_at + timedelta(minutes=1)
    assert questionnaires.close_due(db, after) == ["questionnaire v1-1"]
    assert questionnaires.close_due(db, after) == []
    people_left = db.scalars(select(QuestionnaireResponse.person_id)
                             .where(QuestionnaireResponse.questionnaire_id == q.id)).all()
    assert people_left == [None, None]
    told = db.scalars(select(Notice).where(Notice.source_key == f"questionnaire-closed:{q.id}")).one()
    assert "共收到 2 份答卷" in told.body and "问卷结果 1" in told.body
    assert summarise(db, q).questions[0].counts == {1: 2}  # the results stay
    with pytest.raises(PermissionDenied):
        summary_for(db, q, folks[0])
    assert summary_for(db, q, convenor).responses == 2


def test_named_questionnaire_keeps_people_after_close(db):
    _, v1, _ = villages(db)
    [who] = villagers(db, v1, 1)
    q = questionnaire(db, v1, anonymous=False)
    _fill(db, q, who, ["1", "2", "3", "跳过"])
    questionnaires.close_questionnaire(db, q, None, NOW + timedelta(hours=1))
    assert db.scalar(select(QuestionnaireResponse.person_id)) == who.id
    with pytest.raises(Conflict):
        questionnaires.close_questionnaire(db, q, None, NOW + timedelta(hours=2))


def _topic(db, org, proposer, state=TopicState.REGISTERED, number="2026-007"):
    topic = Topic(org_id=org.id, year=2026, seq=int(number[-3:]), number=number, title="修路", proposer_id=proposer.id,
                  text_hash=number * 4, state=state)
    db.add(topic)
    db.flush()
    return topic


def test_r_topic_3_screening_tools_attach_to_a_topic_of_the_same_organisation(db):
    from domain.votes.poll_create import PollDraft, create_poll
    from tests.test_polls_support import TZ

    _, v1, v2 = villages(db)
    [who] = villagers(db, v1, 1)
    topic = _topic(db, v1, who)
    q = questionnaire(db, v1, topic="2026-007")
    p = create_poll(db, v1, PollDraft("先修哪条路？", ["东", "西"], NOW + timedelta(days=1), topic="7"), actor=None,
                    now=NOW, settings=SETTINGS.polls, tz=TZ)
    assert q.topic_id == topic.id and p.topic_id == topic.id
    from domain.topics.screening import screening_lines
    from domain.votes import polls

    polls.cast_vote(db, p, who, [2], NOW, tz=TZ)
    _fill(db, q, who, ["1"])
    assert screening_lines(db, topic, NOW) == [
        "投票 1：先修哪条路？（进行中，1 人投票，“西”最多，1 票 100%）",
        "问卷 1：村道修缮意见（进行中，收到 1 份答卷）",
    ]
    with pytest.raises(NotFound, match="红旗村没有编号为 2026-007"):
        questionnaire(db, v2, topic="2026-007")
    _topic(db, v1, who, TopicState.WITHDRAWN, "2026-008")
    with pytest.raises(InvalidInput, match="已撤回"):
        questionnaire(db, v1, topic="2026-008")


def test_r_topic_3_named_audience_needs_known_people(db):
    _, v1, _ = villages(db)
    with pytest.raises(NotFound, match=r"people\[1\]"):
        questionnaire(db, v1, audience=Audience.NAMED, people=["nobody-here"])
    with pytest.raises(InvalidInput, match="people"):
        questionnaire(db, v1, audience=Audience.NAMED)
