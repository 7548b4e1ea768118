"""Pre-signed WeChat requests for wrk: one line per request, read by post.lua."""

from __future__ import annotations

import hashlib
from pathlib import Path

from wechatpy.crypto import WeChatCrypto

XML = ("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
       "<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
       "<MsgId>{msgid}</MsgId></xml>")
# Events: a menu tap (CreateTime steps back once per round over the followers, so each tap is a new event) and
# WeChat's receipt of a template message (its MsgID is the copy's wechat_msgid, RECEIPT_MSGID_BASE + i).
CLICK_XML = ("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
             "<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
             "<EventKey><![CDATA[{content}]]></EventKey></xml>")
RECEIPT_XML = ("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
               "<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID>"
               "<Status><![CDATA[{content}]]></Status></xml>")
RECEIPT_MSGID_BASE = 1_000_000


def _sig(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def write_requests(path: Path, *, count: int, token: str, timestamp: int, followers: int, content: str,
                   unique_content: bool, msgid_base: int, aes_key: str = "", app_id: str = "",
                   kind: str = "text", first: int = 0) -> Path:
    """Write `count` signed requests as 'path-with-query<TAB>body' lines (kind: text, click or receipt).

    ``first``: for events, where this batch starts in the series of taps or receipts (batches made in the
    same second must not repeat an event, or WeChat's retry dedup answers them from the cache).
    """
    crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
    ts = str(timestamp)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            openid = f"bench-u{(first + i) % followers}"  # first = 0 for text: request i comes from follower i
            nonce = f"n{msgid_base + i}"
            text = f"{content}{i}号" if unique_content else content
            if kind == "click":
                xml = CLICK_XML.format(openid=openid, ts=timestamp - (first + i) // followers, content=text)
            elif kind == "receipt":
                xml = RECEIPT_XML.format(openid=openid, ts=ts, content=text, msgid=RECEIPT_MSGID_BASE + first + i)
            else:
                xml = XML.format(openid=openid, ts=ts, content=text, msgid=msgid_base + i)
            query = f"/wechat?signature={_sig(token, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={openid}"
            if crypto is not None:
                envelope = crypto.encrypt_message(xml, nonce, ts)
                encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
                query += f"&encrypt_type=aes&msg_signature={_sig(token, ts, nonce, encrypt)}"
                xml = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            out.write(f"{query}\t{xml}\n")
    return path
