"""A questionnaire answered through the webhook: formats, bad answers, 上一题, 跳过, 取消 and resume, TTL, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from domain.votes import questionnaires
from models import QuestionnaireAnswer, QuestionnaireResponse
from tests.test_polls_support import person, questionnaire, villagers, villages


def _arrange(db, **fields):
    _, v1, v2 = villages(db)
    folks = villagers(db, v1, 2)
    outsider = villagers(db, v2, 1)[0]
    q = questionnaire(db, v1, now=datetime.now(UTC), **fields)
    db.commit()
    return q, folks, outsider


def _answers(db, q, who):
    db.expire_all()
    sheet = db.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.questionnaire_id == q.id,
                                                          QuestionnaireResponse.person_id == who.id))
    if sheet is None:
        return None, {}
    rows = db.scalars(select(QuestionnaireAnswer).where(QuestionnaireAnswer.response_id == sheet.id))
    by_position = {}
    for row in rows:
        position = next(qu.position for qu in q.questions if qu.id == row.question_id)
        by_position[position] = row.choices or row.rating or row.text or ("skipped" if row.skipped else None)
    return sheet, by_position


def test_r_topic_3_a_whole_questionnaire_in_the_chat(bot, db):
    q, (villager, _), _ = _arrange(db)
    openid = villager.openid
    listing = bot.send(openid, "问卷")
    assert "问卷 1：村道修缮意见（4 题，还没开始" in listing
    first = bot.send(openid, "问卷 1")
    assert "共 4 题" in first and "第 1/4 题（单选，必答）" in first and "2. 学校门口" in first
    wrong = bot.send(openid, "9")
    assert "没有第 9 项" in wrong and "第 1/4 题" in wrong  # the same question again, with a hint
    assert "没看懂" in bot.send(openid, "好的呀")
    second = bot.send(openid, "２")  # full-width digit
    assert "已记下" in second and "第 2/4 题（多选，必答）" in second and "最多选 2 项" in second
    assert "最多只能选 2 项" in bot.send(openid, "1 2 3")
    third = bot.send(openid, "1和3")
    assert "第 3/4 题（打分，必答）" in third
    back = bot.send(openid, "上一题")
    assert "第 2/4 题" in back and "您原来的回答：1. 出行；3. 农田" in back
    assert "第 3/4 题" in bot.send(openid, "不变")
    assert "1 到 5" in bot.send(openid, "十分")
    fourth = bot.send(openid, "五分")
    assert "第 4/4 题（填写，选答）" in fourth and "跳过" in fourth
    assert "精简到 50 字" in bot.send(openid, "很" * 51)
    done = bot.send(openid, "跳过")
    assert "问卷 1 已提交，谢谢您" in done
    sheet, answers = _answers(db, q, villager)
    assert sheet.submitted_at is not None
    assert answers == {1: [2], 2: [1, 3], 3: 5, 4: "skipped"}
    assert "您已经提交过问卷 1" in bot.send(openid, "问卷 1")
    assert "已提交" in bot.send(openid, "问卷")


def test_required_questions_cannot_be_skipped_and_letters_and_numerals_work(bot, db):
    q, (villager, _), _ = _arrange(db)
    bot.send(villager.openid, "问卷 1")
    assert "必须回答" in bot.send(villager.openid, "跳过")
    assert "第 2/4 题" in bot.send(villager.openid, "C")
    assert "第 3/4 题" in bot.send(villager.openid, "第一个、第四个")
    assert "第 4/4 题" in bot.send(villager.openid, "★★★")
    assert "已提交" in bot.send(villager.openid, "路灯也要修一修")
    assert _answers(db, q, villager)[1] == {1: [3], 2: [1, 4], 3: 3, 4: "路灯也要修一修"}


def test_voice_with_recognised_text_answers_like_text(bot, db):
    q, (villager, _), _ = _arrange(db)
    bot.send(villager.openid, "问卷 1")
    reply = bot.post(bot.pusher.voice(villager.openid, recognition="第二个。")).text
    assert "第 2/4 题" in reply
    assert _answers(db, q, villager)[1] == {1: [2]}


def test_cancel_keeps_the_answers_and_resume_starts_at_the_first_unanswered(bot, db):
    q, (villager, _), _ = _arrange(db)
    bot.send(villager.openid, "问卷 1")
    bot.send(villager.openid, "1")
    bot.send(villager.openid, "2")
    assert "已退出" in bot.send(villager.openid, "取消")
    assert _answers(db, q, villager)[1] == {1: [1], 2: [2]}
    assert "没看懂" in bot.send(villager.openid, "3")  # no dialog any more: not taken as an answer
    assert "没答完，可接着答" in bot.send(villager.openid, "问卷")
    resumed = bot.send(villager.openid, "问卷 1")
    assert "从第 3 题开始" in resumed and "第 3/4 题" in resumed


def test_an_expired_cursor_resumes_from_the_database(bot, db):
    q, (villager, _), _ = _arrange(db)
    bot.send(villager.openid, "问卷 1")
    bot.send(villager.openid, "3")
    settings = bot.services.settings
    key = settings.redis.key_prefix + f"dialog:{villager.openid}"
    ttl = bot.services.redis.ttl(key)
    assert 0 < ttl <= settings.dialogs.ttl_seconds
    bot.services.redis.delete(key)  # what the TTL does after dialogs.ttl_seconds idle
    assert "第" not in bot.send(villager.openid, "1")
    resumed = bot.send(villager.openid, "问卷 1")
    assert "从第 2 题开始" in resumed
    assert _answers(db, q, villager)[1] == {1: [3]}


def test_two_fast_messages_are_handled_one_after_the_other(bot, db):
    q, (villager, _), _ = _arrange(db)
    bot.send(villager.openid, "问卷 1")
    messages = [bot.pusher.text(villager.openid, "1"), bot.pusher.text(villager.openid, "2")]
    replies: list[str | None] = [None, None]
    barrier = threading.Barrier(2)

    def send(index: int) -> None:
        barrier.wait()
        replies[index] = bot.post(messages[index]).text

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    _, answers = _answers(db, q, villager)
    assert set(answers) == {1, 2}, (answers, replies)  # one answered question 1, the other question 2
    assert sorted(answers[1] + answers[2]) == [1, 2]
    assert "第 2/4 题" in bot.send(villager.openid, "上一题")  # the cursor stands at question 3


def test_changes_after_submitting_when_the_questionnaire_allows_them(bot, db):
    q, (villager, _), _ = _arrange(db, allow_changes=True)
    openid = villager.openid
    bot.send(openid, "问卷 1")
    for answer in ("1", "2", "4", "跳过"):
        reply = bot.send(openid, answer)
    assert "截止前还可以发“问卷 1”修改" in reply
    editing = bot.send(openid, "问卷 1")
    assert "截止前可以修改" in editing and "您原来的回答：1. 村东主路" in editing
    bot.send(openid, "不变")
    bot.send(openid, "跳过")  # when editing, 跳过 keeps the earlier answer
    bot.send(openid, "2")
    assert "修改已保存" in bot.send(openid, "跳过")
    assert _answers(db, q, villager)[1] == {1: [1], 2: [2], 3: 2, 4: "skipped"}


def test_r_role_4_people_outside_the_audience_are_refused(bot, db):
    q, _, outsider = _arrange(db)
    assert "没有找到问卷 1" in bot.send(outsider.openid, "问卷 1")
    assert "没有找到问卷 v1-1" in bot.send(outsider.openid, "问卷 v1-1")
    assert "现在没有需要您填写的问卷" in bot.send(outsider.openid, "问卷")


def test_closing_while_someone_answers_ends_the_dialog_kindly(bot, db):
    q, (villager, _), _ = _arrange(db)
    bot.send(villager.openid, "问卷 1")
    bot.send(villager.openid, "1")
    questionnaires.close_questionnaire(db, db.merge(q), None, datetime.now(UTC))
    db.commit()
    assert "问卷 1 已经结束了" in bot.send(villager.openid, "2")
    assert "没看懂" in bot.send(villager.openid, "2")  # the dialog is over


def test_members_questionnaire_for_named_people(bot, db):
    from models import Audience

    _, v1, _ = villages(db)
    invited = person(db, "named-1", v1, name="张大爷")
    villagers(db, v1, 2)
    questionnaire(db, v1, now=datetime.now(UTC), audience=Audience.NAMED, people=[invited.openid])
    db.commit()
    assert "问卷 1" in bot.send(invited.openid, "问卷")
    assert "只请受邀的人填写" in bot.send("uv1-1", "问卷 1")
