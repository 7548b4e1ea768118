"""The call object handed to fake API handlers, and the path → handler registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakewechat.state import FakeWeChatState


@dataclass
class UploadedFile:
    """A multipart file part as received."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiCall:
    """One WeChat API request; handlers fill in `openid`, `openids` and `duplicate`."""

    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    files: dict[str, UploadedFile] = field(default_factory=dict)
    openid: str | None = None
    openids: list[str] = field(default_factory=list)
    duplicate: bool = False


@dataclass
class RawAnswer:
    """A non-JSON answer (media download)."""

    data: bytes
    mimetype: str


Answer = dict[str, Any] | RawAnswer
Handler = Callable[["FakeWeChatState", ApiCall], Answer]

ROUTES: dict[str, tuple[str, Handler]] = {}


def route(path: str, method: str = "POST") -> Callable[[Handler], Handler]:
    """Register a handler for a WeChat API path and HTTP method."""

    def register(func: Handler) -> Handler:
        ROUTES[path] = (method, func)
        return func

    return register


def body_dict(call: ApiCall) -> dict[str, Any]:
    """The JSON body as a dict ({} when it is something else)."""
    return call.body if isinstance(call.body, dict) else {}
