"""Assisted participation (代办): a grid worker acting for a villager: 代办 <村民>, 确认, 代办结束."""

from __future__ import annotations

from domain.orgs import proxy
from handlers.context import Context
from handlers.dialogs import DialogState, clear_state, set_state
from handlers.normalize import chinese_number, quoted, strip_trailing
from handlers.registry import holds_any_role, router
from models import Person, Role

DIALOG = "proxy"
YES = {"确认", "确定", "是", "是的", "好", "好的", "对", "开始"}
USAGE = "请发送“代办 村民姓名”或“代办 手机后4位”，例如：代办 张三。只能代召集人登记为需要帮助的村民办理。"


AGENT_ROLES = (Role.GRID_WORKER, Role.CONVENOR)


def acting_villager(ctx: Context) -> Person | None:
    """The villager the sender is acting for right now (代办), or None."""
    if not holds_any_role(ctx, AGENT_ROLES):  # most senders can never act for anyone: no lookups
        return None
    return proxy.acting_for(ctx.db, ctx.redis, ctx.rkey, ctx.person, ctx.now)


def acting_subject(ctx: Context) -> tuple[Person, Person | None]:
    """(whom an act is for, the agent when someone is acting for a villager)."""
    villager = acting_villager(ctx)
    return (villager, ctx.person) if villager is not None else (ctx.person, None)


def describe(person: Person, *, number: bool = False) -> str:
    """张三（东风村，手机尾号1234）; with ``number`` the roster number too, to tell people of one name apart."""
    org = person.home_org.name if person.home_org else "未绑定"
    phone = f"手机尾号{person.phone[-4:]}" if person.phone else "未登记手机"
    extra = f"，{'用' if person.openid else '不用'}微信，名册编号 {person.id}" if number else ""
    return f"{person.display_name}（{org}，{phone}{extra}）"


def _ask_confirm(ctx: Context, person: Person) -> str:
    set_state(ctx, DialogState(DIALOG, "confirm", {"villager": person.id}))
    minutes = ctx.settings.rules.proxy_session_minutes
    return (f"确认要代 {describe(person, number=True)} 办理吗？请当面问清本人同意。\n"
            f"回复“确认”开始代办（{minutes} 分钟没有操作会自动结束），回复“取消”放弃。")


@router.keyword("代办", roles=AGENT_ROLES)
def start_proxy(ctx: Context, rest: str) -> str:
    """代办 姓名或手机后4位：替召集人登记为需要帮助的村民提议、联名"""
    if not rest:
        row = proxy.current(ctx.db, ctx.redis, ctx.rkey, ctx.person, ctx.now)
        if row is not None:
            return f"您正在代 {row.villager.display_name} 办理。办完发送“代办结束”。"
        return USAGE
    found = proxy.find_villagers(ctx.db, ctx.person, rest)
    if not found:
        return f"本村名册里没有找到“{quoted(rest)}”。请核对姓名，或用手机号后 4 位试试；名册由村里统一登记。"
    if len(found) > proxy.MAX_CHOICES:
        return "找到的人太多了，请写全名，或用手机号后 4 位。"
    found = [p for p in found if p.needs_help_at is not None]
    if not found:
        return proxy.RULE
    if len(found) == 1:
        return _ask_confirm(ctx, found[0])
    set_state(ctx, DialogState(DIALOG, "pick", {"ids": [p.id for p in found]}))
    names = [p.display_name for p in found]
    lines = [f"{i}. {describe(p, number=names.count(p.display_name) > 1)}" for i, p in enumerate(found, start=1)]
    return "找到几位，请回复序号：\n" + "\n".join(lines) + "\n（回复“取消”放弃）"


@router.step(DIALOG, "pick")
def pick_villager(ctx: Context, text: str, state: DialogState) -> str:
    """Choose one of the listed villagers by number."""
    ids = state.data.get("ids", [])
    choice = chinese_number(strip_trailing(text))
    if choice is None or not 1 <= choice <= len(ids):
        return f"请回复序号 1–{len(ids)}，或回复“取消”放弃。"
    person = ctx.db.get(Person, ids[choice - 1])
    if person is None:
        clear_state(ctx)
        return "这位村民已经不在名册里了。" + USAGE
    return _ask_confirm(ctx, person)


@router.step(DIALOG, "confirm")
def confirm_villager(ctx: Context, text: str, state: DialogState) -> str:
    """Start acting for the chosen villager once the agent confirms."""
    if strip_trailing(text) not in YES:
        return "请回复“确认”开始代办，或回复“取消”放弃。"
    clear_state(ctx)
    person = ctx.db.get(Person, state.data.get("villager"))
    if person is None:
        return "这位村民已经不在名册里了。" + USAGE
    minutes = ctx.settings.rules.proxy_session_minutes
    proxy.start(ctx.db, ctx.redis, ctx.rkey, ctx.person, person, ctx.now, minutes=minutes)
    return (f"现在开始代 {person.display_name} 办理。可以发送：提议 内容、联名 编号、我的议题。\n"
            f"办完请发送“代办结束”；{minutes} 分钟没有操作会自动结束。每一次代办都会留下记录。")


@router.keyword("代办结束", "结束代办", roles=(Role.GRID_WORKER, Role.CONVENOR))
def end_proxy(ctx: Context, rest: str) -> str:
    """代办结束：结束替村民办理"""
    row = proxy.end(ctx.db, ctx.redis, ctx.rkey, ctx.person, ctx.now)
    if row is None:
        return "您现在没有在代办。"
    return f"已结束代 {row.villager.display_name} 办理。"
