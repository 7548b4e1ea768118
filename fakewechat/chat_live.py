"""The terminal client's live side: pushes printed as they arrive (above the prompt, what was typed
kept), a restarted stand-in noticed, and pictures saved where the user can open them."""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from fakewechat.user import WeChatPusher

logger = logging.getLogger(__name__)

try:  # line editing and the typed text to redraw; absent on some platforms
    import readline
except ImportError:  # pragma: no cover - Windows without pyreadline
    readline = None  # type: ignore[assignment]

EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "audio/amr": ".amr"}


class PromptPrinter:
    """Prints lines; while the user sits at the prompt, a line goes above it and the prompt is redrawn."""

    def __init__(self, output_fn: Callable[[str], Any], prompt: str, *, live: bool | None = None) -> None:
        self.output_fn = output_fn
        self.prompt = prompt
        self.live = sys.stdout.isatty() if live is None else live  # only a terminal can redraw
        self.lock = threading.RLock()
        self.waiting = False

    def __call__(self, text: str) -> None:
        """Print one line (or several) without tearing the line being typed."""
        with self.lock:
            if not (self.waiting and self.live):
                self.output_fn(text)
                return
            typed = readline.get_line_buffer() if readline is not None else ""
            sys.stdout.write("\r\033[K" + text + "\n" + self.prompt + typed)
            sys.stdout.flush()

    def read(self, input_fn: Callable[[str], str]) -> str:
        """Read one line at the prompt; lines printed meanwhile appear above it."""
        with self.lock:
            self.waiting = True
        try:
            return input_fn(self.prompt)
        finally:
            with self.lock:
                self.waiting = False


class PushPoller:
    """Calls ``check`` every ``interval`` seconds in a daemon thread until ``stop``."""

    def __init__(self, check: Callable[[], Any], interval: float = 1.0) -> None:
        self.check = check
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chat-pushes", daemon=True)

    def start(self) -> PushPoller:
        """Start polling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and wait a moment for the thread."""
        self._stop.set()
        self._thread.join(timeout=self.interval + 3)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a poll that fails must not kill the chat; the next one tries again
                logger.debug("push poll failed", exc_info=True)


def connect_line(pusher: WeChatPusher, mode: str, openid: str) -> str:
    """'已连接公众号 …' only after the server answered a signed URL check (a real round trip), else why not."""
    echostr = str(secrets.randbelow(10**12))
    try:
        response = pusher.verify_url(echostr)
        answered = response.status_code == 200 and response.text.strip() == echostr
        why = f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        answered, why = False, type(exc).__name__
    if answered:
        return f"已连接公众号 {pusher.webhook_url}（{mode} 模式），你是用户 {openid}。"
    return (f"还连不上公众号 {pusher.webhook_url}（{why}）。请先在另一个终端运行 ./scripts/demo.sh，"
            f"连上以后直接输入就行。你是用户 {openid}。")


def restarted(stats: dict[str, Any], boot: str | None, since: int | None) -> bool:
    """Whether the stand-in's counters started over since we last looked (a new boot id, or a smaller counter)."""
    if boot is not None and stats.get("boot") not in (None, boot):
        return True
    return since is not None and int(stats.get("last_seq", 0)) < since


def media_url(fake_api_url: str | None, media_id: str) -> str | None:
    """Where the stand-in serves an uploaded picture."""
    return f"{fake_api_url.rstrip('/')}/_fake/media/{media_id}" if fake_api_url and media_id else None


def picture_line(label: str, media_id: str, fake_api_url: str | None, media_dir: Path | None) -> str:
    """'【图片】已保存到 <file>（浏览器打开 <url>）': where the user can see a picture the account sent."""
    url = media_url(fake_api_url, media_id)
    if url is None:
        return f"{label}（真实微信里这里显示图片；本地没有微信替身，看不到图片内容）"
    if media_dir is not None:
        try:
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            kind = response.headers.get("Content-Type", "").split(";")[0].strip()
            media_dir.mkdir(parents=True, exist_ok=True)
            path = media_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{media_id[:8]}{EXTENSIONS.get(kind, '.bin')}"
            path.write_bytes(response.content)
            return f"{label}已保存到 {path}（也可以用浏览器打开 {url}）"
        except (requests.RequestException, OSError) as exc:
            logger.debug("cannot save %s: %s", url, exc)
    return f"{label}用浏览器打开 {url}"


def reply_media_id(reply: dict[str, Any]) -> str:
    """The MediaId of a passive image (voice, video) reply, or ''."""
    for key in ("Image", "Voice", "Video"):
        part = reply.get(key)
        if isinstance(part, dict) and part.get("MediaId"):
            return str(part["MediaId"])
    return ""


def push_media_id(body: dict[str, Any]) -> str:
    """The media_id of a pushed image (voice, video) message, or ''."""
    part = body.get(str(body.get("msgtype", "")))
    return str(part.get("media_id") or "") if isinstance(part, dict) else ""
