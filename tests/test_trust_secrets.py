"""Issue 12, item 8: no access token, app secret or webhook token in any log line, error text or file
readable by others, even on a run where every send fails."""

from __future__ import annotations

import json
import logging
import stat
import traceback
from datetime import UTC, datetime

from sqlalchemy import select

from bot.wechat import WeChatAPI, WeChatError
from domain.notices.outbox import create_notice
from models import Audience, Delivery, NoticeKind
from tests.test_notices_helpers import TEMPLATE_PATH, drain, world

PLAIN_TOKEN = "/cgi-bin/token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"


def _texts(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_failed_sends_and_token_fetches_leak_no_secret_to_logs_or_errors(db, services, fake_wechat, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    s = services.settings.with_overrides(wechat={"use_stable_token": False})
    api = WeChatAPI(s.wechat, services.redis, s.redis.key_prefix)
    fake_wechat.add_fault(PLAIN_TOKEN, http_status=502, times=1)
    try:
        api.message.send_text("u-1", "取令牌失败")
    except WeChatError as exc:
        errors.append(_texts(exc))
    access_token = api.access_token  # the stand-in now hands one out
    fake_wechat.add_fault(CUSTOM_SEND, http_status=502, times=1)
    try:
        api.message.send_text("u-1", "发送失败")
    except WeChatError as exc:
        errors.append(_texts(exc))
    w = world(db, followers=2)
    create_notice(db, org=w["v1"], kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS, title="停水通知",
                  body="明天停水。", now=datetime.now(UTC), public_days=7)
    db.commit()
    fake_wechat.add_fault(path=TEMPLATE_PATH, http_status=500)
    try:
        drain(services, max_attempts=2)
    finally:
        fake_wechat.clear_faults()  # the stand-in is shared by the run
    stored = " ".join(str(e) for e in db.scalars(select(Delivery.last_error)))
    assert len(errors) == 2 and "502" in errors[1]
    secrets = {access_token, services.wechat.access_token, s.wechat.app_secret, s.wechat.token}
    for text in (caplog.text, *errors, stored):
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked"


def test_runtime_file_with_the_token_is_private(tmp_path):
    from bot.cli.servers import _write_runtime
    from domain.settings import Settings

    settings = Settings().with_overrides(server={"data_dir": str(tmp_path / "data")})
    path = _write_runtime(settings, {"token": settings.wechat.token, "encoding_aes_key": ""})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8"))["token"] == settings.wechat.token
