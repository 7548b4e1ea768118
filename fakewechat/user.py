"""A simulated WeChat server pushing user messages to an official account's webhook."""

from __future__ import annotations

import binascii
import hashlib
import logging
import secrets
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from xml.parsers.expat import ExpatError

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from fakewechat.messages import MessageBuilder, cdata

logger = logging.getLogger(__name__)

Mode = Literal["plain", "compatible", "safe"]
MODES = ("plain", "compatible", "safe")


class PushError(Exception):
    """The official account's answer is something WeChat would not accept."""


class ReplySignatureError(PushError):
    """An encrypted reply whose MsgSignature does not verify."""


class ReplyFormatError(PushError):
    """A reply that is not valid (malformed XML, wrong appid, plaintext in safe mode...)."""


@dataclass
class PushResult:
    """The webhook's answer: HTTP status, raw body, parsed (decrypted) reply and its text Content."""

    status: int
    body: str
    reply: dict[str, Any] | None
    text: str | None
    encrypted: bool = False
    elapsed: float = 0.0


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: sha1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _nonce() -> str:
    return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)


def _xml_field(xml: str, name: str) -> str | None:
    try:
        doc = xmltodict.parse(xml).get("xml") or {}
    except (ExpatError, ValueError):
        return None
    value = doc.get(name)
    return value if isinstance(value, str) else None


class WeChatPusher(MessageBuilder):
    """Posts messages to a webhook exactly as WeChat does (signed; plain, compatible or safe mode)."""

    def __init__(self, webhook_url: str, token: str, app_id: str, encoding_aes_key: str = "",
                 mode: Mode = "plain", account_id: str = "gh_shangliang", *, timeout: float = 5.0,
                 session: requests.Session | None = None) -> None:
        super().__init__(account_id)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.webhook_url = webhook_url
        self.token = token
        self.app_id = app_id
        self.mode = mode
        self.timeout = timeout
        self.session = session
        self.crypto: WeChatCrypto | None = None
        self._sealed: dict[tuple[str, str, str], tuple[str, str]] = {}  # (xml, timestamp, nonce) → its Encrypt
        if encoding_aes_key:
            self.crypto = WeChatCrypto(token, encoding_aes_key, app_id)
        elif mode != "plain":
            raise ValueError(f"{mode} mode needs the 43-character encoding_aes_key")

    def _encrypt(self, xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt `xml` with wechatpy; returns (Encrypt, msg_signature).

        WeChat's retry is the same request again (same timestamp, nonce, signature and body), so the same
        message under the same timestamp and nonce is sealed once and resent byte for byte.
        """
        assert self.crypto is not None
        sealed = self._sealed.get((xml, timestamp, nonce))
        if sealed is None:
            envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
            sealed = envelope["Encrypt"], sha1_signature(self.token, timestamp, nonce, envelope["Encrypt"])
            if len(self._sealed) >= 256:
                self._sealed.clear()
            self._sealed[(xml, timestamp, nonce)] = sealed
        return sealed

    def build_request(self, xml: str, *, timestamp: str | None = None, nonce: str | None = None,
                      openid: str | None = None) -> tuple[dict[str, str], str]:
        """The query parameters and body WeChat would post for `xml`."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or _nonce()
        params = {"signature": sha1_signature(self.token, timestamp, nonce), "timestamp": timestamp,
                  "nonce": nonce, "openid": openid or _xml_field(xml, "FromUserName") or ""}
        if self.mode == "plain":
            return params, xml
        encrypt, msg_signature = self._encrypt(xml, timestamp, nonce)
        params.update(encrypt_type="aes", msg_signature=msg_signature)
        if self.mode == "compatible":
            head, _, _ = xml.rpartition("</xml>")
            return params, f"{head}<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        to_user = _xml_field(xml, "ToUserName") or self.account_id
        body = f"<xml><ToUserName>{cdata(to_user)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        return params, body

    def post(self, xml: str, *, timestamp: str | None = None, nonce: str | None = None,
             openid: str | None = None) -> PushResult:
        """Post one message; raises requests errors on network failure and PushError on a bad reply."""
        params, body = self.build_request(xml, timestamp=timestamp, nonce=nonce, openid=openid)
        return self.post_request(params, body)

    def post_request(self, params: dict[str, str], body: str) -> PushResult:
        """Post a prepared request as it is (WeChat's retries resend the very same request)."""
        started = time.monotonic()
        sender = self.session or requests
        response = sender.post(self.webhook_url, params=params, data=body.encode("utf-8"),
                               headers={"Content-Type": "text/xml"}, timeout=self.timeout)
        elapsed = time.monotonic() - started
        result = self.parse_reply(response.status_code, response.content.decode("utf-8", "replace"))
        result.elapsed = elapsed
        logger.debug("pushed to %s: HTTP %s in %.3fs", self.webhook_url, response.status_code, elapsed)
        return result

    def parse_reply(self, status: int, body: str) -> PushResult:
        """Interpret a webhook answer: empty/`success` → no reply; encrypted replies are verified."""
        stripped = body.strip()
        if status != 200 or not stripped or stripped == "success":
            return PushResult(status, body, None, None)
        doc = self._parse(stripped)
        encrypted = "Encrypt" in doc
        if encrypted:
            doc = self._parse(self._decrypt(doc))
        elif self.mode == "safe":
            raise ReplyFormatError("safe mode needs an encrypted reply; WeChat would show 该公众号暂时无法提供服务")
        if not doc.get("MsgType"):
            raise ReplyFormatError("reply XML has no MsgType")
        text = doc.get("Content") if doc.get("MsgType") == "text" else None
        return PushResult(status, body, doc, text if isinstance(text, str) else None, encrypted)

    @staticmethod
    def _parse(xml: str) -> dict[str, Any]:
        try:
            doc = xmltodict.parse(xml)
        except (ExpatError, ValueError) as exc:
            raise ReplyFormatError(f"reply is not valid XML: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("xml"), dict):
            raise ReplyFormatError("reply XML has no <xml> root")
        return doc["xml"]

    def _decrypt(self, envelope: dict[str, Any]) -> str:
        if self.crypto is None:
            raise ReplyFormatError("encrypted reply, but this pusher has no encoding_aes_key")
        signature, timestamp, nonce = (envelope.get(k) for k in ("MsgSignature", "TimeStamp", "Nonce"))
        if not (signature and timestamp and nonce):
            raise ReplySignatureError("encrypted reply lacks MsgSignature, TimeStamp or Nonce")
        try:
            return self.crypto.decrypt_message(envelope, signature, timestamp, nonce)
        except InvalidSignatureException as exc:
            raise ReplySignatureError("reply MsgSignature does not match its Encrypt") from exc
        except InvalidAppIdException as exc:
            raise ReplyFormatError("reply was encrypted for another appid") from exc
        except (binascii.Error, ValueError, IndexError, struct.error) as exc:
            raise ReplyFormatError(f"reply Encrypt cannot be decrypted: {exc}") from exc

    def post_concurrently(self, xml: str, n: int, same_nonce: bool = True) -> list[PushResult]:
        """Post the same message `n` times at once, as WeChat's retries can overlap; results in order.

        With ``same_nonce`` every copy is the identical request, as WeChat resends it; without, each copy
        is signed anew (a new timestamp and nonce for the same MsgId).
        """
        shared = self.build_request(xml)
        barrier = threading.Barrier(n)
        results: list[PushResult | None] = [None] * n
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            barrier.wait()
            try:
                results[index] = self.post_request(*shared) if same_nonce else self.post(xml)
            except (requests.RequestException, PushError) as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return [r for r in results if r is not None]

    def verify_url(self, echostr: str | None = None) -> requests.Response:
        """The GET URL-verification request WeChat makes when the server URL is configured."""
        timestamp, nonce = str(int(time.time())), _nonce()
        params = {"signature": sha1_signature(self.token, timestamp, nonce), "timestamp": timestamp,
                  "nonce": nonce, "echostr": echostr or str(secrets.randbelow(10**19))}
        return (self.session or requests).get(self.webhook_url, params=params, timeout=self.timeout)
