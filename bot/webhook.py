"""The /wechat endpoint: the only module that touches Flask's request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot import replies
from bot.dedup import Admission, Deduplicator, dedup_key
from bot.security import (
    Refused,
    ReplayGuard,
    body_digest,
    check_msg_signature,
    check_query,
    check_signature,
    check_timestamp,
    parse_safely,
)
from bot.services import Services
from domain.errors import DomainError
from handlers import router
from handlers.context import Context
from handlers.dialogs import dialog_key
from handlers.normalize import normalise
from models import InboundMessage
from models.db import may_have_written

logger = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)

APOLOGY = "抱歉，系统出了点问题，您的消息没有处理成功，请稍后再发一次。"
TOO_LONG = "消息太长了（{n} 字），一次最多 {limit} 字。请写短一些再发。"
USER_EVENTS = frozenset({"event:click", "event:subscribe", "event:subscribe_scan", "event:scan"})
SUCCESS = "success"
USER_ACTIVITY_REFRESH = timedelta(minutes=10)


def utc_now() -> datetime:
    """The current instant."""
    return datetime.now(UTC)


class Webhook:
    """Verifies, decrypts, deduplicates and dispatches one WeChat POST."""

    def __init__(self, services: Services, clock: Callable[[], datetime] | None = None) -> None:
        self.services = services
        self.clock = clock or utc_now  # the handlers' "now"; signatures always check the real time
        s = services.settings
        self.crypto = WeChatCrypto(s.wechat.token, s.wechat.encoding_aes_key, s.wechat.app_id) if s.wechat.safe_mode else None
        self.replay = ReplayGuard(services.redis, services.sessions, s.redis.key_prefix, s.webhook.timestamp_tolerance_seconds)
        self.dedup = Deduplicator(
            services.redis, services.sessions, s.redis.key_prefix,
            s.webhook.retry_wait_seconds, s.webhook.reply_cache_seconds,
        )

    def verify_url(self, args: Any) -> str:
        """GET: echo ``echostr`` when the signature is right and its timestamp is recent."""
        s = self.services.settings
        check_query(args)
        timestamp = args.get("timestamp", "")
        check_signature(s.wechat.token, args.get("signature", ""), timestamp, args.get("nonce", ""))
        check_timestamp(timestamp, s.webhook.timestamp_tolerance_seconds)
        return args.get("echostr", "")

    def handle_post(self, args: Any, body: bytes) -> str:
        """POST: the reply body (XML, possibly encrypted), or 'success'."""
        s = self.services.settings
        check_query(args)
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        check_signature(s.wechat.token, args.get("signature", ""), timestamp, nonce)
        check_timestamp(timestamp, s.webhook.timestamp_tolerance_seconds)
        envelope = parse_safely(body)
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            xml = self._decrypt(envelope, args, timestamp, nonce)
            parse_safely(xml.encode("utf-8"))
            digest = body_digest(xml.encode("utf-8"))  # msg_signature covers the ciphertext: the message counts
        elif self.crypto is not None and envelope.find("MsgType") is None:
            raise Refused(400, "encrypted body without encrypt_type=aes")
        elif self.crypto is not None and s.webhook.require_encryption:
            raise Refused(403, "plaintext message while encryption is required")
        else:
            xml, digest = body.decode("utf-8"), body_digest(body)
        message = _read_message(xml)
        stored = self.process(message, timestamp, nonce, digest)
        out = replies.render(stored, message)
        if not out:
            return SUCCESS
        if encrypted and self.crypto is not None:
            return self.crypto.encrypt_message(out, nonce, timestamp)
        return out

    def _decrypt(self, envelope: Any, args: Any, timestamp: str, nonce: str) -> str:
        if self.crypto is None:
            raise Refused(400, "encrypted message but no encoding_aes_key configured")
        encrypt = envelope.findtext("Encrypt")
        if not encrypt:
            raise Refused(400, "no Encrypt element")
        check_msg_signature(self.services.settings.wechat.token, args.get("msg_signature", ""), timestamp, nonce, encrypt)
        try:
            return self.crypto.decrypt_message(
                {"Encrypt": encrypt}, args.get("msg_signature", ""), timestamp, nonce
            )
        except Exception as exc:  # noqa: BLE001 - garbage ciphertext raises many library errors
            raise Refused(400, f"cannot decrypt: {type(exc).__name__}") from None

    def process(self, message: Any, timestamp: str, nonce: str, digest: str) -> str:
        """Handle a message exactly once; returns the encoded reply ('' for none)."""
        key = dedup_key(message)
        dialog = dialog_key(self.services.settings.redis.key_prefix, message.source)
        admission = self.dedup.admit(key, self.replay, timestamp, nonce, digest, peek=dialog)
        if not admission.go:
            return admission.earlier or ""
        try:
            reply, private = self._run(key, message, admission, (timestamp, nonce, digest))
        except _Duplicate:
            self.dedup.release(key)
            return self.dedup.stored_reply(key) or ""
        except Refused:
            self.dedup.release(key)
            raise
        except Exception:
            logger.exception("handler failed for %s message", getattr(message, "type", "?"))
            self.dedup.release(key)
            # a system event (a mass send's counts, a template's receipt) has nobody to apologise to
            return "" if _is_system_event(message) else "T:" + APOLOGY
        finally:
            self.replay.prune()
        self.dedup.publish(key, reply, private=private)
        return reply

    def _run(self, key: str, message: Any, admission: Admission, pair: tuple[str, str, str]) -> tuple[str, bool]:
        """One transaction: the handler's effects, the dedup row and the reply, or none of them.

        The dedup row is written last: should a twin of this message run at the same time (only
        possible while Redis is down), the unique key makes one commit fail and its effects roll back.
        A message that changed nothing in the database (a question like 我的议题) needs no row while
        Redis holds its claim: handling it twice changes nothing either. When Redis lost its data within
        the last minute, it also looks for the row of an earlier attempt whose claim Redis may have lost,
        so a retry still gets the first answer.
        """
        s = self.services.settings
        now = self.clock()
        raw = _text_of(message)
        too_long = len(raw) > s.webhook.max_text_chars  # checked before any work on the text
        with self.services.sessions() as db:
            self.replay.record(db, *pair)
            ctx = Context(message.source, message, "" if too_long else normalise(raw), db, self.services.redis, s,
                          now, uploader=self._upload, no_dialog=admission.by_redis and admission.peeked is None)
            try:
                result = TOO_LONG.format(n=len(raw), limit=s.webhook.max_text_chars) if too_long else router.dispatch(ctx)
            except DomainError as exc:
                db.rollback()  # a refusal undoes everything the handler wrote, and the pair's row: write it again
                self.replay.record(db, *pair)
                ctx = Context(message.source, message, ctx.text, db, self.services.redis, s, now)
                result = exc.reply
            _note_activity(ctx, message)
            reply = replies.encode(result, s.webhook.max_reply_bytes)
            private = replies.is_private(result)
            if admission.by_redis and not may_have_written(db):
                earlier = None if admission.redis_remembers else db.scalar(_STORED_REPLY, {"key": key})
                db.execute(_NO_FLUSH_WAIT)  # only the replay guard's row was written: no need to wait for the disk
                db.commit()
                return (earlier, False) if earlier is not None else (reply, private)
            db.add(InboundMessage(dedup_key=key, openid=message.source, msg_type=_type_of(message),
                                  reply=replies.PRIVATE_PLACEHOLDER if private else reply))
            try:
                db.commit()
            except IntegrityError:
                db.rollback()
                raise _Duplicate() from None
            return reply, private

    def _upload(self, data: bytes, filename: str) -> str:
        """Upload an image through the WeChat media API; returns its media_id."""
        result = self.services.wechat.media.upload("image", (filename, data, "image/png"))
        return str(result["media_id"])


# Fields WeChat always sends as plain text; a nested or repeated element there is forged input.
_FLAT_FIELDS = ("FromUserName", "CreateTime", "MsgType", "MsgId", "MsgID", "Event", "EventKey", "Content",
                "Recognition")
MAX_OPENID_CHARS = 64


def _read_message(xml: str) -> Any:
    """Parse a message; anything not shaped like WeChat's XML is Refused(400), never a 500."""
    try:
        message = parse_message(xml)
        raw = getattr(message, "_data", None) or {}
        if any(not isinstance(raw.get(name), str | None) for name in _FLAT_FIELDS):
            raise Refused(400, "nested or repeated message field")
        source, _, _ = message.source, message.time, message.id  # wechatpy converts lazily
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise Refused(400, f"unreadable message: {type(exc).__name__}") from None
    if not source or len(source) > MAX_OPENID_CHARS:
        raise Refused(400, "message without a valid sender")
    return message


_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO OFF")
_STORED_REPLY = select(InboundMessage.reply).where(InboundMessage.dedup_key == bindparam("key"))


class _Duplicate(Exception):
    """Another attempt of the same message already committed."""


def _type_of(message: Any) -> str:
    if message.type == "event":
        return "event:" + (getattr(message, "event", "") or "").lower()
    return str(message.type)


def _is_system_event(message: Any) -> bool:
    """An event no person caused just now (a mass send's counts, a template's receipt, a location report)."""
    raw = getattr(message, "_data", None) or {}
    is_event = message.type == "event" or str(raw.get("MsgType", "")).lower() == "event"
    event = (raw.get("Event") or getattr(message, "event", "") or "")
    return is_event and f"event:{str(event).lower()}" not in USER_EVENTS and _type_of(message) not in USER_EVENTS


def _text_of(message: Any) -> str:
    if message.type == "text":
        return message.content or ""
    if message.type == "voice":
        return getattr(message, "recognition", None) or ""
    return ""


def _note_activity(ctx: Context, message: Any) -> None:
    """Remember when the user last wrote (the 48-hour customer-service window)."""
    if message.type == "event" and _type_of(message) not in ("event:click", "event:subscribe", "event:subscribe_scan", "event:scan"):
        return
    person = ctx.person
    if person.last_message_at is None or ctx.now - person.last_message_at > USER_ACTIVITY_REFRESH:
        person.last_message_at = ctx.now


def _hook() -> Webhook:
    return current_app.extensions["shangliang.webhook"]


@bp.get("/wechat")
def verify() -> Response:
    """URL verification."""
    try:
        return Response(_hook().verify_url(request.args), mimetype="text/plain")
    except Refused as exc:
        logger.warning("refused GET /wechat: %s", exc.reason)
        return Response("forbidden", status=exc.status, mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    """A message or event from WeChat."""
    body = request.get_data(cache=False)
    if len(body) > _hook().services.settings.webhook.max_body_bytes:
        logger.warning("refused POST /wechat: body of %d bytes", len(body))
        return Response("too large", status=413, mimetype="text/plain")
    try:
        out = _hook().handle_post(request.args, body)
    except Refused as exc:
        logger.warning("refused POST /wechat: %s", exc.reason)
        return Response(exc.reason, status=exc.status, mimetype="text/plain")
    return Response(out, mimetype="application/xml" if out != SUCCESS else "text/plain")
