"""A faithful local stand-in for WeChat: the API server, a user-side message pusher and a chat client."""

from fakewechat.server import RunningFakeWeChat, create_fake_app, serve_fake_wechat, start_fake_wechat
from fakewechat.state import FakeWeChatState
from fakewechat.user import PushError, PushResult, ReplyFormatError, ReplySignatureError, WeChatPusher

__all__ = [
    "FakeWeChatState",
    "PushError",
    "PushResult",
    "ReplyFormatError",
    "ReplySignatureError",
    "RunningFakeWeChat",
    "WeChatPusher",
    "create_fake_app",
    "serve_fake_wechat",
    "start_fake_wechat",
]
