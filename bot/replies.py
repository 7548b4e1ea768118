"""Turning handler results into stored replies and WeChat XML."""

from __future__ import annotations

from typing import Any

from wechatpy.replies import ImageReply as WxImageReply
from wechatpy.replies import TextReply

from handlers.route import ImageReply, PrivateText

TRUNCATED = "\n……（内容太长，请分几次查看）"
# What a retry of a private reply gets, and what the database keeps of it: a ballot's receipt or choice
# is never stored next to the openid, not even in Redis for a minute (its append-only file keeps it).
PRIVATE_PLACEHOLDER = "T:您的这条消息已经办好了。为保护匿名，回复内容没有保存，不能再显示一次。"


def is_private(result: Any) -> bool:
    """Whether a reply must not be stored next to the openid."""
    return isinstance(result, PrivateText)


def encode(result: Any, max_bytes: int) -> str:
    """A handler's result as the string stored for retries: 'T:text', 'I:media_id' or ''."""
    if result is None or result == "":
        return ""
    if isinstance(result, ImageReply):
        return "I:" + result.media_id
    return "T:" + fit(str(result), max_bytes)


def fit(text: str, max_bytes: int) -> str:
    """Cut text so its UTF-8 form stays within WeChat's passive-reply limit."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    budget = max_bytes - len(TRUNCATED.encode("utf-8"))
    cut = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return cut + TRUNCATED


def escape_cdata(text: str) -> str:
    """Keep ']]>' in user content from closing wechatpy's unescaped CDATA section."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def render(stored: str, message: Any) -> str:
    """The reply XML for a stored reply, addressed back to the message's sender; '' for none."""
    if not stored:
        return ""
    kind, body = stored[:2], stored[2:]
    # the addresses come from the sender's XML: escaped like the content
    to = {"source": escape_cdata(message.target or ""), "target": escape_cdata(message.source or "")}
    if kind == "I:":
        return WxImageReply(media_id=escape_cdata(body), **to).render()
    return TextReply(content=escape_cdata(body), **to).render()
