"""The official account's menu as configuration: a TOML file, checked against WeChat's limits, to WeChat's JSON.

Transport configuration only: a CLICK button names a chat keyword (``keyword = "我的议题"``) and is published
with the key ``KW_我的议题``, which the router runs as if the keyword were typed (handlers/router.py). The file
holds the villagers' menu ``[menu]`` and, optionally, ``[role_menu]``: the conditional menu of the role tag.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handlers.router import MENU_KEY_PREFIX

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128
URL_BYTES = 1024
ITEM_FIELDS = {"name", "keyword", "key", "url", "sub_button"}
SECTIONS = {"menu": "村民菜单", "role_menu": "召集人等的菜单"}


class MenuError(ValueError):
    """A menu file WeChat would refuse, said in one line naming the button."""


@dataclass(frozen=True)
class MenuItem:
    """One button: a CLICK (``key``), a VIEW (``url``) or a group of sub-buttons."""

    name: str
    key: str = ""
    url: str = ""
    subs: tuple[MenuItem, ...] = ()

    @property
    def keyword(self) -> str:
        """The chat keyword a ``KW_`` key runs ('' for other keys and links)."""
        return self.key[len(MENU_KEY_PREFIX):] if self.key.startswith(MENU_KEY_PREFIX) else ""

    def to_wechat(self) -> dict[str, Any]:
        """The button as menu/create takes it."""
        if self.subs:
            return {"name": self.name, "sub_button": [s.to_wechat() for s in self.subs]}
        if self.url:
            return {"type": "view", "name": self.name, "url": self.url}
        return {"type": "click", "name": self.name, "key": self.key}


@dataclass(frozen=True)
class Menu:
    """Up to three buttons."""

    buttons: tuple[MenuItem, ...]

    def to_wechat(self) -> dict[str, Any]:
        """The body of menu/create (and, with a matchrule, of menu/addconditional)."""
        return {"button": [b.to_wechat() for b in self.buttons]}

    def leaves(self) -> list[MenuItem]:
        """Every tappable button, in the order a user sees them."""
        return [leaf for b in self.buttons for leaf in (b.subs or (b,))]


@dataclass(frozen=True)
class MenuConfig:
    """The villagers' menu and the optional menu of the role tag."""

    menu: Menu
    role_menu: Menu | None = None
    source: str = field(default="menu.toml", compare=False)

    def keywords(self) -> list[str]:
        """Every chat keyword a button of either menu runs."""
        menus = [self.menu] + ([self.role_menu] if self.role_menu else [])
        return [leaf.keyword for m in menus for leaf in m.leaves() if leaf.keyword]


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _item(raw: Any, where: str, top: bool, known: Callable[[str], bool] | None) -> MenuItem:
    if not isinstance(raw, dict):
        raise MenuError(f"{where}：应是一个表，写 name 和 keyword、key、url 或 sub_button 之一")
    name = raw.get("name")
    label = f"{where}“{name}”" if isinstance(name, str) and name else where
    unknown = sorted(set(raw) - ITEM_FIELDS)
    if unknown:
        raise MenuError(f"{label}：不认识的字段 {', '.join(unknown)}（可用 name、keyword、key、url、sub_button）")
    limit = TOP_NAME_BYTES if top else SUB_NAME_BYTES
    if not isinstance(name, str) or not name.strip():
        raise MenuError(f"{label}：缺少名称 name")
    if _size(name) > limit:
        raise MenuError(f"{label}：名称 {_size(name)} 字节，超过微信上限 {limit} 字节（一个汉字 3 字节）")
    actions = [k for k in ("keyword", "key", "url", "sub_button") if k in raw]
    if len(actions) != 1:
        raise MenuError(f"{label}：keyword、key、url、sub_button 要写且只写一个")
    if "sub_button" in raw:
        return _group(raw["sub_button"], name, label, top, known)
    value = raw[actions[0]]
    if not isinstance(value, str) or not value.strip():
        raise MenuError(f"{label}：{actions[0]} 不能为空")
    if actions[0] == "url":
        if not value.startswith(("http://", "https://")):
            raise MenuError(f"{label}：链接要以 http:// 或 https:// 开头")
        if _size(value) > URL_BYTES:
            raise MenuError(f"{label}：链接 {_size(value)} 字节，超过微信上限 {URL_BYTES} 字节")
        return MenuItem(name, url=value)
    if actions[0] == "keyword" and known is not None and not known(value):
        raise MenuError(f"{label}：关键词“{value}”没有对应的功能（发送“帮助”可看全部关键词）")
    key = MENU_KEY_PREFIX + value if actions[0] == "keyword" else value
    if _size(key) > KEY_BYTES:
        raise MenuError(f"{label}：按钮 key {_size(key)} 字节，超过微信上限 {KEY_BYTES} 字节")
    return MenuItem(name, key=key)


def _group(raw: Any, name: str, label: str, top: bool, known: Callable[[str], bool] | None) -> MenuItem:
    if not top:
        raise MenuError(f"{label}：子按钮下不能再有子按钮（微信菜单只有两层）")
    if not isinstance(raw, list) or not raw:
        raise MenuError(f"{label}：sub_button 要列出 1 到 {MAX_SUB_BUTTONS} 个子按钮")
    if len(raw) > MAX_SUB_BUTTONS:
        raise MenuError(f"{label}：有 {len(raw)} 个子按钮，微信最多 {MAX_SUB_BUTTONS} 个")
    subs = tuple(_item(sub, f"{label}的第{n}个子按钮", False, known) for n, sub in enumerate(raw, 1))
    return MenuItem(name, subs=subs)


def _menu(raw: Any, section: str, known: Callable[[str], bool] | None) -> Menu:
    title = SECTIONS[section]
    buttons = raw.get("button") if isinstance(raw, dict) else None
    if not isinstance(buttons, list) or not buttons:
        raise MenuError(f"[{section}]（{title}）：要有 1 到 {MAX_BUTTONS} 个 [[{section}.button]]")
    if len(buttons) > MAX_BUTTONS:
        raise MenuError(f"[{section}]（{title}）：有 {len(buttons)} 个按钮，微信最多 {MAX_BUTTONS} 个")
    extra = sorted(set(raw) - {"button"})
    if extra:
        raise MenuError(f"[{section}]（{title}）：不认识的字段 {', '.join(extra)}")
    return Menu(tuple(_item(b, f"{title}第{n}个按钮", True, known) for n, b in enumerate(buttons, 1)))


def parse_menu(text: str, source: str = "menu.toml", known: Callable[[str], bool] | None = None) -> MenuConfig:
    """Read and check a menu file; ``known`` tells whether a keyword has a handler. Raises MenuError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MenuError(f"{source} 不是有效的 TOML：{exc}") from None
    extra = sorted(set(data) - set(SECTIONS))
    if extra:
        raise MenuError(f"{source}：不认识的部分 {', '.join(extra)}（只有 [menu] 和 [role_menu]）")
    if "menu" not in data:
        raise MenuError(f"{source}：缺少 [menu]（村民菜单）")
    role = _menu(data["role_menu"], "role_menu", known) if "role_menu" in data else None
    return MenuConfig(_menu(data["menu"], "menu", known), role, source)


def describe_buttons(buttons: Any) -> list[str]:
    """Readable lines for WeChat's button list (from menu/get or menu/trymatch)."""
    lines: list[str] = []
    for button in buttons if isinstance(buttons, list) else []:
        if not isinstance(button, dict):
            continue
        subs = button.get("sub_button")
        subs = subs.get("list") if isinstance(subs, dict) else subs  # get_current_selfmenu_info nests a list
        if subs:
            lines.append(f"【{button.get('name', '')}】")
            lines += [f"  {line}" for line in describe_buttons(subs)]
        else:
            lines.append(_leaf_line(button))
    return lines


def _leaf_line(button: dict[str, Any]) -> str:
    name = button.get("name", "")
    if button.get("type") == "view":
        return f"{name} → 打开 {button.get('url', '')}"
    key = str(button.get("key", ""))
    target = f"关键词“{key[len(MENU_KEY_PREFIX):]}”" if key.startswith(MENU_KEY_PREFIX) else f"key {key}"
    return f"{name} → {target}" if button.get("type") == "click" else f"{name}（{button.get('type', '?')}）"
