"""Outbound WeChat: one wechatpy client per process, its access token shared in Redis.

wechatpy 1.8.18 pitfalls handled here (checked against its source): its token URL is
hard-coded, its auto-retry on 40001 recurses without bound, network errors and non-JSON
answers escape as foreign exceptions, and ``send_mass_text`` sends ``group_id``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import requests
from redis import Redis
from redis.exceptions import LockError, RedisError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from bot import redaction
from bot.redaction import redact
from domain.settings import REAL_WECHAT_API, WeChatSettings

logger = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}
# Final for one recipient: retrying will not help (unfollowed, bad openid, window closed, refused).
FINAL_ERRORS = {40003, 43004, 43101, 45015, 45047, 47003, 48001, 40037, 40036}
# Temporary: try again later with backoff.
RETRYABLE_ERRORS = {-1, 45009, 45011, 45028}
TOKEN_MARGIN_SECONDS = 300
NO_MENU = 46003  # menu/get on an account without a menu


class WeChatError(Exception):
    """A WeChat API call failed; ``errcode`` is WeChat's code, or None for transport trouble."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        errmsg = redact(errmsg)  # a request URL in an error carries the access token or the secret
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat error {errcode}: {errmsg}")

    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed."""
        return self.errcode is None or self.errcode in RETRYABLE_ERRORS or self.errcode in TOKEN_ERRORS


class WeChatUnavailable(WeChatError):
    """Network error, timeout, or an HTTP error status from WeChat."""


class WeChatBadResponse(WeChatError):
    """WeChat answered something that is not the JSON we expect."""


class _Redirect(requests.adapters.HTTPAdapter):
    """Send requests for WeChat's real host to the configured base URL (absolute URLs in wechatpy)."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        request.url = self.target + request.url[len(REAL_WECHAT_API):]
        return super().send(request, **kwargs)


class WeChatAPI(WeChatClient):
    """wechatpy's client with every call routed to ``api_base_url`` and a Redis-shared token."""

    def __init__(self, settings: WeChatSettings, redis: Redis, key_prefix: str = "sl:") -> None:
        storage = RedisStorage(redis, prefix=f"{key_prefix}wechatpy")
        super().__init__(
            settings.app_id,
            settings.app_secret,
            session=storage,
            timeout=settings.timeout_seconds,
            auto_retry=False,
        )
        redaction.install()
        redaction.remember(settings.app_secret, settings.token, settings.encoding_aes_key)
        self.settings = settings
        self.redis = redis
        self.base_url = settings.api_base_url
        self.API_BASE_URL = self.base_url + "/cgi-bin/"
        for name in ("wxa", "datacube", "card", "merchant", "scan", "invoice", "marketing"):
            api = getattr(self, name, None)
            if api is not None and getattr(api, "API_BASE_URL", None):
                api.API_BASE_URL = api.API_BASE_URL.replace(REAL_WECHAT_API, self.base_url)
        if self.base_url != REAL_WECHAT_API:
            self._http.mount(REAL_WECHAT_API + "/", _Redirect(self.base_url))
        # Proxies come from settings only: reading the environment on every call costs ~1 ms each.
        self._http.trust_env = False
        if settings.proxy:
            self._http.proxies = {"http": settings.proxy, "https": settings.proxy}
        self._lock_key = f"{key_prefix}wx:token:lock"

    # ---- the access token -----------------------------------------------------------------
    @property
    def access_token(self) -> str:  # type: ignore[override]
        """The shared token from Redis, fetched by one holder of a lock when missing."""
        try:
            token = self.session.get(self.access_token_key)
        except RedisError as exc:
            raise WeChatUnavailable(None, f"token cache unavailable: {exc}") from exc
        if token:
            return str(token)
        return self.refresh_token(stale=None)

    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch a token now (wechatpy's hook); prefer the stable token endpoint."""
        return self._fetch(force=False)

    def refresh_token(self, stale: str | None) -> str:
        """Get a token under the Redis lock; ``stale`` is one WeChat just rejected."""
        try:
            with self.redis.lock(self._lock_key, timeout=15, blocking_timeout=self.settings.timeout_seconds * 2):
                current = self.session.get(self.access_token_key)
                if current and current != stale:
                    return str(current)  # another worker refreshed meanwhile
                return str(self._fetch(force=stale is not None and current == stale)["access_token"])
        except (LockError, RedisError) as exc:
            raise WeChatUnavailable(None, f"token lock unavailable: {exc}") from exc

    def _fetch(self, force: bool) -> dict[str, Any]:
        try:
            if self.settings.use_stable_token:
                body = {
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                    "force_refresh": force,
                }
                res = self._http.post(self.base_url + "/cgi-bin/stable_token", json=body, timeout=self.timeout)
            else:
                params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
                res = self._http.get(self.base_url + "/cgi-bin/token", params=params, timeout=self.timeout)
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatUnavailable(None, f"token fetch failed: {exc}") from None
        try:
            data = res.json()
        except ValueError as exc:  # requests' JSONDecodeError is also a RequestException: test it apart
            raise WeChatBadResponse(None, "token answer is not JSON") from exc
        if not isinstance(data, dict) or data.get("errcode") or "access_token" not in data:
            raise WeChatError(
                int(data.get("errcode", 0)) if isinstance(data, dict) else None,
                str(data.get("errmsg", data) if isinstance(data, dict) else data),
            )
        ttl = max(int(data.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS, 60)
        self.session.set(self.access_token_key, data["access_token"], ttl)
        logger.info("fetched a WeChat access token (valid %ss)", ttl)
        return data

    # ---- every API call --------------------------------------------------------------------
    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One call; on a token error refresh once and retry once; errors become WeChatError."""
        given = (kwargs.get("params") or {}).get("access_token")
        for attempt in (1, 2):
            call = dict(kwargs)
            call["params"] = copy.copy(kwargs.get("params")) or {}
            token = (given if attempt == 1 else None) or self.access_token
            call["params"]["access_token"] = token
            try:
                result = super()._request(method, url_or_endpoint, **call)
            except WeChatClientException as exc:
                code = exc.errcode
                if code in TOKEN_ERRORS and attempt == 1:
                    logger.info("WeChat rejected the token (%s); refreshing once", code)
                    self.refresh_token(stale=token)
                    continue
                if code is None:
                    status = getattr(getattr(exc, "response", None), "status_code", None)
                    raise WeChatUnavailable(None, f"HTTP error {status} from WeChat: {exc}") from None
                raise WeChatError(int(code), str(exc.errmsg)) from None
            except requests.RequestException as exc:
                # No cause chain: requests' exceptions carry the URL, and the URL the access token.
                raise WeChatUnavailable(None, f"{type(exc).__name__}: {exc}") from None
            if not isinstance(result, dict):
                raise WeChatBadResponse(None, "answer is not JSON")
            return result
        raise AssertionError("unreachable")

    # ---- helpers wechatpy 1.8.18 gets wrong ---------------------------------------------------
    def send_mass_text_to_tag(self, tag_id: int, content: str, client_msg_id: str) -> dict[str, Any]:
        """Mass-send text to a tag with ``tag_id`` (wechatpy sends ``group_id``) and an idempotency key."""
        data = {
            "filter": {"is_to_all": False, "tag_id": tag_id},
            "text": {"content": content},
            "msgtype": "text",
            "clientmsgid": client_msg_id[:64],
        }
        return self.post("message/mass/sendall", data=data)

    def send_template_message(
        self, openid: str, template_id: str, data: dict[str, Any], *, url: str | None = None,
        client_msg_id: str | None = None,
    ) -> dict[str, Any]:
        """Send a template message, with ``client_msg_id`` (wechatpy 1.8.18 cannot)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id[:64]
        return self.post("message/template/send", data=body)

    # ---- the custom menu (自定义菜单, docs/menu.md) -------------------------------------------
    def menu_create(self, menu: dict[str, Any]) -> None:
        """Install the default menu (``{"button": [...]}``); WeChat checks its limits (40016, 40018 …)."""
        self.post("menu/create", data=menu)

    def menu_get(self) -> dict[str, Any] | None:
        """The default menu and the conditional menus WeChat holds, or None when there is no menu (46003)."""
        try:
            return self.get("menu/get")
        except WeChatError as exc:
            if exc.errcode == NO_MENU:
                return None
            raise

    def menu_delete(self) -> None:
        """Remove every menu: the default one and all conditional ones."""
        self.get("menu/delete")

    def menu_add_conditional(self, menu: dict[str, Any], tag_id: int) -> str:
        """Add a conditional menu for the followers carrying ``tag_id``; returns its menuid."""
        answer = self.post("menu/addconditional", data={**menu, "matchrule": {"tag_id": str(tag_id)}})
        return str(answer.get("menuid", ""))

    def menu_del_conditional(self, menu_id: str | int) -> None:
        """Remove one conditional menu."""
        self.post("menu/delconditional", data={"menuid": str(menu_id)})

    def menu_try_match(self, user_id: str) -> dict[str, Any]:
        """The menu one follower sees (``{"button": [...]}``), as WeChat matches it."""
        return self.post("menu/trymatch", data={"user_id": user_id})
