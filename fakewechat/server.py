"""The fake api.weixin.qq.com as a Flask app, its /_fake/ control endpoints and runners."""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from fakewechat.api import dispatch
from fakewechat.errors import error
from fakewechat.events import register_event_control
from fakewechat.faults import FaultSpecError
from fakewechat.routing import ApiCall, RawAnswer, UploadedFile
from fakewechat.state import FakeWeChatState

logger = logging.getLogger(__name__)

JSON_MIMETYPE = "application/json; encoding=utf-8"


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs requests at DEBUG without the query string (it carries access tokens)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log one request line at DEBUG."""
        logger.debug("%s %s -> %s", self.command, self.path.split("?", 1)[0], code)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype=JSON_MIMETYPE)


def _request_json() -> dict[str, Any]:
    """The control request's body as a JSON object, whatever its Content-Type ({} if none)."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _fill_for_record(call: ApiCall, raw: bytes) -> None:
    """Make sure a call that never reached its handler still records its body and target."""
    if call.body is None and raw:
        try:
            call.body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            call.body = raw.decode("utf-8", "replace")
    if call.openid is None:
        body = call.body if isinstance(call.body, dict) else {}
        for candidate in (body.get("touser"), body.get("openid"), call.query.get("openid")):
            if isinstance(candidate, str) and candidate:
                call.openid = candidate
                break


def _answer_api(state: FakeWeChatState, sub: str) -> Response:
    started = time.monotonic()
    path = "/cgi-bin/" + sub
    call = ApiCall(request.method, path, request.args.to_dict())
    raw = b""
    if request.mimetype.startswith("multipart/"):
        for name, part in request.files.items():
            call.files[name] = UploadedFile(part.filename or "", part.mimetype or "", part.read())
    else:
        raw = request.get_data()
    fault = state.pick_fault(path)
    if fault is not None and fault.delay_ms > 0:
        state.sleep(fault.delay_ms)
    status = 200
    if fault is not None and (fault.errcode is not None or fault.http_status != 200):
        answer: dict[str, Any] | RawAnswer | None = (
            error(fault.errcode, fault.errmsg) if fault.errcode is not None else None
        )
        status = fault.http_status
    else:
        answer = dispatch(state, call, raw)
    _fill_for_record(call, raw)
    if call.files:
        call.body = {n: {"filename": f.filename, "content_type": f.content_type, "size": len(f.data)}
                     for n, f in call.files.items()}
    recorded = answer if isinstance(answer, dict) else None
    errcode = recorded.get("errcode", 0) if recorded is not None else None
    if isinstance(answer, RawAnswer):
        errcode = 0
    query = {k: ("***" if k == "secret" else v) for k, v in call.query.items() if k != "access_token"}
    state.record({
        "method": call.method, "path": path, "query": query, "body": call.body, "openid": call.openid,
        "openids": call.openids, "errcode": errcode, "response": recorded,
        "duplicate": call.duplicate, "fault_id": fault.fault_id if fault else None,
        "http_status": status, "elapsed_ms": int((time.monotonic() - started) * 1000),
    })
    if isinstance(answer, RawAnswer):
        return Response(answer.data, status=status, mimetype=answer.mimetype)
    if answer is None:
        return Response("fakewechat injected HTTP error", status=status, mimetype="text/plain")
    return _json(answer, status)


def _register_control(app: Flask, state: FakeWeChatState) -> None:
    """Add the /_fake/ endpoints that tests and the chat client use."""

    @app.get("/_fake/calls")
    def fake_calls() -> Response:
        try:
            since = int(request.args.get("since") or 0)
        except ValueError:
            return _json({"error": "since must be an integer"}, 400)
        return _json(state.calls(request.args.get("path") or None, request.args.get("openid") or None, since))

    @app.get("/_fake/messages")
    def fake_messages() -> Response:
        openid = request.args.get("openid", "")
        return _json(state.messages_to(openid, include_mass=request.args.get("include_mass") == "1"))

    @app.post("/_fake/reset")
    def fake_reset() -> Response:
        state.reset()
        return _json({"ok": True})

    @app.route("/_fake/faults", methods=["GET", "POST", "DELETE"])
    def fake_faults() -> Response:
        if request.method == "DELETE":
            state.clear_faults()
            return _json({"ok": True})
        if request.method == "GET":
            return _json(state.faults())
        try:
            fault = state.add_fault_spec(_request_json())
        except (ValueError, FaultSpecError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(fault.describe())

    @app.post("/_fake/unfollow")
    @app.post("/_fake/follow")
    def fake_follow() -> Response:
        try:
            openid = _request_json().get("openid")
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        if not isinstance(openid, str) or not openid:
            return _json({"error": "openid required"}, 400)
        if request.path.endswith("unfollow"):
            state.unfollow(openid)
        else:
            state.follow(openid)
        return _json({"ok": True})

    @app.post("/_fake/expire_tokens")
    def fake_expire_tokens() -> Response:
        state.expire_tokens()
        return _json({"ok": True})

    @app.get("/_fake/media/<media_id>")
    def fake_media(media_id: str) -> Response:
        with state.lock:
            item = state.media.get(media_id)
        if item is None:
            return _json({"error": "no such media"}, 404)
        return Response(item["data"], mimetype=item["content_type"] or "application/octet-stream")

    @app.get("/_fake/menu")
    def fake_menu() -> Response:
        from fakewechat.api_menu import menu_for

        found = menu_for(state, request.args.get("openid", ""))
        return _json(found or {"button": []})

    @app.get("/_fake/stats")
    def fake_stats() -> Response:
        return _json(state.stats())

    @app.get("/_fake/health")
    def fake_health() -> Response:
        return _json({"ok": True, "app_id": state.app_id})


def create_fake_app(app_id: str, app_secret: str, *, token_ttl: int = 7200,
                    record_path: str | None = None) -> Flask:
    """Build the fake WeChat API app; its state is `app.extensions["fake_wechat"]`."""
    app = Flask("fakewechat")
    state = FakeWeChatState(app_id, app_secret, token_ttl=token_ttl, record_path=record_path)
    app.extensions["fake_wechat"] = state

    @app.route("/cgi-bin/<path:sub>", methods=["GET", "POST"])
    def wechat_api(sub: str) -> Response:
        return _answer_api(state, sub)

    _register_control(app, state)
    register_event_control(app, state)  # /_fake/webhook: where TEMPLATESENDJOBFINISH goes
    return app


@dataclass
class RunningFakeWeChat:
    """A fake WeChat server running in a background thread."""

    server: BaseWSGIServer
    thread: threading.Thread
    base_url: str
    state: FakeWeChatState

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self.state.clear_faults()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_fake_wechat(app_id: str, app_secret: str, *, host: str = "127.0.0.1", port: int = 0,
                      token_ttl: int = 7200, record_path: str | None = None) -> RunningFakeWeChat:
    """Start the fake in a daemon thread (port 0 = any free port); call `.stop()` when done."""
    app = create_fake_app(app_id, app_secret, token_ttl=token_ttl, record_path=record_path)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="fakewechat", daemon=True)
    thread.start()
    base_url = f"http://{host}:{server.server_port}"
    logger.info("fake WeChat API listening on %s", base_url)
    return RunningFakeWeChat(server, thread, base_url, app.extensions["fake_wechat"])


def serve_fake_wechat(host: str, port: int, app_id: str, app_secret: str,
                      record_path: str | None = None) -> None:
    """Run the fake WeChat API in the foreground with werkzeug's threaded server."""
    app = create_fake_app(app_id, app_secret, record_path=record_path)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
    logger.info("fake WeChat API listening on http://%s:%s (appid %s)", host, server.server_port, app_id)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("fake WeChat API stopping")
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m fakewechat --port 8081 --app-id wx... --secret ...`."""
    parser = argparse.ArgumentParser(description="本地模拟的微信公众平台接口 (fake api.weixin.qq.com)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--app-id", default="wxfakeappid")
    parser.add_argument("--secret", default="fakesecret")
    parser.add_argument("--record", default=None, help="append every call as a JSON line to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_fake_wechat(args.host, args.port, args.app_id, args.secret, args.record)
