"""First keywords and events: help, binding, who am I, subscribe, and non-text messages."""

from __future__ import annotations

import logging
from functools import lru_cache

from domain.errors import DomainError
from domain.meetings import attendance
from domain.orgs import names, people
from handlers.context import Context
from handlers.meetings import check_in_reply
from handlers.normalize import quoted, strip_trailing
from handlers.registry import held_roles, router
from handlers.understanding import not_understood, rewrite_opening

logger = logging.getLogger(__name__)

BIND_SCENE_PREFIX = "b_"

WELCOME = (
    "欢迎关注“有事好商量”！村里、社区里的大事小事，在这里一起商量。\n"
    "第一步：扫描村里张贴的二维码，或发送“绑定 邀请码”（邀请码向村干部要）。\n"
    "发送“帮助”查看全部用法。"
)


# Sections of the short help, for people whose roles make the full list too long for one reply.
SECTIONS = {"topics": "议题", "topic_review": "议题办理", "topic_results": "议题办理", "paperwork": "议题办理",
            "polls": "投票", "poll_start": "投票", "questionnaires": "问卷", "notices": "通知", "meetings": "开会",
            "meeting_chair": "开会", "evaluation": "评价", "supervision": "监督", "proxy": "代办", "records": "履职",
            "basic": "其他"}  # in the order the sections are shown
UNBOUND_HELP = ("您还没绑定村（社区）。请先发送“绑定 邀请码”，例如：绑定 AB3CD5EF7G。\n"
                "邀请码向村干部要，也可以直接扫村里的二维码。\n"
                "绑定以后就能提议、联名、投票、填问卷、看通知，到时再发“帮助”看全部用法。\n"
                "现在还可以发送：“我的”（看绑定了没有）、“我叫 姓名”（告诉我们您的称呼）。")
HELP_BUDGET_BYTES = 1800  # under WeChat's 2048-byte passive reply; a villager's full list fits (1.6 KB)


def _keyword(line: str) -> str:
    return line.split("：", 1)[0].split(" ", 1)[0]


def help_reply(ctx: Context, about: str = "") -> str:
    """Help built from the routes this user may use; short sections when the full list is too long."""
    if about:
        return keyword_help(ctx, about)
    if ctx.person.home_org_id is None and not held_roles(ctx):
        return UNBOUND_HELP  # what an unbound follower may do now: bind (the full list waits until then)
    return _help_text(router.help_entries(ctx), ctx.person.home_org_id is not None)


@lru_cache(maxsize=1024)
def _help_text(entries: tuple[tuple[str, str], ...], bound: bool) -> str:
    """The help for these (feature, line) entries: built once per role set and binding, then reused."""
    head = "您可以发送：" if bound else "您还没绑定村（社区），先发送“绑定 邀请码”。\n您可以发送："
    full = head + "\n" + "\n".join(f"· {line}" for _, line in entries)
    if len(full.encode("utf-8")) <= HELP_BUDGET_BYTES:
        return full
    sections: dict[str, list[str]] = {}
    for module, line in entries:
        words = sections.setdefault(SECTIONS.get(module, "其他"), [])
        if _keyword(line) not in words:
            words.append(_keyword(line))
    order = list(dict.fromkeys(SECTIONS.values()))
    shown = sorted(sections.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    body = "\n".join(f"【{name}】{'、'.join(words)}" for name, words in shown)
    return f"{head}\n{body}\n发送“帮助 关键词”看具体用法，例如：帮助 提议"


def keyword_help(ctx: Context, about: str) -> str:
    """帮助 <关键词>: the keyword's use, its other words, and who may send it (any keyword, listed or not)."""
    route = router.keyword_route(about)
    if route is None:
        hits = [line for _, line in router.help_entries(ctx) if line.startswith(about)]
        return "\n".join(f"· {line}" for line in hits) if hits else f"没有“{quoted(about)}”这个用法。发送“帮助”查看全部。"
    lines = [f"· {route.help or about}"]
    others = [w for w in route.words if w != about and w.isalnum() and not w.isascii()]
    if others:
        lines.append("也可以写成：" + "、".join(others))
    if not route.roles:
        lines.append("谁可以用：所有人。")
    elif router.allowed(ctx, route):
        lines.append(f"谁可以用：{route.who}（您可以用）。")
    else:
        lines.append(f"谁可以用：{route.who}。您现在不能用。")
    return "\n".join(lines)


def _bind_reply(ctx: Context, invite: str) -> str:
    old = ctx.person.home_org
    org, changed = people.bind(ctx.db, ctx.person, invite, ctx.now, ctx.settings.rules, ctx.settings.tz)
    if not changed:
        return f"您已经绑定在“{org.name}”，不用重复绑定。"
    ask = "" if ctx.person.real_name else "\n请发送“我叫 您的姓名”告诉大家怎么称呼您，例如：我叫 张三。"
    if old is not None:
        return f"已改为绑定“{org.name}”（原来是“{old.name}”）。发送“帮助”看看能做什么。{ask}"
    return f"绑定成功！您现在是“{org.name}”的一员。发送“帮助”看看能做什么。{ask}"


@router.keyword("绑定")
def bind(ctx: Context, rest: str) -> str:
    """绑定 邀请码：加入您所在的村（社区）"""
    if not rest:
        return "请发送“绑定 邀请码”，例如：绑定 AB3CD5EF7G。邀请码向村干部要，也可以直接扫村里的二维码。"
    return _bind_reply(ctx, strip_trailing(rest).replace(" ", ""))


@router.keyword("我的", "我是谁")
def whoami(ctx: Context, rest: str) -> str:
    """我的：查看我绑定的村和我的身份"""
    person = ctx.person
    lines = [f"您的称呼：{person.display_name}"]
    home = person.home_org
    lines.append(f"所在村（社区）：{home.name}" if home else "所在村（社区）：还没绑定，发送“绑定 邀请码”。")
    grants = people.active_grants(ctx.db, person)
    if grants:
        lines.append("身份：" + "；".join(f"{g.org.name}{g.role.label}" for g in grants))
    else:
        lines.append("身份：普通群众")
    return "\n".join(lines)


@router.keyword("我叫", "姓名")
def set_name(ctx: Context, rest: str) -> str:
    """我叫 姓名：告诉我们您的称呼（开会签到、代办时用）"""
    name = names.check_display_name(ctx.db, ctx.person, strip_trailing(rest))
    ctx.person.real_name = name
    return f"好的，{name}，已记下您的称呼。"


@router.keyword("帮助", "菜单", "?", "help", "HELP", "Help")
def show_help(ctx: Context, rest: str) -> str:
    """帮助：查看可以发送的内容"""
    return help_reply(ctx, strip_trailing(rest).strip(" 。，,.!！?？"))


router.fallback = not_understood  # a short 没看懂 with this person's likely next steps
router.rewrite = rewrite_opening  # "我想提议修桥" → "提议 修桥"


@router.menu("HELP")
def menu_help(ctx: Context) -> str:
    """菜单：帮助"""
    return help_reply(ctx)


@router.menu("MINE")
def menu_mine(ctx: Context) -> str:
    """菜单：我的"""
    return whoami(ctx, "")


def _scene_bind(ctx: Context, scene: str | None) -> str | None:
    if attendance.code_from_scene(scene) is not None:  # a meeting's check-in QR code
        return check_in_reply(ctx, attendance.code_from_scene(scene) or "")
    if scene and scene.startswith("n_"):  # a printed notice's QR code: bind, then show the notice
        from handlers.notices import notice_scene_reply

        return notice_scene_reply(ctx, scene[len("n_"):], _bind_reply)
    if scene and scene.startswith(BIND_SCENE_PREFIX):
        try:
            return _bind_reply(ctx, scene[len(BIND_SCENE_PREFIX):])
        except DomainError as exc:
            return exc.reply
    return None


@router.event("subscribe", "subscribe_scan")
def on_subscribe(ctx: Context) -> str:
    """关注：欢迎，扫码关注时顺便绑定"""
    people.subscribe(ctx.person, ctx.now)
    bound = _scene_bind(ctx, getattr(ctx.message, "scene_id", None))
    if bound:
        return f"{bound}\n发送“帮助”查看全部用法。"
    if ctx.person.home_org is not None:
        return f"欢迎回来！您绑定的是“{ctx.person.home_org.name}”。发送“帮助”查看全部用法。"
    return WELCOME


@router.event("scan")
def on_scan(ctx: Context) -> str:
    """已关注用户扫码：绑定"""
    bound = _scene_bind(ctx, getattr(ctx.message, "scene_id", None))
    return bound or "扫码收到。发送“帮助”查看用法。"


@router.event("unsubscribe")
def on_unsubscribe(ctx: Context) -> None:
    """取消关注：记录下来，历史保留"""
    people.unsubscribe(ctx.person, ctx.now)
    return None


@router.event("view", "location")
def on_silent_event(ctx: Context) -> None:
    """不需要回复的事件"""
    return None


@router.message_type("voice")
def on_voice_without_text(ctx: Context) -> str:
    """语音没有识别出文字"""
    return "没听清您的语音。请打字发送，或发送“帮助”查看用法。"


@router.message_type("image", "location", "link", "video", "shortvideo", "*")
def on_other_message(ctx: Context) -> str:
    """图片、位置、链接、视频等"""
    return "收到了。这里目前只能处理文字消息，发送“帮助”查看用法。"
