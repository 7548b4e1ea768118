"""Mass send by the organisation's WeChat tag (quota-bound), and the tag kept in step with binding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.wechat_tags import sync_tags
from domain.notices import broadcasts as notices
from domain.notices.outbox import create_notice
from models import Audience, Delivery, DeliveryStatus, Notice, NoticeKind, Organisation
from models.outbox import DeliveryPlan, WeChatTagMember
from tests.test_notices_helpers import TEMPLATE_PATH, drain, person, world

MASS_PATH = "/cgi-bin/message/mass/sendall"


def _mass(services):
    settings = services.settings.with_overrides(delivery={"mass_enabled": True, "mass_min_recipients": 2})
    return dataclasses.replace(services, settings=settings, _wechat=None)


def _broadcast(db, services, w) -> Notice:
    db.expire_all()  # the tag sync committed in its own session
    now = datetime.now(UTC)
    preview = notices.preview_broadcast(db, person=w["convenor"], org=w["v1"], text="周日全村大扫除。", now=now,
                                        settings=services.settings)
    notice = notices.confirm_broadcast(db, person=w["convenor"], preview=preview, now=now,
                                       settings=services.settings, token=f"t{now.timestamp()}")
    db.commit()
    return notice


def test_tags_follow_binding_rebinding_and_unfollowing(db, services, fake_wechat):
    w = world(db, followers=2)
    counts = sync_tags(services, datetime.now(UTC))
    db.expire_all()
    v1, v2 = db.get(Organisation, w["v1"].id), db.get(Organisation, w["v2"].id)
    assert counts["tags_created"] == 2 and v1.wechat_tag_id and v2.wechat_tag_id
    assert fake_wechat.directory.tags[v1.wechat_tag_id] == f"东风村#{v1.id}"
    assert set(fake_wechat.directory.members(v1.wechat_tag_id)) == {"conv-1", "member-1", "fan-1", "fan-2"}
    assert sync_tags(services, datetime.now(UTC)) == {"tags_created": 0, "untagged": 0, "tagged": 0, "errors": 0,
                                                      "role_tagged": 0, "role_untagged": 0}
    fan1 = db.scalar(select(type(w["fans"][0])).where(type(w["fans"][0]).openid == "fan-1"))
    fan1.home_org_id = v2.id  # rebinds to 红旗村
    fan2 = db.scalar(select(type(w["fans"][0])).where(type(w["fans"][0]).openid == "fan-2"))
    fan2.subscribed = False  # unfollows (WeChat drops the tag itself)
    fake_wechat.unfollow("fan-2")
    db.commit()
    before = len(fake_wechat.calls(path="/cgi-bin/tags/members/batchuntagging"))
    counts = sync_tags(services, datetime.now(UTC))
    assert counts["untagged"] == 2 and counts["tagged"] == 1
    assert "fan-1" in fake_wechat.directory.members(v2.wechat_tag_id)
    assert "fan-1" not in fake_wechat.directory.members(v1.wechat_tag_id)
    untag_calls = fake_wechat.calls(path="/cgi-bin/tags/members/batchuntagging")[before:]
    assert [c["body"]["openid_list"] for c in untag_calls] == [["fan-1"]]  # no call for the unfollower
    db.expire_all()
    assert db.get(WeChatTagMember, fan2.id) is None
    assert db.get(WeChatTagMember, fan1.id).org_id == v2.id


def test_large_broadcast_goes_by_one_mass_send_to_the_tag_and_the_rest_direct(db, services, fake_wechat):
    w = world(db, followers=3)
    sync_tags(services, datetime.now(UTC))
    person(db, "late-fan", w["v1"], "新来的")  # bound after the tags were synced
    db.commit()
    mass = _mass(services)
    notice = _broadcast(db, mass, w)
    assert notice.delivery_plan is DeliveryPlan.MASS
    drain(mass)
    [call] = fake_wechat.calls(path=MASS_PATH)
    tag_id = db.get(Organisation, w["v1"].id).wechat_tag_id
    assert call["body"]["filter"] == {"is_to_all": False, "tag_id": tag_id}  # tag_id, never group_id
    assert call["body"]["clientmsgid"] == f"n{notice.id}" and "周日全村大扫除" in call["body"]["text"]["content"]
    db.expire_all()
    rows = {d.openid: d for d in db.scalars(select(Delivery).where(Delivery.notice_id == notice.id))}
    assert {o for o, d in rows.items() if d.channel == "mass"} == {"conv-1", "member-1", "fan-1", "fan-2", "fan-3"}
    assert rows["late-fan"].channel == "template" and rows["late-fan"].status is DeliveryStatus.SENT
    assert [c["openid"] for c in fake_wechat.calls(path=TEMPLATE_PATH)] == ["late-fan"]
    assert "已群发给标签内 5 人" in db.get(Notice, notice.id).mass_status


def test_mass_quota_used_up_falls_back_to_one_by_one(db, services, fake_wechat):
    w = world(db, followers=2)
    sync_tags(services, datetime.now(UTC))
    older = create_notice(db, org=w["v1"], kind=NoticeKind.GENERAL, audience=Audience.NAMED, title="旧",
                          body="旧", now=datetime.now(UTC), recipients=select(type(w["fans"][0]).id).where(
                              type(w["fans"][0]).openid == "fan-1"))
    db.flush()
    for _ in range(3):  # fan-1 already got 4 mass messages this month
        older = create_notice(db, org=w["v1"], kind=NoticeKind.GENERAL, audience=Audience.NAMED, title="旧",
                              body="旧", now=datetime.now(UTC), recipients=select(type(w["fans"][0]).id).where(
                                  type(w["fans"][0]).openid == "fan-1"))
    db.flush()
    for row in db.scalars(select(Delivery)):
        row.status, row.channel, row.sent_at = DeliveryStatus.SENT, "mass", datetime.now(UTC) - timedelta(minutes=5)
    db.commit()
    assert older is not None
    mass = _mass(services)
    notice = _broadcast(db, mass, w)
    drain(mass)
    assert fake_wechat.calls(path=MASS_PATH) == []
    db.expire_all()
    assert "群发额度已用完" in db.get(Notice, notice.id).mass_status
    assert {c["openid"] for c in fake_wechat.calls(path=TEMPLATE_PATH)} == {"conv-1", "member-1", "fan-1", "fan-2"}


def test_mass_send_repeated_after_a_crash_is_recognised_as_done(db, services, fake_wechat):
    w = world(db, followers=2)
    sync_tags(services, datetime.now(UTC))
    fake_wechat.add_fault(path=MASS_PATH, errcode=45065, times=1)  # WeChat: this clientmsgid was already sent
    mass = _mass(services)
    notice = _broadcast(db, mass, w)
    drain(mass)
    db.expire_all()
    assert {d.channel for d in db.scalars(select(Delivery).where(Delivery.notice_id == notice.id))} == {"mass"}
    assert fake_wechat.calls(path=TEMPLATE_PATH) == []


def test_masssendjobfinish_records_wechat_counts(bot, db, services, fake_wechat):
    w = world(db, followers=2)
    sync_tags(services, datetime.now(UTC))
    mass = _mass(services)
    notice = _broadcast(db, mass, w)
    drain(mass)
    db.expire_all()
    msg_id = int(db.get(Notice, notice.id).mass_msg_id)
    bot.post(bot.pusher.mass_send_job_finish("gh_shangliang", msg_id, "send success", total_count=4, error_count=1))
    db.expire_all()
    assert db.get(Notice, notice.id).mass_status == "send success：共4人，成功3人，失败1人"
    assert "群发：send success" in bot.send("conv-1", f"送达 {notice.seq}")
