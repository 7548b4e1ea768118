"""Fake handlers for WeChat's message-sending APIs (custom, template, subscribe, mass)."""

from __future__ import annotations

from typing import Any

from fakewechat.errors import error, ok
from fakewechat.events import template_accepted
from fakewechat.routing import Answer, ApiCall, body_dict, route
from fakewechat.state import FakeWeChatState

CUSTOM_MSGTYPES = {
    "text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu",
    "wxcard", "miniprogrampage",
}
MASS_MSGTYPES = {"text", "image", "images", "voice", "mpvideo", "mpnews", "wxcard"}
MASS_OK = "send job submission success"


def _target(state: FakeWeChatState, call: ApiCall, body: dict[str, Any]) -> dict[str, Any] | None:
    """Validate `touser` and record it; an error answer if invalid or not following."""
    touser = body.get("touser")
    if not isinstance(touser, str) or not touser:
        return error(40003)
    call.openid = touser
    if not state.directory.is_following(touser):
        return error(43004)
    return None


def _content_missing(body: dict[str, Any], msgtype: str) -> bool:
    payload = body.get(msgtype)
    if msgtype == "text":
        return not isinstance(payload, dict) or not str(payload.get("content") or "").strip()
    return not isinstance(payload, dict) or not payload


@route("/cgi-bin/message/custom/send")
def custom_send(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Customer-service message: any msgtype is recorded as is."""
    body = body_dict(call)
    with state.lock:
        problem = _target(state, call, body)
        if problem:
            return problem
        msgtype = body.get("msgtype")
        if msgtype not in CUSTOM_MSGTYPES:
            return error(40008)
        if _content_missing(body, msgtype):
            return error(44004)
        return ok()


@route("/cgi-bin/message/template/send")
def template_send(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Template message; a repeated `client_msg_id` answers the first msgid and is marked duplicate."""
    body = body_dict(call)
    with state.lock:
        problem = _target(state, call, body)
        if problem:
            return problem
        if not isinstance(body.get("template_id"), str) or not body["template_id"]:
            return error(40037)
        if "data" in body and not isinstance(body["data"], dict):
            return error(47001)
        client_msg_id = body.get("client_msg_id")
        if isinstance(client_msg_id, str) and client_msg_id in state.template_client_ids:
            call.duplicate = True
            return ok(msgid=state.template_client_ids[client_msg_id])
        msgid = state.next_id()
        if isinstance(client_msg_id, str) and client_msg_id:
            state.template_client_ids[client_msg_id] = msgid
        template_accepted(state, call.openid or "", msgid)  # TEMPLATESENDJOBFINISH follows, from another thread
        return ok(msgid=msgid)


@route("/cgi-bin/message/subscribe/bizsend")
@route("/cgi-bin/message/subscribe/send")
def subscribe_send(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Subscribe notification (official account bizsend, or the mini-program send)."""
    body = body_dict(call)
    with state.lock:
        problem = _target(state, call, body)
        if problem:
            return problem
        if not isinstance(body.get("template_id"), str) or not body["template_id"]:
            return error(40037)
        if not isinstance(body.get("data"), dict) or not body["data"]:
            return error(47003)
        return ok()


def _mass_common(state: FakeWeChatState, call: ApiCall, body: dict[str, Any],
                 targets: list[str]) -> Answer:
    msgtype = body.get("msgtype")
    if msgtype not in MASS_MSGTYPES:
        return error(40008)
    if _content_missing(body, msgtype):
        return error(44004)
    client_id = body.get("clientmsgid")
    if isinstance(client_id, str) and client_id in state.mass_client_ids:
        call.duplicate = True
        return error(45065)
    call.openids = targets
    msg_id = state.next_id()
    if isinstance(client_id, str) and client_id:
        state.mass_client_ids[client_id] = msg_id
    return {"errcode": 0, "errmsg": MASS_OK, "msg_id": msg_id, "msg_data_id": state.next_id()}


@route("/cgi-bin/message/mass/sendall")
def mass_sendall(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Mass send by tag or to all; wechatpy 1.8.18's `filter.group_id` is refused with 40035."""
    body = body_dict(call)
    flt = body.get("filter")
    if not isinstance(flt, dict) or "group_id" in flt:
        return error(40035)
    with state.lock:
        if flt.get("is_to_all") is True:
            targets = state.directory.followers()
        else:
            tag_id = flt.get("tag_id")
            if isinstance(tag_id, bool) or not isinstance(tag_id, int):
                return error(40035)
            targets = state.directory.members(tag_id)
        return _mass_common(state, call, body, targets)


@route("/cgi-bin/message/mass/send")
def mass_send(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Mass send to an openid list (2 to 10000 openids, else 40130)."""
    body = body_dict(call)
    touser = body.get("touser")
    if not isinstance(touser, list) or not 2 <= len(touser) <= 10_000:
        return error(40130)
    if not all(isinstance(o, str) and o for o in touser):
        return error(40003)
    with state.lock:
        targets = [o for o in touser if state.directory.is_following(o)]
        return _mass_common(state, call, body, targets)
