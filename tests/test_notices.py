"""Notices in the chat: 发布通知 (preview → 确认), 通知/公示, 送达, 撤回通知, receipts, QR scenes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain.notices import broadcasts as notices
from models import Delivery, DeliveryStatus, Notice, NoticeKind, Role
from tests.test_notices_helpers import CUSTOM_PATH, TEMPLATE_PATH, drain, person, world

TEXT = "本周六上午9点在村委会议室开会，商量村东头道路硬化，请大家准时参加。"


def _publish(bot, openid: str = "conv-1", text: str = TEXT) -> str:
    preview = bot.send(openid, f"发布通知 {text}")
    assert "确认" in preview, preview
    return bot.send(openid, "确认")


def test_r_role_4_convenor_broadcast_previews_then_queues_on_confirm(bot, db):
    w = world(db)
    preview = bot.send("conv-1", f"发布通知 {TEXT}")
    assert "东风村" in preview and "回复“确认”发布" in preview and "取消" in preview
    assert "东风村的群众，共 5 人" in preview  # convenor, member, three followers of 东风村
    assert db.scalar(select(func.count(Notice.id))) == 0  # nothing queued before 确认
    reply = bot.send("conv-1", "确认")
    assert "已发布：通知 1" in reply and "送达 1" in reply
    notice = db.scalar(select(Notice))
    assert notice.kind is NoticeKind.GENERAL and notice.org_id == w["v1"].id
    assert notice.title == "本周六上午9点在村委会议室开会"  # the first clause of a long first sentence
    recipients = set(db.scalars(select(Delivery.openid).where(Delivery.notice_id == notice.id)))
    assert recipients == {"conv-1", "member-1", "fan-1", "fan-2", "fan-3"}  # never 红旗村's follower
    assert bot.send("conv-1", "确认") != reply  # the dialog ended: a second 确认 queues nothing
    assert db.scalar(select(func.count(Notice.id))) == 1


def test_r_role_4_followers_and_members_cannot_broadcast(bot, db):
    world(db)
    for openid in ("fan-1", "member-1"):
        assert "没有这项权限" in bot.send(openid, f"发布通知 {TEXT}")
        assert "发布通知" not in bot.send(openid, "帮助")
    assert db.scalar(select(func.count(Notice.id))) == 0


def test_r_role_4_convenor_of_village_b_broadcasts_only_to_b(bot, db):
    w = world(db)
    _publish(bot, "conv-2")
    notice = db.scalar(select(Notice))
    assert notice.org_id == w["v2"].id
    assert set(db.scalars(select(Delivery.openid))) == {"conv-2", "fan-v2"}


def test_r_role_4_domain_refuses_convenor_of_other_village(db, services):
    w = world(db)
    import pytest

    from domain.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        notices.preview_broadcast(db, person=w["convenor2"], org=w["v1"], text=TEXT, now=_now(),
                                  settings=services.settings)


def _now():
    from tests.test_notices_helpers import T0

    return T0


def test_broadcast_cancel_and_bad_input(bot, db):
    world(db)
    assert "写上通知内容" in bot.send("conv-1", "发布通知")
    assert "太长" in bot.send("conv-1", "发布通知 " + "很" * 600)
    bot.send("conv-1", f"发布通知 {TEXT}")
    assert "要离开" in bot.send("conv-1", "帮助")  # a keyword inside the dialog asks whether to leave it
    assert "接着发布通知" in bot.send("conv-1", "否")
    assert "还没有发布" in bot.send("conv-1", "好像不对")  # anything else but 确认 re-asks
    assert "已退出" in bot.send("conv-1", "取消")
    assert db.scalar(select(func.count(Notice.id))) == 0


def test_members_broadcast_reaches_members_only(bot, db):
    world(db)
    assert "东风村议事会成员，共 1 人" in bot.send("conv-1", "发布成员通知 成员们周五下午先碰个头。")
    bot.send("conv-1", "确认")
    assert set(db.scalars(select(Delivery.openid))) == {"member-1"}


def test_list_and_show_notices_in_force(bot, db):
    w = world(db)
    _publish(bot)
    listing = bot.send("fan-1", "通知")
    assert "正在公示的通知（1 条）" in listing and "1．通知：" in listing and "通知 1" in listing
    shown = bot.send("fan-1", "通知 1")
    assert "【东风村 通知 1】" in shown and "道路硬化" in shown and "公示期：" in shown
    assert bot.send("fan-1", "公示") == listing
    assert "没有找到通知 9" in bot.send("fan-1", "通知 9")
    assert "没有正在公示" in bot.send("fan-v2", "通知")  # 红旗村 sees none of 东风村's
    assert "没有找到" in bot.send("fan-v2", "通知 1")
    assert "通知 编号" in bot.send("fan-1", "通知 abc")
    assert "绑定" in bot.send("stranger", "通知")
    assert w["v1"].id


def test_township_notice_reaches_and_lists_in_every_village(bot, db):
    world(db)
    _publish(bot, "conv-town", "全镇秸秆禁烧，请各村村民配合。")
    openids = set(db.scalars(select(Delivery.openid)))
    assert {"fan-1", "fan-v2", "conv-1", "conv-2"} <= openids
    assert "镇1．通知" in bot.send("fan-v2", "通知")
    assert "【幸福镇 通知 镇1】" in bot.send("fan-1", "通知 镇1")


def test_non_public_notice_visible_only_to_its_recipients(db, services):
    w = world(db)
    from domain.notices.outbox import push_to

    push_to(db, [w["fans"][0]], org=w["v1"], title="您的议题有进展", body="已受理。", now=_now())
    db.commit()
    found, _ = notices.find_notice(db, w["fans"][0], "1")
    assert found.title == "您的议题有进展"
    assert [n.id for n, _ in notices.recent_personal(db, w["fans"][0], _now() + timedelta(days=1))] == [found.id]
    assert notices.recent_personal(db, w["fans"][0], _now() + timedelta(days=8)) == []
    import pytest

    from domain.errors import NotFound

    with pytest.raises(NotFound):
        notices.find_notice(db, w["fans"][1], "1")
    assert notices.find_notice(db, w["convenor"], "1")[0].id == found.id  # the convenor sees everything


def test_withdraw_stops_unsent_copies(bot, db):
    world(db)
    _publish(bot)
    reply = bot.send("conv-1", "撤回通知 1")
    assert "已撤回通知 1" in reply
    statuses = set(db.scalars(select(Delivery.status)))
    assert statuses == {DeliveryStatus.SKIPPED}
    assert "没有正在公示" in bot.send("fan-1", "通知")
    assert "已经撤回" in bot.send("conv-1", "撤回通知 1")
    assert "没有这项权限" in bot.send("fan-1", "撤回通知 1")


def test_r_topic_6_topic_notice_cannot_be_withdrawn_before_its_days(db, services):
    w = world(db)
    from domain.errors import Conflict
    from domain.notices.outbox import create_notice
    from models import Audience

    create_notice(db, org=w["v1"], kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS, title="议题公示",
                  body="……", now=_now(), public_days=10)
    db.commit()
    import pytest

    with pytest.raises(Conflict, match="至少要公示7天"):
        notices.close_notice(db, person=w["convenor"], org=w["v1"], seq=1, now=_now(), settings=services.settings)


def test_delivery_report_counts_and_reasons(bot, db, fake_wechat, services):
    world(db)
    _publish(bot)
    fake_wechat.unfollow("fan-2")
    db.execute(select(1))
    waiting = bot.send("conv-1", "送达 1")
    assert "待发送 5" in waiting and "过几分钟" in waiting
    drain(services)
    report = bot.send("conv-1", "送达 1")
    assert "共 5 人：已发出 4" in report and "失败 1" in report and "对方已取消关注" in report
    assert "没有这项权限" in bot.send("fan-1", "送达 1")
    assert "没有编号为 7" in bot.send("conv-1", "送达 7")
    assert "没有编号为 1" in bot.send("conv-2", "送达 1")  # 红旗村's convenor cannot look into 东风村


def test_templatesendjobfinish_updates_final_status(bot, db, fake_wechat, services):
    world(db)
    _publish(bot)
    drain(services)
    rows = {d.openid: d for d in db.scalars(select(Delivery))}
    ok, blocked = rows["fan-1"], rows["fan-3"]
    assert ok.wechat_msgid and blocked.wechat_msgid
    bot.post(bot.pusher.template_send_job_finish("fan-1", int(ok.wechat_msgid), "success"))
    bot.post(bot.pusher.template_send_job_finish("fan-3", int(blocked.wechat_msgid), "failed:user block"))
    bot.post(bot.pusher.template_send_job_finish("fan-2", 999999, "success"))  # unknown msgid: ignored
    db.expire_all()
    assert db.get(Delivery, ok.id).final_status == "success"
    assert db.get(Delivery, ok.id).status is DeliveryStatus.SENT
    assert db.get(Delivery, blocked.id).status is DeliveryStatus.FAILED
    assert db.get(Delivery, blocked.id).last_error == "用户拒收"
    report = bot.send("conv-1", "送达 1")
    assert "微信确认送达 1" in report and "用户拒收 1人" in report


def test_notice_qr_scene_binds_and_shows_the_notice(bot, db):
    w = world(db)
    _publish(bot)
    invite = w["v1"].invite_code
    reply = bot.post(bot.pusher.subscribe("newcomer", scene=f"n_{invite}_1")).text
    assert "绑定成功" in reply and "东风村" in reply and "【东风村 通知 1】" in reply and "通知 1" in reply
    db.expire_all()
    assert person(db, "newcomer", w["v1"], "x").home_org_id == w["v1"].id
    again = bot.post(bot.pusher.scan("fan-v2", f"n_{invite}_1")).text  # 红旗村 villager scans 东风村's board
    assert "已改为绑定“东风村”" in again and "【东风村 通知 1】" in again
    stale = bot.post(bot.pusher.scan("fan-1", "n_WRONGCODE0_1")).text
    assert "失效" in stale


def test_convenor_of_two_orgs_is_asked_nothing_extra(db, services):
    w = world(db)
    from domain.orgs import people

    people.grant_role(db, w["convenor"], w["town"], Role.CONVENOR)
    db.commit()
    assert notices.convenor_org(db, w["convenor"]).id == w["v1"].id  # home organisation first


def test_pushes_go_by_template_or_by_customer_service_inside_48_hours(bot, db, fake_wechat, services):
    world(db)
    _publish(bot)  # the convenor just wrote to the bot: inside the 48-hour window
    drain(services)
    calls = fake_wechat.calls(path=TEMPLATE_PATH)
    assert {c["openid"] for c in calls} == {"member-1", "fan-1", "fan-2", "fan-3"}
    [custom] = fake_wechat.calls(path=CUSTOM_PATH)
    assert custom["openid"] == "conv-1"
    content = custom["body"]["text"]["content"]
    assert content.startswith("【东风村 通知 1】") and TEXT in content and "回复“通知 1”查看全文" in content


def test_missed_personal_pushes_are_listed_too(bot, db):
    w = world(db)
    from datetime import UTC, datetime

    from domain.notices.outbox import push_to

    push_to(db, [w["fans"][0]], org=w["v1"], title="会议提醒：东风村协商议事会", body="……", now=datetime.now(UTC))
    db.commit()
    listing = bot.send("fan-1", "通知")
    assert "现在没有正在公示的通知" in listing and "最近发给您的" in listing and "会议提醒：东风村协商议事会" in listing
    assert "最近发给您的" not in bot.send("fan-2", "通知")


def test_township_notice_qr_shows_the_notice_without_binding_to_the_township(bot, db):
    w = world(db)
    _publish(bot, "conv-town", "全镇秸秆禁烧，请各村村民配合。")
    reply = bot.post(bot.pusher.subscribe("passer-by", scene=f"n_{w['town'].invite_code}_1")).text
    assert "【幸福镇 通知 镇1】" in reply and "绑定成功" not in reply and "镇或县级" not in reply
