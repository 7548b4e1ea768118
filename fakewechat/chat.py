"""A terminal chat client: talk to the official account as a villager would in WeChat."""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import requests

from fakewechat import chat_live, chat_menu
from fakewechat.state import MASS_PATHS, SEND_PATHS
from fakewechat.user import Mode, PushError, WeChatPusher

logger = logging.getLogger(__name__)

HELP = ("命令：/menu 看菜单（再回数字点按钮）　/subscribe [场景值] 关注　/unsubscribe 取消关注　/click 菜单KEY　/view 网址　"
        "/voice 文字 语音　/location 位置　/image 图片　/quit 退出（推送到了会自动显示）")
MEDIA_LABELS = {"image": "【图片】", "voice": "【语音】", "video": "【视频】", "music": "【音乐】",
                "mpnews": "【图文】", "wxcard": "【卡券】", "miniprogrampage": "【小程序】"}


def _values(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    values = [str(v.get("value", "")) if isinstance(v, dict) else str(v) for v in data.values()]
    return "；".join(v for v in values if v)


def describe_push(call: dict[str, Any]) -> str | None:
    """One line for a recorded successful send to the user, or None if it is not a delivered push."""
    if call.get("path") not in SEND_PATHS + MASS_PATHS or call.get("errcode") != 0 or call.get("duplicate"):
        return None
    body = call.get("body") if isinstance(call.get("body"), dict) else {}
    if "template_id" in body:
        return _values(body.get("data")) or "【模板消息】"
    msgtype = body.get("msgtype", "")
    payload = body.get(msgtype) if isinstance(body.get(msgtype), dict) else {}
    if msgtype == "text":
        return str(payload.get("content", ""))
    if msgtype == "news":
        articles = payload.get("articles") or []
        return "【图文】" + "；".join(str(a.get("title", "")) for a in articles if isinstance(a, dict))
    return MEDIA_LABELS.get(msgtype, f"【{msgtype or '消息'}】")


def describe_reply(reply: dict[str, Any]) -> str:
    """A short text for a passive reply."""
    msgtype = reply.get("MsgType")
    if msgtype == "text":
        return str(reply.get("Content") or "")
    if msgtype == "news":
        items = ((reply.get("Articles") or {}).get("item")) or []
        items = items if isinstance(items, list) else [items]
        return "【图文】" + "；".join(str(i.get("Title", "")) for i in items if isinstance(i, dict))
    return MEDIA_LABELS.get(str(msgtype), f"【{msgtype}】")


class ChatSession:
    """One villager's conversation; `handle` takes a typed line, returns False to quit."""

    def __init__(self, pusher: WeChatPusher, openid: str, fake_api_url: str | None,
                 output_fn: Callable[[str], Any], push_wait: float = 0.5, *, media_dir: Path | None = None) -> None:
        self.pusher = pusher
        self.openid = openid
        self.fake_api_url = fake_api_url.rstrip("/") if fake_api_url else None
        self.out = output_fn
        self.push_wait = push_wait
        self.since: int | None = None
        self.boot: str | None = None  # the stand-in's boot id: a new one means it restarted and counts from 0
        self.media_dir = media_dir  # where pictures the account sends are saved
        self._push_lock = threading.Lock()  # the background poller and a reply's own check take turns
        self._down = False  # the stand-in is unreachable (said once, not every second)
        self.menu_leaves: list[dict[str, Any]] | None = None  # after /menu: the buttons a number taps

    def _fake(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.fake_api_url is not None
        response = requests.request(method, self.fake_api_url + path, timeout=3, **kwargs)
        response.raise_for_status()
        return response.json()

    def sync_pushes(self) -> None:
        """Skip pushes sent before now (called at start)."""
        if self.fake_api_url:
            try:
                stats = self._fake("GET", "/_fake/stats")
                self.since, self.boot = int(stats["last_seq"]), stats.get("boot")
            except (requests.RequestException, ValueError, KeyError) as exc:
                self.out(f"（无法连接模拟微信接口 {self.fake_api_url}：{type(exc).__name__}）")

    def check_pushes(self, wait: float = 0.0) -> int:
        """Print new pushes to this user, polling up to `wait` seconds; returns how many were shown."""
        if not self.fake_api_url:
            return 0
        with self._push_lock:
            if self.since is None:
                self.sync_pushes()
                return 0
            deadline = time.monotonic() + wait
            while True:
                try:
                    self._notice_restart()
                    calls = self._fake("GET", "/_fake/calls", params={"openid": self.openid, "since": self.since})
                except (requests.RequestException, ValueError, KeyError) as exc:
                    if not self._down:
                        self.out(f"（暂时连不上微信替身：{type(exc).__name__}。它恢复后推送会接着显示）")
                    self._down = True
                    return 0
                self._down = False
                shown = 0
                for call in calls:
                    self.since = max(self.since or 0, int(call.get("seq", 0)))
                    line = describe_push(call)
                    if line is not None:
                        body = call.get("body") if isinstance(call.get("body"), dict) else {}
                        media_id = chat_live.push_media_id(body)
                        if media_id:
                            line = chat_live.picture_line(line, media_id, self.fake_api_url, self.media_dir)
                        self.out(f"[推送] {line}")
                        shown += 1
                if shown or time.monotonic() >= deadline:
                    return shown
                time.sleep(0.1)

    def _notice_restart(self) -> None:
        """After the demo restarted, the stand-in counts from 0 again: follow it instead of waiting forever."""
        stats = self._fake("GET", "/_fake/stats")
        if chat_live.restarted(stats, self.boot, self.since):
            self.out("（公众号重启过了，新的推送照常显示）")
            self.since = 0
        self.boot = stats.get("boot", self.boot)

    def send(self, xml: str) -> None:
        """Post a message and print the account's reply and any resulting pushes."""
        try:
            result = self.pusher.post(xml, openid=self.openid)
        except requests.Timeout:
            self.out(f"公众号 {self.pusher.timeout:g} 秒内没有回复（真实微信会重试并提示用户）")
            return
        except requests.RequestException as exc:
            self.out(f"网络错误：无法连接公众号服务器（{type(exc).__name__}）")
            return
        except PushError as exc:
            self.out(f"公众号回复无效，微信会提示“该公众号暂时无法提供服务”：{exc}")
            return
        if result.status != 200:
            self.out(f"公众号服务器返回 HTTP {result.status}")
        elif result.reply is None:
            self.out("（公众号没有直接回复）")
        elif chat_live.reply_media_id(result.reply):
            line = chat_live.picture_line(describe_reply(result.reply), chat_live.reply_media_id(result.reply),
                                          self.fake_api_url, self.media_dir)
            self.out(f"公众号：{line}")
        else:
            self.out(f"公众号：{describe_reply(result.reply)}")
        self.check_pushes(self.push_wait)

    def _set_following(self, following: bool) -> None:
        if self.fake_api_url:
            try:
                self._fake("POST", "/_fake/follow" if following else "/_fake/unfollow", json={"openid": self.openid})
            except (requests.RequestException, ValueError) as exc:
                self.out(f"（无法更新模拟微信的关注状态：{type(exc).__name__}）")

    def handle(self, line: str) -> bool:
        """Act on one typed line; False means quit."""
        text = line.strip()
        if not text:
            if not self.check_pushes():
                self.out("（没有新推送）")
            return True
        if self.menu_leaves is not None and text.isdigit():
            chat_menu.tap(self, int(text))
            return True
        self.menu_leaves = None
        if not text.startswith("/"):
            self.send(self.pusher.text(self.openid, text))
            return True
        command, _, arg = text.partition(" ")
        arg = arg.strip()
        pusher, openid = self.pusher, self.openid
        if command == "/quit":
            return False
        if command == "/subscribe":
            self._set_following(True)
            self.send(pusher.subscribe(openid, scene=arg or None))
        elif command == "/unsubscribe":
            self._set_following(False)
            self.send(pusher.unsubscribe(openid))
        elif command == "/menu":
            chat_menu.show_menu(self, arg)
        elif command == "/click" and arg:
            self.send(pusher.click(openid, arg))
        elif command == "/view" and arg:
            self.send(pusher.view(openid, arg))
        elif command == "/voice" and arg:
            self.send(pusher.voice(openid, recognition=arg))
        elif command == "/location":
            self.send(pusher.location(openid, label=arg or "位置信息"))
        elif command == "/image":
            self.send(pusher.image(openid))
        else:
            self.out(HELP)
        return True


def run_chat(webhook_url: str, openid: str, token: str, app_id: str, encoding_aes_key: str = "",
             mode: str = "plain", fake_api_url: str | None = None,
             input_fn: Callable[[str], str] = input, output_fn: Callable[[str], Any] = print,
             *, push_wait: float = 0.5, account_id: str = "gh_shangliang", media_dir: Path | None = None,
             poll_seconds: float = 1.0) -> None:
    """Run the chat REPL until /quit, EOF or Ctrl-C; pushes are polled in the background meanwhile."""
    try:
        pusher = WeChatPusher(webhook_url, token, app_id, encoding_aes_key, cast(Mode, mode), account_id)
    except ValueError as exc:
        output_fn(f"配置错误：{exc}")
        return
    printer = chat_live.PromptPrinter(output_fn, "我：", live=None if output_fn is print else False)
    session = ChatSession(pusher, openid, fake_api_url, printer, push_wait, media_dir=media_dir)
    output_fn(chat_live.connect_line(pusher, mode, openid))
    output_fn("输入文字发送给公众号，/help 查看命令，/quit 退出。")
    session.sync_pushes()
    poller = chat_live.PushPoller(session.check_pushes, poll_seconds).start() if fake_api_url and poll_seconds else None
    try:
        while True:
            try:
                line = printer.read(input_fn)
            except (EOFError, KeyboardInterrupt):
                output_fn("")
                break
            if not session.handle(line):
                break
    finally:
        if poller is not None:
            poller.stop()
    output_fn("再见。")


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m fakewechat.chat --webhook http://127.0.0.1:5000/wechat ...`."""
    parser = argparse.ArgumentParser(description="模拟微信用户与公众号聊天")
    parser.add_argument("--webhook", required=True, help="公众号服务器地址 (URL)")
    parser.add_argument("--openid", default="o_villager_001")
    parser.add_argument("--token", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--aes-key", default="", help="EncodingAESKey (compatible/safe 模式需要)")
    parser.add_argument("--mode", choices=["plain", "compatible", "safe"], default="plain")
    parser.add_argument("--fake-api", default=None, help="模拟微信接口地址, 用于显示推送")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    run_chat(args.webhook, args.openid, args.token, args.app_id, args.aes_key, args.mode, args.fake_api)


if __name__ == "__main__":
    main()
