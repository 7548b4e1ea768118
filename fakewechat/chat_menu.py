"""The menu in the terminal chat: `/menu` shows the buttons this user would see, a number then taps one."""

from __future__ import annotations

from typing import Any

import requests

ChatSession = Any  # fakewechat.chat.ChatSession (not imported: chat imports this module)
# One number taps once (then numbers are text again: a questionnaire answer "2" must not tap button 2).
MENU_HINT = "回复一个数字点一次按钮（例如 1）。再点要重新发 /menu，或直接发 /menu 4 点第 4 个。"


def leaves_of(buttons: Any) -> list[dict[str, Any]]:
    """Every tappable button, in the order WeChat shows them."""
    found: list[dict[str, Any]] = []
    for button in buttons if isinstance(buttons, list) else []:
        if isinstance(button, dict):
            found += leaves_of(button["sub_button"]) if button.get("sub_button") else [button]
    return found


def menu_lines(answer: dict[str, Any]) -> list[str]:
    """The menu as numbered lines, one line per top-level button."""
    title = f"菜单（{answer['tag_name']}）：" if answer.get("tag_name") else "菜单："
    lines, number = [title], 0
    for button in answer.get("button") or []:
        group = leaves_of(button.get("sub_button")) if button.get("sub_button") else [button]
        cells = []
        for leaf in group:
            number += 1
            cells.append(f"{number} {leaf.get('name', '')}")
        head = f"【{button.get('name', '')}】" if button.get("sub_button") else ""
        lines.append(head + "　".join(cells))
    lines.append(MENU_HINT)
    return lines


def show_menu(session: ChatSession, arg: str) -> None:
    """`/menu`: print the menu this user sees (by their tags, from the stand-in); `/menu 3` taps button 3."""
    if not session.fake_api_url:
        session.out("（没有连接模拟微信接口，看不到菜单）")
        return
    try:
        answer = session._fake("GET", "/_fake/menu", params={"openid": session.openid})
    except (requests.RequestException, ValueError) as exc:
        session.out(f"（无法获取菜单：{type(exc).__name__}）")
        return
    leaves = leaves_of(answer.get("button"))
    if not leaves:
        session.out("公众号还没有菜单（管理员用 shangliang menu publish 发布）。")
        return
    session.menu_leaves = leaves
    if arg.isdigit():
        tap(session, int(arg))
        return
    for line in menu_lines(answer):
        session.out(line)


def tap(session: ChatSession, number: int) -> None:
    """Tap button `number` of the menu last shown: a CLICK event, or a VIEW event and the link."""
    leaves, session.menu_leaves = session.menu_leaves or [], None
    if not 1 <= number <= len(leaves):
        session.out(f"没有第 {number} 个按钮。发送 /menu 重新看菜单。")
        return
    leaf = leaves[number - 1]
    session.out(f"［点了菜单“{leaf.get('name', '')}”］")
    if leaf.get("type") == "view" and leaf.get("url"):
        session.out(f"打开网页：{leaf['url']}")
        session.send(session.pusher.view(session.openid, str(leaf["url"])))
    elif leaf.get("key"):
        session.send(session.pusher.click(session.openid, str(leaf["key"])))
    else:
        session.out(f"（模拟器不支持 {leaf.get('type', '?')} 类型的按钮）")
