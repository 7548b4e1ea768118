"""Polls through the webhook (the real app on a port, signed like WeChat) and the chart upload to the stand-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from domain.votes import polls
from handlers import load_routes, router
from handlers.context import Context
from handlers.normalize import normalise
from handlers.route import ImageReply
from models import Delivery, Notice, Poll, Role
from tests.test_polls_support import TZ, person, poll, villagers, villages


def _arrange(db):
    _, v1, v2 = villages(db)
    convenor = person(db, "conv-1", v1, (v1, Role.CONVENOR), name="王书记")
    folks = villagers(db, v1, 3)
    outsider = villagers(db, v2, 1)[0]
    db.commit()
    return v1, convenor, folks, outsider


def _receipt(reply: str) -> str:
    match = re.search(r"回执：([A-Z2-9]{8})", reply)
    assert match, reply
    return match.group(1)


def test_r_topic_3_convenor_starts_a_poll_in_the_chat_and_villagers_vote(bot, db):
    v1, convenor, folks, _ = _arrange(db)
    preview = bot.send(convenor.openid, "发起投票 村口路灯装在哪？：东头／西头／两头都装 截止 5天")
    assert "请核对" in preview and "1. 东头" in preview and "3. 两头都装" in preview
    assert "共 4 人" in preview and "匿名投票" in preview and "回复“确认”" in preview
    assert db.scalar(select(Poll.id)) is None  # nothing before 确认
    assert "请回复“确认”" in bot.send(convenor.openid, "好像不对")
    done = bot.send(convenor.openid, "确认")
    assert "已发起投票 1" in done and "正在通知 4 人" in done
    notice = db.scalars(select(Notice).where(Notice.title.like("投票 1%"))).one()
    assert len(db.scalars(select(Delivery).where(Delivery.notice_id == notice.id)).all()) == 4

    villager = folks[0].openid
    listing = bot.send(villager, "投票")
    assert "投票 1：村口路灯装在哪?（还没投" in listing
    shown = bot.send(villager, "投票 1")
    assert "2. 西头" in shown and "投票请回复：投票 1 1" in shown
    assert "没有第 5 项" in bot.send(villager, "投票 1 5")
    voted = bot.send(villager, "投票 1 西头")
    assert "投票成功" in voted and "2. 西头" in voted
    _receipt(voted)
    assert "已经投过" in bot.send(villager, "投票 1 1")
    assert "已经投过了" in bot.send(villager, "投票 1")
    assert "投票成功" in bot.send(folks[1].openid, "投票1 第一个")


def test_r_role_4_outsiders_and_non_convenors_are_refused(bot, db):
    v1, convenor, folks, outsider = _arrange(db)
    poll(db, v1, now=datetime.now(UTC), actor=convenor)
    db.commit()
    assert "没有找到投票 1" in bot.send(outsider.openid, "投票 1 1")
    assert "是东风村的，您不能查看或参加" in bot.send(outsider.openid, "投票 v1-1 1")
    assert "没有这项权限" in bot.send(folks[0].openid, "发起投票 问题：甲/乙")
    assert "没有这项权限" in bot.send(folks[0].openid, "结束投票 1")


def test_bad_poll_requests_get_a_usage_line(bot, db):
    _, convenor, _, _ = _arrange(db)
    assert "例如：发起投票" in bot.send(convenor.openid, "发起投票 只有问题没有选项")
    assert "至少需要两个选项" in bot.send(convenor.openid, "发起投票 问题：甲/ ")
    assert "截止时间已经过去" in bot.send(convenor.openid, "发起投票 问题：甲/乙 截止 2020-01-01 08:00")
    assert "不是投票编号" in bot.send(convenor.openid, "投票 abc")
    assert "请写上投票编号" in bot.send(convenor.openid, "结果")


def test_close_results_and_verify_a_receipt(bot, db):
    v1, convenor, folks, _ = _arrange(db)
    poll(db, v1, now=datetime.now(UTC), actor=convenor)
    db.commit()
    receipts = [_receipt(bot.send(f.openid, f"投票 1 {choice}")) for f, choice in zip(folks, [1, 2, 2], strict=True)]
    running = bot.send(folks[0].openid, "结果 1")
    assert "目前票数" in running and "2. 西头  2 票 67%" in running
    assert "尚未" not in running and "核验" not in running
    before = bot.send(folks[1].openid, f"核验 1 {receipts[1]}")
    # 核验 confirms "counted as cast" but never shows the choice: a receipt must not prove a vote to a buyer
    assert "已计入投票 1" in before and "西头" not in before and "投票结束后会公布结果" in before

    closed = bot.send(convenor.openid, "结束投票 1")
    assert "投票 1 已结束，共 3 人投票" in closed
    assert "已经结束" in bot.send(convenor.openid, "投票 1 1")
    final = bot.post(bot.pusher.text(folks[0].openid, "结果 1"))  # the chart picture; its text is pushed
    assert final.reply is not None and final.reply["MsgType"] == "image"
    db.expire_all()
    published = db.scalar(select(Poll.tally_hash))
    pushed = "\n".join(db.scalars(select(Notice.body)).all())
    assert "最终结果" in pushed and f"计票指纹：{published}" in pushed
    check = bot.send(folks[1].openid, f"核验 1 {receipts[1].lower()}")
    assert "已计入投票 1 的结果，共 3 人投票" in check and published[:12] in check and published not in check
    assert "西头" not in check and f"{receipts[1]} 2" not in check
    assert "没有回执" in bot.send(folks[1].openid, "核验 1 ABCDEFGH")
    assert "例如：核验 3" in bot.send(folks[1].openid, "核验 1")


def test_hidden_results_wait_for_the_close(bot, db):
    v1, convenor, folks, _ = _arrange(db)
    poll(db, v1, now=datetime.now(UTC), actor=convenor, hide_results=True)
    db.commit()
    bot.send(folks[0].openid, "投票 1 1")
    assert "截止后公布" in bot.send(folks[0].openid, "结果 1")
    assert "截止后公布" in bot.send(convenor.openid, "结果 1")  # convenors wait too


def _context(services, openid, text, uploader):
    load_routes()
    session = services.sessions()
    ctx = Context(openid, SimpleNamespace(type="text", source=openid, content=text), normalise(text), session,
                  services.redis, services.settings, datetime.now(UTC), uploader=uploader)
    return ctx


def test_closed_poll_results_come_as_a_chart_uploaded_to_the_stand_in(services, db, fake_wechat):
    v1, convenor, folks, _ = _arrange(db)
    now = datetime.now(UTC)
    p = poll(db, v1, now=now - timedelta(hours=1), hours=2)
    for who, choice in zip(folks, [1, 1, 3], strict=True):
        polls.cast_vote(db, p, who, [choice], now - timedelta(minutes=30), tz=TZ)
    polls.close_poll(db, p, convenor, now - timedelta(minutes=1), TZ)
    db.commit()

    def upload(data: bytes, filename: str) -> str:
        return services.wechat.media.upload("image", (filename, data, "image/png"))["media_id"]

    for attempt in (1, 2):
        ctx = _context(services, folks[0].openid, "结果 1", upload)
        with ctx.db:
            reply = router.dispatch(ctx)
            ctx.db.commit()
        assert isinstance(reply, ImageReply), reply
        uploads = fake_wechat.calls(path="/cgi-bin/media/upload")
        assert len(uploads) == 1, attempt  # the second request reuses the uploaded picture
        assert fake_wechat.media[reply.media_id]["data"].startswith(b"\x89PNG")
    pushes = db.scalars(select(Notice).where(Notice.title == "投票 1 结果")).all()
    assert len(pushes) == 1 and "1. 东头  2 票 67%" in pushes[0].body  # asking again pushes nothing new
    delivery = db.scalars(select(Delivery).where(Delivery.notice_id == pushes[0].id)).one()
    assert delivery.person_id == folks[0].id


def test_a_failed_upload_falls_back_to_the_text(services, db, fake_wechat):
    v1, convenor, folks, _ = _arrange(db)
    p = poll(db, v1, now=datetime.now(UTC), actor=convenor)
    polls.close_poll(db, p, convenor, datetime.now(UTC), TZ)
    db.commit()
    fake_wechat.add_fault("/cgi-bin/media/upload", errcode=-1, times=1)

    def upload(data: bytes, filename: str) -> str:
        return services.wechat.media.upload("image", (filename, data, "image/png"))["media_id"]

    ctx = _context(services, folks[0].openid, "结果 1", upload)
    with ctx.db:
        reply = router.dispatch(ctx)
    assert isinstance(reply, str) and "最终结果" in reply


def test_a_grid_worker_votes_for_a_villager_who_asked_them(bot, db):
    from models import Person, PollVoter

    v1, convenor, folks, _ = _arrange(db)
    grid = person(db, "grid-1", v1, (v1, Role.GRID_WORKER), name="网格员小李")
    elder = Person(real_name="张大爷", home_org=v1, subscribed=False)
    db.add(elder)
    db.flush()
    from domain.orgs.people import mark_needs_help

    mark_needs_help(db, elder, v1, datetime.now(UTC), by=convenor)  # 代办 only for those marked (issue 12)
    poll(db, v1, now=datetime.now(UTC), actor=convenor)
    db.commit()
    assert "确认要代" in bot.send(grid.openid, "代办 张大爷")
    assert "现在开始代 张大爷 办理" in bot.send(grid.openid, "确认")
    voted = bot.send(grid.openid, "投票 1 2")
    assert "已替 张大爷 投票" in voted and "请把回执告诉 张大爷" in voted
    assert "已经投过" in bot.send(grid.openid, "投票 1 1")
    bot.send(grid.openid, "代办结束")
    assert "投票成功" in bot.send(grid.openid, "投票 1 1")  # the grid worker's own vote
    db.expire_all()
    rows = {r.person_id: r.by_proxy_id for r in db.scalars(select(PollVoter))}
    assert rows == {elder.id: grid.id, grid.id: None}


def test_newcomers_are_told_to_bind_first(bot, db):
    villages(db)
    db.commit()
    for text in ("投票", "投票 1", "问卷", "问卷 1", "结果 1"):
        assert "还没有绑定村" in bot.send("newcomer", text), text


def test_odd_numbers_get_a_plain_answer_not_an_error(bot, db):
    _, convenor, folks, _ = _arrange(db)
    for text in ("投票 99999999999999999999 1", "结果 ²", "问卷 99999999999999999999", "核验 ３ x",
                 "发起确认 99999999999999999999", "结束投票 -1"):
        reply = bot.send(convenor.openid, text)
        assert "系统出了点问题" not in reply and reply, (text, reply)
