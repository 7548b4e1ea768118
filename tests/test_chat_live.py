"""The terminal client (`shangliang chat`): pushes shown as they arrive without Enter, still after the
stand-in restarted, "已连接" only after a real round trip, and pictures saved where they can be opened."""

from __future__ import annotations

import io
import threading
import time

from wechatpy import WeChatClient

from fakewechat import start_fake_wechat
from fakewechat.chat import ChatSession, run_chat
from fakewechat.chat_live import connect_line, picture_line, restarted
from fakewechat.user import WeChatPusher

APP_ID, SECRET, TOKEN = "wxCHATLIVE001", "CHATSECRET", "chattoken"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def _client(base: str) -> WeChatClient:
    class LocalClient(WeChatClient):
        API_BASE_URL = base + "/cgi-bin/"

        def fetch_access_token(self):
            params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            return self._fetch_access_token(url=base + "/cgi-bin/token", params=params)

    return LocalClient(APP_ID, SECRET, timeout=5, auto_retry=False)


def _session(base: str, out: list[str], media_dir=None) -> ChatSession:
    pusher = WeChatPusher("http://127.0.0.1:9/wechat", TOKEN, APP_ID)
    return ChatSession(pusher, "oLive", base, out.append, push_wait=0, media_dir=media_dir)


def test_chat_shows_pushes_after_the_stand_in_restarted_and_counts_from_zero():
    first = start_fake_wechat(APP_ID, SECRET)
    port = first.server.server_port
    for n in range(5):
        _client(first.base_url).message.send_text("oOther", f"别人的消息 {n}")
    out: list[str] = []
    session = _session(first.base_url, out)
    session.sync_pushes()
    assert session.since and session.since >= 5
    first.stop()
    assert session.check_pushes() == 0 and out == [out[0]] and "连不上" in out[0]  # said once, not each poll
    assert session.check_pushes() == 0 and len(out) == 1
    second = start_fake_wechat(APP_ID, SECRET, port=port)  # the demo restarted: same address, seq from 0
    try:
        _client(second.base_url).message.send_text("oLive", "重启以后的推送")
        assert session.check_pushes() == 1
        assert any("重启" in line for line in out) and out[-1] == "[推送] 重启以后的推送"
        assert session.check_pushes() == 0  # shown once
    finally:
        second.stop()


def test_restart_is_seen_by_a_new_boot_id_or_a_counter_that_went_back():
    assert restarted({"boot": "b2", "last_seq": 900}, "b1", 10)  # many calls since: the boot id tells
    assert restarted({"last_seq": 3}, None, 10)  # an older stand-in without a boot id: the counter went back
    assert not restarted({"boot": "b1", "last_seq": 12}, "b1", 10)


def test_pushes_appear_while_the_user_types_nothing():
    fake = start_fake_wechat(APP_ID, SECRET)
    out: list[str] = []

    def read(_prompt: str) -> str:  # the user sits at the prompt while a push arrives, then quits
        threading.Timer(0.2, lambda: _client(fake.base_url).message.send_text("oLive", "不用按回车")).start()
        time.sleep(1.5)
        return "/quit"

    try:
        run_chat("http://127.0.0.1:9/wechat", "oLive", TOKEN, APP_ID, "", "plain", fake.base_url, input_fn=read,
                 output_fn=out.append, poll_seconds=0.2)
    finally:
        fake.stop()
    assert "[推送] 不用按回车" in out  # printed by the background poller: /quit never checks pushes


def test_connected_only_after_the_server_answers(bot):
    s = bot.services.settings.wechat
    assert connect_line(WeChatPusher(bot.url, s.token, s.app_id), "plain", "oA").startswith("已连接公众号")
    wrong_token = connect_line(WeChatPusher(bot.url, "not-the-token", s.app_id), "plain", "oA")
    down = connect_line(WeChatPusher("http://127.0.0.1:9/wechat", s.token, s.app_id), "plain", "oA")
    assert wrong_token.startswith("还连不上") and "HTTP 403" in wrong_token
    assert down.startswith("还连不上") and "demo.sh" in down


def test_picture_line_saves_the_picture_and_names_where_to_open_it(tmp_path):
    fake = start_fake_wechat(APP_ID, SECRET)
    try:
        client = _client(fake.base_url)
        media_id = client.media.upload("image", ("chart.png", io.BytesIO(PNG), "image/png"))["media_id"]
        line = picture_line("【图片】", media_id, fake.base_url, tmp_path / "pics")
        saved = list((tmp_path / "pics").iterdir())
        assert len(saved) == 1 and saved[0].read_bytes() == PNG and saved[0].suffix == ".png"
        assert str(saved[0]) in line and f"{fake.base_url}/_fake/media/{media_id}" in line
        assert "浏览器打开" in picture_line("【图片】", media_id, fake.base_url, None)
        assert "看不到" in picture_line("【图片】", media_id, None, tmp_path)
        out: list[str] = []
        session = _session(fake.base_url, out, media_dir=tmp_path / "pushed")
        session.sync_pushes()
        client.message.send_image("oLive", media_id)
        assert session.check_pushes() == 1
        assert out[-1].startswith("[推送] 【图片】已保存到 ") and str(tmp_path / "pushed") in out[-1]
    finally:
        fake.stop()
