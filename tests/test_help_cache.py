"""帮助 is built once per role set and reused: the cached list still follows each sender's roles, a grant and a
revocation, and binding; a template receipt is one UPDATE and changes only the copy it names."""

from __future__ import annotations

from sqlalchemy import select

from domain.notices.delivery_results import record_job_finish
from domain.orgs import people
from models import Delivery, DeliveryStatus, Role
from models.db import may_have_written
from tests.test_notices_helpers import drain, world


def test_cached_help_follows_roles_grants_and_binding(bot, db):
    w = world(db)
    villager = bot.send("fan-1", "帮助")
    convenor = bot.send("conv-1", "帮助")
    assert villager != convenor and "发布通知" in convenor and "发布通知" not in villager
    assert bot.send("fan-2", "帮助") == villager and bot.send("fan-1", "帮助") == villager  # reused, same words
    assert bot.send("conv-2", "帮助") == convenor  # another village's convenor: same roles, same list
    people.grant_role(db, w["fans"][0], w["v1"], Role.CONVENOR)
    db.commit()
    assert bot.send("fan-1", "帮助") == convenor  # the grant shows at the next message
    people.revoke_role(db, w["fans"][0], w["v1"], Role.CONVENOR)
    db.commit()
    assert bot.send("fan-1", "帮助") == villager
    newcomer = bot.send("newcomer-1", "帮助")
    assert newcomer.startswith("您还没绑定村（社区）") and newcomer != villager
    assert bot.send("fan-3", "帮助") == villager  # the unbound head is not kept for bound people


def test_receipt_for_an_unknown_msgid_changes_nothing_and_counts_as_no_write(services, db):
    world(db)
    with services.sessions() as session:
        assert record_job_finish(session, msgid="424242", openid="fan-1", status="failed:user block") is None
        assert not may_have_written(session)  # so the webhook keeps no inbound row for it, as before
        session.commit()


def test_receipt_failure_marks_only_a_sent_copy(bot, db, services):
    world(db)
    bot.send("conv-1", "发布通知 周六上午9点村委会议室开会。")
    assert "已发布" in bot.send("conv-1", "确认")
    drain(services)
    db.expire_all()
    sent = {d.openid: d for d in db.scalars(select(Delivery).where(Delivery.status == DeliveryStatus.SENT))}
    first, second = sent["fan-1"], sent["fan-2"]
    with services.sessions() as session:
        assert record_job_finish(session, msgid=first.wechat_msgid, openid="fan-2", status="failed") is None  # not theirs
        assert record_job_finish(session, msgid=first.wechat_msgid, openid="fan-1", status="failed:system failed") == first.id
        assert record_job_finish(session, msgid=second.wechat_msgid, openid="fan-2", status="success") == second.id
        assert may_have_written(session)
        session.commit()
    db.expire_all()
    assert db.get(Delivery, first.id).status is DeliveryStatus.FAILED
    assert db.get(Delivery, first.id).last_error == "微信回执：failed:system failed"
    assert db.get(Delivery, second.id).status is DeliveryStatus.SENT and db.get(Delivery, second.id).final_status == "success"
    with services.sessions() as session:  # another receipt for it: the first one is kept (it counts once)
        assert record_job_finish(session, msgid=first.wechat_msgid, openid="fan-1", status="failed:other") is None
        session.commit()
    db.expire_all()
    assert db.get(Delivery, first.id).final_status == "failed:system failed"
    assert db.get(Delivery, first.id).last_error == "微信回执：failed:system failed"
