"""A faithful local stand-in for WeChat: the API server, a user-side message pusher and a chat client."""

from fakewechat.server import RunningFakeWeChat, create_fake_app, serve_fake_wechat, start_fake_wechat
from fakewechat.state import FakeWeChatState

__all__ = [
    "FakeWeChatState",
    "RunningFakeWeChat",
    "create_fake_app",
    "serve_fake_wechat",
    "start_fake_wechat",
]
