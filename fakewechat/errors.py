"""WeChat global return codes and the messages the fake answers with."""

from __future__ import annotations

from typing import Any

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
    40035: "invalid args",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40037: "invalid template_id",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "too many tags",
    45058: "can't modify sys tag",
    45059: "tag user count limit",
    45065: "clientmsgid exist",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    65301: "this menuid does not exist",
    65302: "no such user",
    65303: "there is no selfmenu, please create selfmenu first",
    65304: "match rule empty",
    65320: "match rule contains privacy info: sex, country, province, city or language",
}


def error(errcode: int, errmsg: str | None = None) -> dict[str, Any]:
    """Build WeChat's error answer `{"errcode": N, "errmsg": "..."}`."""
    return {"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "fake error")}


def ok(**extra: Any) -> dict[str, Any]:
    """Build WeChat's success answer, with extra fields appended."""
    return {"errcode": 0, "errmsg": "ok", **extra}
