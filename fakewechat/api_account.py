"""Fake handlers for tags, users, media and QR codes (the menu: api_menu.py)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fakewechat.directory import DirectoryError
from fakewechat.errors import error, ok
from fakewechat.routing import Answer, ApiCall, RawAnswer, body_dict, route
from fakewechat.state import FakeWeChatState

MEDIA_TYPES = {"image", "voice", "video", "thumb"}
QR_TEMPORARY = {"QR_SCENE", "QR_STR_SCENE"}
QR_PERMANENT = {"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}
QR_MAX_EXPIRE = 2_592_000


def _directory_call(state: FakeWeChatState, method: str, *args: Any) -> Any:
    """Run a directory method under the lock; returns its result or an error answer."""
    with state.lock:
        try:
            return getattr(state.directory, method)(*args)
        except DirectoryError as exc:
            return error(exc.errcode)


def _tag_field(body: dict[str, Any]) -> dict[str, Any]:
    tag = body.get("tag")
    return tag if isinstance(tag, dict) else {}


@route("/cgi-bin/tags/create")
def tags_create(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Create a tag: `{"tag":{"name"}}` → `{"tag":{"id","name"}}`."""
    result = _directory_call(state, "create_tag", _tag_field(body_dict(call)).get("name"))
    return result if "errcode" in result else {"tag": result}


@route("/cgi-bin/tags/get", "GET")
def tags_get(state: FakeWeChatState, call: ApiCall) -> Answer:
    """List tags with member counts."""
    with state.lock:
        return {"tags": state.directory.list_tags()}


@route("/cgi-bin/tags/update")
def tags_update(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Rename a tag."""
    tag = _tag_field(body_dict(call))
    result = _directory_call(state, "update_tag", tag.get("id"), tag.get("name"))
    return result or ok()


@route("/cgi-bin/tags/delete")
def tags_delete(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Delete a tag."""
    result = _directory_call(state, "delete_tag", _tag_field(body_dict(call)).get("id"))
    return result or ok()


@route("/cgi-bin/tags/members/batchtagging")
@route("/cgi-bin/tags/members/batchuntagging")
def tags_batch(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Tag or untag up to 50 openids."""
    body = body_dict(call)
    method = "tag_users" if call.path.endswith("batchtagging") else "untag_users"
    result = _directory_call(state, method, body.get("tagid"), body.get("openid_list"))
    if isinstance(result, dict):
        return result
    call.openids = list(result)
    return ok()


@route("/cgi-bin/tags/getidlist")
def tags_getidlist(state: FakeWeChatState, call: ApiCall) -> Answer:
    """A user's tag ids."""
    openid = body_dict(call).get("openid")
    if not isinstance(openid, str) or not openid:
        return error(40003)
    call.openid = openid
    with state.lock:
        return {"tagid_list": list(state.directory.user(openid).tag_ids)}


@route("/cgi-bin/user/tag/get")
def user_tag_get(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Openids of a tag, paged by `next_openid`."""
    body = body_dict(call)
    with state.lock:
        tag_id = body.get("tagid")
        if isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id not in state.directory.tags:
            return error(45159)
        return state.directory.page(state.directory.members(tag_id), body.get("next_openid"))


@route("/cgi-bin/user/info", "GET")
def user_info(state: FakeWeChatState, call: ApiCall) -> Answer:
    """User info (no nickname/avatar, like today's WeChat); unfollowed → subscribe 0."""
    openid = call.query.get("openid")
    if not openid:
        return error(40003)
    call.openid = openid
    with state.lock:
        return state.directory.user_info(openid)


@route("/cgi-bin/user/info/batchget")
def user_info_batch(state: FakeWeChatState, call: ApiCall) -> Answer:
    """User info for up to 100 users."""
    users = body_dict(call).get("user_list")
    if not isinstance(users, list) or not 1 <= len(users) <= 100:
        return error(40032)
    openids = [u.get("openid") for u in users if isinstance(u, dict)]
    if len(openids) != len(users) or not all(isinstance(o, str) and o for o in openids):
        return error(40003)
    call.openids = openids
    with state.lock:
        return {"user_info_list": [state.directory.user_info(o) for o in openids]}


@route("/cgi-bin/user/get", "GET")
def user_get(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Follower list, paged by `next_openid`."""
    with state.lock:
        followers = state.directory.followers()
        return {"total": len(followers), **state.directory.page(followers, call.query.get("next_openid"))}


@route("/cgi-bin/media/upload")
def media_upload(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Temporary media upload (multipart field `media`); the bytes are kept."""
    media_type = call.query.get("type", "")
    if media_type not in MEDIA_TYPES:
        return error(40004)
    upload = call.files.get("media")
    if upload is None or not upload.data:
        return error(41005)
    media_id = secrets.token_urlsafe(48)
    created_at = int(time.time())
    with state.lock:
        state.media[media_id] = {
            "type": media_type, "filename": upload.filename, "content_type": upload.content_type,
            "data": upload.data, "created_at": created_at,
        }
    key = "thumb_media_id" if media_type == "thumb" else "media_id"
    return {"type": media_type, key: media_id, "created_at": created_at}


@route("/cgi-bin/media/get", "GET")
def media_get(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Download temporary media."""
    with state.lock:
        item = state.media.get(call.query.get("media_id", ""))
    if item is None:
        return error(40007)
    return RawAnswer(item["data"], item["content_type"] or "application/octet-stream")


@route("/cgi-bin/qrcode/create")
def qrcode_create(state: FakeWeChatState, call: ApiCall) -> Answer:
    """Create a parametric QR code; the scene is recorded under its ticket."""
    body = body_dict(call)
    action = body.get("action_name")
    if action not in QR_TEMPORARY | QR_PERMANENT:
        return error(40035)
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict) or not ("scene_id" in scene or "scene_str" in scene):
        return error(40035)
    ticket = "gQ" + secrets.token_urlsafe(72)
    answer: dict[str, Any] = {"ticket": ticket}
    if action in QR_TEMPORARY:
        expire = body.get("expire_seconds", 30)
        if isinstance(expire, bool) or not isinstance(expire, int) or expire <= 0:
            return error(40035)
        answer["expire_seconds"] = min(expire, QR_MAX_EXPIRE)
    answer["url"] = "http://weixin.qq.com/q/" + secrets.token_urlsafe(18)
    with state.lock:
        state.qrcodes[ticket] = {"action_name": action, "scene": scene, **answer}
    return answer
