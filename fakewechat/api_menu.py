"""Fake handlers for the custom menu (自定义菜单) and conditional menus (个性化菜单), with WeChat's checks.

Limits: 1–3 buttons (40016), 1–5 sub-buttons (40023), a known type (40017 / 40024 for a sub-button), name
bytes 16 / 60 (40018), key 128 bytes (40019 / 40026), url 1024 bytes (40020 / 40027) starting with http(s)
(40055 / 40054). A conditional menu needs a default menu (65303) and a match rule (65304) on a tag, never on
privacy data (65320); it matches on the tag the user was given last, newest menu first (WeChat's rule).
"""

from __future__ import annotations

from typing import Any

from fakewechat.errors import error, ok
from fakewechat.routing import Answer, ApiCall, body_dict, route
from fakewechat.state import FakeWeChatState

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128
URL_BYTES = 1024
KEY_TYPES = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
             "location_select"}
OTHER_TYPES = {"view", "miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"}
PRIVACY_RULES = ("sex", "country", "province", "city", "language")
# (type, name, key, url size, url domain) errcodes for a top-level button and for a sub-button
CODES = {False: (40017, 40018, 40019, 40020, 40055), True: (40024, 40018, 40026, 40027, 40054)}


def _bytes(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else -1


def _leaf_error(button: dict[str, Any], sub: bool) -> int:
    type_code, name_code, key_code, url_code, domain_code = CODES[sub]
    kind = button.get("type")
    if kind not in KEY_TYPES | OTHER_TYPES:
        return type_code
    if not 0 < _bytes(button.get("name")) <= (SUB_NAME_BYTES if sub else TOP_NAME_BYTES):
        return name_code
    if kind in KEY_TYPES and not 0 < _bytes(button.get("key")) <= KEY_BYTES:
        return key_code
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not 0 < _bytes(url) <= URL_BYTES:
            return url_code
        if not str(url).startswith(("http://", "https://")):
            return domain_code
    return 0


def button_error(body: dict[str, Any]) -> int:
    """WeChat's errcode for a menu body it would refuse, else 0."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        return 40016
    for button in buttons:
        if not isinstance(button, dict):
            return 40017
        subs = button.get("sub_button")
        if not subs:  # menu/get answers "sub_button": [] on single buttons; posting that back is fine
            code = _leaf_error(button, sub=False)
        elif not isinstance(subs, list) or len(subs) > MAX_SUB_BUTTONS:
            code = 40023
        elif not 0 < _bytes(button.get("name")) <= TOP_NAME_BYTES:
            code = 40018
        else:
            code = next((c for s in subs if (c := _leaf_error(s, True) if isinstance(s, dict) else 40024)), 0)
        if code:
            return code
    return 0


def _buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(b) for b in body["button"]]


@route("/cgi-bin/menu/create")
def menu_create(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Install the default menu (conditional menus stay)."""
    body = body_dict(call)
    code = button_error(body)
    if code:
        return error(code)
    with state.lock:
        state.menu = {"button": _buttons(body), "menuid": state.next_id()}
    return ok()


@route("/cgi-bin/menu/get", "GET")
def menu_get(state: FakeWeChatState, call: ApiCall) -> Answer:
    """`menu` (with its menuid once conditional menus exist) and `conditionalmenu`, or 46003."""
    with state.lock:
        if state.menu is None:
            return error(46003)
        if not state.conditional_menus:
            return {"menu": {"button": state.menu["button"]}}
        return {"menu": dict(state.menu), "conditionalmenu": [dict(c) for c in state.conditional_menus]}


@route("/cgi-bin/menu/delete", "GET")
def menu_delete(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Delete the default menu and every conditional menu."""
    with state.lock:
        state.menu = None
        state.conditional_menus = []
    return ok()


def _rule_error(state: FakeWeChatState, rule: Any) -> int:
    if not isinstance(rule, dict) or not any(str(v).strip() for v in rule.values() if v is not None):
        return 65304
    if any(str(rule.get(k) or "").strip() for k in PRIVACY_RULES):
        return 65320
    tag = str(rule.get("tag_id") or rule.get("group_id") or "").strip()
    if tag and (not tag.isdigit() or int(tag) not in state.directory.tags):
        return 45159
    return 0


@route("/cgi-bin/menu/addconditional")
def menu_add_conditional(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Add a conditional menu matched on a tag; answers its `menuid`."""
    body = body_dict(call)
    with state.lock:
        if state.menu is None:
            return error(65303)
        code = button_error(body) or _rule_error(state, body.get("matchrule"))
        if code:
            return error(code)
        menu_id = state.next_id()
        rule = {k: str(v) for k, v in body["matchrule"].items() if v is not None and str(v).strip()}
        state.conditional_menus.append({"button": _buttons(body), "matchrule": rule, "menuid": menu_id})
    return {"menuid": str(menu_id)}


@route("/cgi-bin/menu/delconditional")
def menu_del_conditional(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Delete one conditional menu by menuid (65301 when unknown)."""
    menu_id = str(body_dict(call).get("menuid", ""))
    with state.lock:
        kept = [c for c in state.conditional_menus if str(c["menuid"]) != menu_id]
        if len(kept) == len(state.conditional_menus):
            return error(65301)
        state.conditional_menus = kept
    return ok()


def menu_for(state: FakeWeChatState, openid: str) -> dict[str, Any] | None:
    """The menu a follower sees: the newest conditional menu whose tag is the one they got last, else the
    default menu (with `menuid` of the conditional menu that matched); None when the account has no menu."""
    with state.lock:
        if state.menu is None:
            return None
        follower = state.directory.users.get(openid)
        last = str(follower.tag_ids[-1]) if follower and follower.tag_ids else None
        for cond in reversed(state.conditional_menus):
            if last is not None and str(cond["matchrule"].get("tag_id") or cond["matchrule"].get("group_id")) == last:
                return {"button": cond["button"], "menuid": cond["menuid"], "tag_id": int(last),
                        "tag_name": state.directory.tags.get(int(last), "")}
        return {"button": state.menu["button"]}


@route("/cgi-bin/menu/trymatch")
def menu_try_match(state: FakeWeChatState, call: ApiCall) -> Answer:
    """The menu `user_id` would see (65302 for someone who does not follow)."""
    user_id = body_dict(call).get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return error(40003)
    call.openid = user_id
    if not state.directory.is_following(user_id):
        return error(65302)
    found = menu_for(state, user_id)
    if found is None:
        return error(46003)
    return {"button": found["button"]}
