"""Builders for the XML WeChat's servers post to an official account's webhook."""

from __future__ import annotations

import itertools
import secrets
import threading
import time

Field = tuple[str, "str | int | float | RawXml | None"]


class RawXml(str):
    """A value inserted into the XML verbatim (nested elements)."""


def cdata(value: str) -> str:
    """Wrap text in CDATA, splitting any `]]>` inside it."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: list[Field]) -> str:
    """Render `<xml>` with CDATA strings and plain numbers, skipping None values."""
    parts = ["<xml>"]
    for name, value in fields:
        if value is None:
            continue
        if isinstance(value, RawXml):
            inner = str(value)
        elif isinstance(value, bool):
            inner = str(int(value))
        elif isinstance(value, int | float):
            inner = str(value)
        else:
            inner = cdata(str(value))
        parts.append(f"<{name}>{inner}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


def _media_id() -> str:
    return secrets.token_urlsafe(48)


class MessageBuilder:
    """Builds user messages and events the way WeChat's servers format them."""

    def __init__(self, account_id: str = "gh_shangliang") -> None:
        self.account_id = account_id
        self._lock = threading.Lock()
        # 64-bit-like ids, increasing from a time-based start, like real MsgIds.
        self._ids = itertools.count(int(time.time() * 1000) << 20)

    def next_msg_id(self) -> int:
        """A new MsgId."""
        with self._lock:
            return next(self._ids)

    def _head(self, openid: str, msgtype: str, create_time: int | None) -> list[Field]:
        return [("ToUserName", self.account_id), ("FromUserName", openid),
                ("CreateTime", int(create_time if create_time is not None else time.time())),
                ("MsgType", msgtype)]

    def _message(self, openid: str, msgtype: str, fields: list[Field], msg_id: int | None,
                 create_time: int | None) -> str:
        msg_id = msg_id if msg_id is not None else self.next_msg_id()
        return render_xml(self._head(openid, msgtype, create_time) + fields + [("MsgId", msg_id)])

    def _event(self, openid: str, event: str, fields: list[Field], create_time: int | None) -> str:
        return render_xml(self._head(openid, "event", create_time) + [("Event", event)] + fields)

    def text(self, openid: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
        """A text message."""
        return self._message(openid, "text", [("Content", content)], msg_id, create_time)

    def image(self, openid: str, pic_url: str = "http://mmbiz.qpic.cn/mmbiz_jpg/fake/0",
              media_id: str | None = None, msg_id: int | None = None, create_time: int | None = None) -> str:
        """An image message."""
        fields: list[Field] = [("PicUrl", pic_url), ("MediaId", media_id or _media_id())]
        return self._message(openid, "image", fields, msg_id, create_time)

    def voice(self, openid: str, recognition: str | None = None, media_id: str | None = None,
              audio_format: str = "amr", msg_id: int | None = None, create_time: int | None = None) -> str:
        """A voice message; `recognition` is WeChat's speech-to-text (omitted when None)."""
        fields: list[Field] = [("MediaId", media_id or _media_id()), ("Format", audio_format),
                               ("Recognition", recognition)]
        return self._message(openid, "voice", fields, msg_id, create_time)

    def video(self, openid: str, media_id: str | None = None, thumb_media_id: str | None = None,
              msg_id: int | None = None, create_time: int | None = None, *, short: bool = False) -> str:
        """A video message (`short=True` for shortvideo)."""
        fields: list[Field] = [("MediaId", media_id or _media_id()),
                               ("ThumbMediaId", thumb_media_id or _media_id())]
        return self._message(openid, "shortvideo" if short else "video", fields, msg_id, create_time)

    def shortvideo(self, openid: str, media_id: str | None = None, thumb_media_id: str | None = None,
                   msg_id: int | None = None, create_time: int | None = None) -> str:
        """A short-video message."""
        return self.video(openid, media_id, thumb_media_id, msg_id, create_time, short=True)

    def location(self, openid: str, x: float = 23.134521, y: float = 113.358803, scale: int = 20,
                 label: str = "位置信息", msg_id: int | None = None, create_time: int | None = None) -> str:
        """A location message (Location_X is latitude, Location_Y longitude)."""
        fields: list[Field] = [("Location_X", x), ("Location_Y", y), ("Scale", scale), ("Label", label)]
        return self._message(openid, "location", fields, msg_id, create_time)

    def link(self, openid: str, title: str, description: str, url: str, msg_id: int | None = None,
             create_time: int | None = None) -> str:
        """A link message."""
        fields: list[Field] = [("Title", title), ("Description", description), ("Url", url)]
        return self._message(openid, "link", fields, msg_id, create_time)

    def subscribe(self, openid: str, scene: str | int | None = None, ticket: str | None = None,
                  create_time: int | None = None) -> str:
        """A follow event; with `scene` it is a QR-code follow (`EventKey` qrscene_<scene> and a Ticket)."""
        if scene is None:
            return self._event(openid, "subscribe", [], create_time)
        fields: list[Field] = [("EventKey", f"qrscene_{scene}"), ("Ticket", ticket or f"fake_ticket_{scene}")]
        return self._event(openid, "subscribe", fields, create_time)

    def unsubscribe(self, openid: str, create_time: int | None = None) -> str:
        """An unfollow event."""
        return self._event(openid, "unsubscribe", [], create_time)

    def scan(self, openid: str, scene: str | int, ticket: str | None = None,
             create_time: int | None = None) -> str:
        """A SCAN event (an existing follower scanned a parametric QR code)."""
        fields: list[Field] = [("EventKey", str(scene)), ("Ticket", ticket or f"fake_ticket_{scene}")]
        return self._event(openid, "SCAN", fields, create_time)

    def click(self, openid: str, key: str, create_time: int | None = None) -> str:
        """A menu CLICK event."""
        return self._event(openid, "CLICK", [("EventKey", key)], create_time)

    def view(self, openid: str, url: str, create_time: int | None = None) -> str:
        """A menu VIEW event."""
        return self._event(openid, "VIEW", [("EventKey", url)], create_time)

    def template_send_job_finish(self, openid: str, msg_id: int, status: str = "success",
                                 create_time: int | None = None) -> str:
        """TEMPLATESENDJOBFINISH for a template message sent to `openid`."""
        fields: list[Field] = [("MsgID", msg_id), ("Status", status)]
        return self._event(openid, "TEMPLATESENDJOBFINISH", fields, create_time)

    def mass_send_job_finish(self, openid: str, msg_id: int, status: str = "send success",
                             total_count: int = 0, sent_count: int | None = None, error_count: int = 0,
                             create_time: int | None = None) -> str:
        """MASSSENDJOBFINISH with the counts WeChat reports."""
        sent = total_count - error_count if sent_count is None else sent_count
        check = RawXml("<Count>0</Count><ResultList></ResultList><CheckState>1</CheckState>")
        fields: list[Field] = [
            ("MsgID", msg_id), ("Status", status), ("TotalCount", total_count), ("FilterCount", total_count),
            ("SentCount", sent), ("ErrorCount", error_count), ("CopyrightCheckResult", check),
        ]
        return self._event(openid, "MASSSENDJOBFINISH", fields, create_time)
