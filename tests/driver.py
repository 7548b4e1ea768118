"""A live bot on a free port, driven by the project's WeChat pusher (signed exactly as WeChat signs)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

from bot.app import create_app
from bot.services import Services
from fakewechat.user import PushResult, WeChatPusher

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@dataclasses.dataclass
class LiveBot:
    """The running app plus a pusher speaking to it."""

    url: str
    services: Services
    pusher: WeChatPusher

    def send(self, openid: str, text: str) -> str | None:
        """Post a text message and return the reply's text."""
        return self.pusher.post(self.pusher.text(openid, text)).text

    def post(self, xml: str, **kwargs: Any) -> PushResult:
        """Post any prepared message XML."""
        return self.pusher.post(xml, **kwargs)


@contextmanager
def live_bot(services: Services, mode: str = "plain", clock: Any = None, **overrides: dict[str, Any]) -> Iterator[LiveBot]:
    """Serve the app in a thread; ``mode`` plain, compatible or safe; settings overrides per section."""
    if mode != "plain":
        overrides.setdefault("wechat", {})["encoding_aes_key"] = AES_KEY
    settings = services.settings.with_overrides(**overrides) if overrides else services.settings
    scoped = dataclasses.replace(services, settings=settings, _wechat=None)
    app = create_app(services=scoped, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/wechat"
    pusher = WeChatPusher(url, settings.wechat.token, settings.wechat.app_id,
                          settings.wechat.encoding_aes_key, mode=mode)  # type: ignore[arg-type]
    try:
        yield LiveBot(url, scoped, pusher)
    finally:
        server.shutdown()
        thread.join(5)
