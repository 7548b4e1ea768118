"""CLI: the official account's menu (publish, show, delete) through the WeChat client."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from bot.cli.state import CliState, pass_state
from bot.menu import MenuConfig, MenuError, describe_buttons, parse_menu
from bot.wechat import WeChatAPI, WeChatError

logger = logging.getLogger(__name__)

EXAMPLE_MENU = Path(__file__).resolve().parents[2] / "examples" / "menu.toml"
NO_SUCH_CONDITIONAL = 65301
# WeChat's menu errcodes in words (the global return codes; docs/menu.md).
ERRCODE_WORDS = {
    40016: "按钮个数不对（1 到 3 个）", 40017: "按钮类型不对", 40018: "按钮名称太长（一级 16 字节，子按钮 60 字节）",
    40019: "按钮 key 太长（128 字节）", 40020: "按钮链接太长（1024 字节）", 40023: "子按钮个数不对（1 到 5 个）",
    40024: "子按钮类型不对", 40026: "子按钮 key 太长（128 字节）", 40027: "子按钮链接太长（1024 字节）",
    40054: "子按钮链接不对（要以 http:// 或 https:// 开头）", 40055: "按钮链接不对（要以 http:// 或 https:// 开头）",
    45159: "标签不存在", 46003: "公众号还没有菜单", 48001: "这个公众号没有菜单接口的权限（需要认证）",
    65303: "还没有默认菜单，不能加个性化菜单", 65304: "个性化菜单的匹配规则是空的",
    65306: "这个公众号不支持个性化菜单", 65320: "个性化菜单不能按性别、地区、语言匹配",
}


class RoleMenuRefused(Exception):
    """The villagers' menu is installed; WeChat refused the role menu (unverified account, no tag API …)."""

    def __init__(self, cause: WeChatError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def refusal(exc: WeChatError) -> str:
    """One line for a WeChat refusal of a menu call."""
    words = ERRCODE_WORDS.get(exc.errcode or 0, "")
    return f"微信拒绝了：{exc.errcode} {exc.errmsg}" + (f"（{words}）" if words else "")


def known_keyword(word: str) -> bool:
    """Whether a chat keyword has a handler (the router's own keyword routes)."""
    from handlers import load_routes, router

    load_routes()
    return router.keyword_route(word) is not None


def load_menu_file(path: Path) -> MenuConfig:
    """Read and check a menu file, every keyword against the router."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MenuError(f"{path} 不是 UTF-8 编码的文本文件。") from None
    except OSError as exc:
        raise MenuError(f"读不到菜单文件 {path}：{exc.strerror or exc}") from None
    return parse_menu(text, path.name, known_keyword)


def publish(wechat: WeChatAPI, config: MenuConfig) -> str | None:
    """Install the villagers' menu, then the role menu on the role tag; returns the role menu's menuid."""
    from bot.wechat_role_tag import ensure_role_tag

    wechat.menu_create(config.menu.to_wechat())
    held = wechat.menu_get() or {}
    old = [str(c.get("menuid")) for c in held.get("conditionalmenu") or [] if isinstance(c, dict)]
    menu_id = None
    try:
        if config.role_menu is not None:  # the new one first: convenors never see the villagers' menu meanwhile
            menu_id = wechat.menu_add_conditional(config.role_menu.to_wechat(), ensure_role_tag(wechat))
        for stale in old:
            try:
                wechat.menu_del_conditional(stale)
            except WeChatError as exc:
                if exc.errcode != NO_SUCH_CONDITIONAL:
                    raise
    except WeChatError as exc:
        raise RoleMenuRefused(exc) from None
    return menu_id


def show_lines(wechat: WeChatAPI) -> list[str]:
    """What WeChat holds, readably: the default menu and each conditional menu with its tag."""
    held = wechat.menu_get()
    if not held:
        return ["公众号现在没有菜单。发布：shangliang menu publish"]
    try:
        tags = {int(t["id"]): str(t["name"]) for t in wechat.get("tags/get").get("tags", []) if isinstance(t, dict)}
    except WeChatError:  # no tag API on this account: show the ids only
        tags = {}
    default = held.get("menu") or {}
    lines = ["村民菜单（默认菜单）：", *[f"  {line}" for line in describe_buttons(default.get("button"))]]
    for cond in held.get("conditionalmenu") or []:
        rule = cond.get("matchrule") or {}
        tag = str(rule.get("tag_id") or rule.get("group_id") or "")
        who = f"标签“{tags[int(tag)]}”（{tag}）" if tag.isdigit() and int(tag) in tags else f"标签 {tag or '?'}"
        lines.append(f"个性化菜单 {cond.get('menuid', '')}，给{who}：")
        lines += [f"  {line}" for line in describe_buttons(cond.get("button"))]
    return lines


@click.group()
def menu() -> None:
    """The official account's menu (自定义菜单): publish, show, delete."""


def _config(file: str | None) -> MenuConfig:
    path = Path(file) if file else (Path("menu.toml") if Path("menu.toml").exists() else EXAMPLE_MENU)
    if not file and path == EXAMPLE_MENU:
        click.echo(f"没有 ./menu.toml，使用示例菜单 {EXAMPLE_MENU}")
    try:
        return load_menu_file(path)
    except MenuError as exc:
        raise click.ClickException(str(exc)) from None


def _wechat_call(state: CliState, action: Any) -> Any:
    try:
        return action(state.services.wechat)
    except WeChatError as exc:
        raise click.ClickException(refusal(exc)) from None
    except RoleMenuRefused as exc:
        raise click.ClickException("村民菜单已发布，召集人等的菜单没有发布：" + refusal(exc.cause)) from None


@menu.command("publish")
@click.option("--file", "file", default=None, help="Menu TOML (default ./menu.toml, else examples/menu.toml)")
@pass_state
def menu_publish(state: CliState, file: str | None) -> None:
    """Install the menu: menu/create, then the role menu by menu/addconditional on the role tag."""
    config = _config(file)
    menu_id = _wechat_call(state, lambda wechat: publish(wechat, config))
    click.echo(f"已发布村民菜单（{len(config.menu.leaves())} 个按钮）。")
    if menu_id:
        click.echo(f"已发布召集人等的菜单（个性化菜单 {menu_id}，按标签匹配）。手机上约 5 分钟后更新。")


@menu.command("show")
@pass_state
def menu_show(state: CliState) -> None:
    """Print the menus WeChat holds (menu/get)."""
    for line in _wechat_call(state, show_lines):
        click.echo(line)


@menu.command("delete")
@pass_state
def menu_delete(state: CliState) -> None:
    """Remove every menu (menu/delete): the villagers' and the role menu."""
    _wechat_call(state, lambda wechat: wechat.menu_delete())
    click.echo("已删除公众号的全部菜单。重新发布：shangliang menu publish")


def publish_demo(services: Any, echo: Any) -> None:
    """`serve` with the stand-in: publish examples/menu.toml so the demo shows the menu from the first start."""
    try:
        publish(services.wechat, load_menu_file(EXAMPLE_MENU))
    except (MenuError, WeChatError, RoleMenuRefused) as exc:
        logger.warning("demo menu not published: %s", exc)
        return
    echo("已在本地微信替身上发布示例菜单（examples/menu.toml）；聊天时发送 /menu 查看。")
