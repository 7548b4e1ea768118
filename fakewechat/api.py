"""Dispatch of fake WeChat API calls: token endpoints, token check, body parsing, handlers."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import fakewechat.api_account  # noqa: F401  (registers the handlers)
import fakewechat.api_menu  # noqa: F401
import fakewechat.api_messages  # noqa: F401
from fakewechat.errors import error
from fakewechat.routing import ROUTES, Answer, ApiCall
from fakewechat.state import FakeWeChatState

logger = logging.getLogger(__name__)

# A JSON \uXXXX escape: a backslash-u preceded by an even number (incl. 0) of backslashes.
ESCAPED_UNICODE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")
MULTIPART_PATHS = ("/cgi-bin/media/upload",)


def _credential_error(state: FakeWeChatState, appid: Any, secret: Any) -> dict[str, Any] | None:
    if not appid:
        return error(41002)
    if appid != state.app_id:
        return error(40013)
    if not secret:
        return error(41004)
    if secret != state.app_secret:
        return error(40001, "invalid credential, access_token is invalid or not latest (AppSecret error)")
    return None


def _token(state: FakeWeChatState, call: ApiCall) -> Answer:
    if call.method != "GET":
        return error(43001)
    if call.query.get("grant_type") != "client_credential":
        return error(40002)
    problem = _credential_error(state, call.query.get("appid"), call.query.get("secret"))
    return problem or state.issue_token()


def _stable_token(state: FakeWeChatState, call: ApiCall, raw: bytes) -> Answer:
    if call.method != "POST":
        return error(43002)
    problem = parse_body(call, raw)
    if problem:
        return problem
    body = call.body if isinstance(call.body, dict) else {}
    if body.get("grant_type") != "client_credential":
        return error(40002)
    problem = _credential_error(state, body.get("appid"), body.get("secret"))
    return problem or state.stable_token(body.get("force_refresh") is True)


def parse_body(call: ApiCall, raw: bytes) -> dict[str, Any] | None:
    """Parse the raw body as UTF-8 JSON into `call.body`; an error answer if WeChat would refuse it."""
    if not raw.strip():
        return error(44002)
    if ESCAPED_UNICODE.search(raw):
        return error(40033)
    try:
        call.body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return error(47001)
    if not isinstance(call.body, dict):
        return error(47001)
    return None


def dispatch(state: FakeWeChatState, call: ApiCall, raw: bytes) -> Answer:
    """Answer one WeChat API call as api.weixin.qq.com would."""
    if call.path == "/cgi-bin/token":
        return _token(state, call)
    if call.path == "/cgi-bin/stable_token":
        return _stable_token(state, call, raw)
    code = state.check_token(call.query.get("access_token"))
    if code:
        return error(code)
    entry = ROUTES.get(call.path)
    if entry is None:
        logger.warning("fake WeChat: unimplemented API %s %s", call.method, call.path)
        return error(48001, "api unauthorized (fakewechat does not implement this API)")
    method, handler = entry
    if call.method != method:
        return error(43002 if method == "POST" else 43001)
    if method == "POST" and call.path not in MULTIPART_PATHS:
        problem = parse_body(call, raw)
        if problem:
            return problem
    return handler(state, call)
