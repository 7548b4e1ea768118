"""The stand-in posts TEMPLATESENDJOBFINISH back as WeChat does, and 送达 counts what WeChat confirmed."""

from __future__ import annotations

import requests
from sqlalchemy import select

from fakewechat.events import USER_BLOCK, WebhookTarget, attach_webhook
from models import Delivery, DeliveryStatus
from tests.driver import AES_KEY, live_bot
from tests.test_notices_helpers import TEMPLATE_PATH, drain, world


def test_safe_mode_receipts_reach_the_live_bot_and_songda_shows_them(services, db, fake_wechat, fake_wechat_server):
    world(db, followers=2)
    wechat = services.settings.wechat
    with live_bot(services, mode="safe") as bot:
        poster = attach_webhook(fake_wechat, WebhookTarget(bot.url, wechat.token, wechat.app_id, AES_KEY, "safe"),
                                delay=0.5)
        try:
            requests.post(f"{fake_wechat_server[0]}/_fake/job_status", json={"openid": "fan-2", "status": USER_BLOCK},
                          timeout=5).raise_for_status()
            bot.send("conv-1", "发布通知 周六上午9点村委会议室开会。")
            assert "已发布：通知 1" in bot.send("conv-1", "确认")
            before = bot.send("conv-1", "送达 1")
            assert "微信确认送达 0" in before, before
            drain(services)
            assert poster.wait_idle()
            templates = {c["openid"] for c in fake_wechat.calls(path=TEMPLATE_PATH) if c["errcode"] == 0}
            assert templates and {p["openid"] for p in poster.posted} == templates
            assert all(p["http_status"] == 200 for p in poster.posted), poster.posted  # signed and encrypted: accepted
            report = bot.send("conv-1", "送达 1")
        finally:
            attach_webhook(fake_wechat, None)
    db.expire_all()
    rows = db.scalars(select(Delivery).where(Delivery.channel == "template")).all()
    confirmed = [r for r in rows if r.final_status == "success"]
    assert len(confirmed) == len(templates) - 1 > 0
    [blocked] = [r for r in rows if r.openid == "fan-2"]
    assert blocked.status is DeliveryStatus.FAILED and blocked.last_error == "用户拒收"
    assert f"微信确认送达 {len(confirmed)}" in report and "失败 1" in report and "用户拒收" in report, report


def test_the_api_answers_before_the_event_and_a_repeat_posts_nothing(services, fake_wechat, fake_wechat_server):
    wechat = services.settings.wechat
    with live_bot(services) as bot:
        poster = attach_webhook(fake_wechat, WebhookTarget(bot.url, wechat.token, wechat.app_id), delay=0.3)
        try:
            token = fake_wechat.issue_token()["access_token"]
            body = {"touser": "fan-1", "template_id": "TPL_GENERAL", "data": {}, "client_msg_id": "d1"}
            url = f"{fake_wechat_server[0]}{TEMPLATE_PATH}?access_token={token}"
            first = requests.post(url, json=body, timeout=5).json()
            assert first["errcode"] == 0 and poster.posted == []  # answered first; the event comes later
            again = requests.post(url, json=body, timeout=5).json()  # the same client_msg_id: a repeat
            assert again["msgid"] == first["msgid"]
            assert poster.wait_idle()
            assert poster.posted == [{"openid": "fan-1", "msgid": first["msgid"], "status": "success",
                                      "http_status": 200}]
            shown = requests.get(f"{fake_wechat_server[0]}/_fake/webhook", timeout=5).json()
            assert shown["url"] == bot.url and len(shown["posted"]) == 1
        finally:
            attach_webhook(fake_wechat, None)
    assert requests.post(f"{fake_wechat_server[0]}/_fake/job_status", json={"openid": "x"}, timeout=5).status_code == 409
