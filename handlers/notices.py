"""Notice keywords: 发布通知, 通知, 公示, 送达, 撤回通知; WeChat's send-job receipts."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from domain.errors import DomainError
from domain.notices import broadcasts as notices
from domain.notices import delivery_results, mass_send
from domain.notices.delivery_report import delivery_report, latest_broadcasts, report_text
from domain.notices.texts import display_title, fmt_day, fmt_until, full_text, notice_ref, reply_hint, shorten
from domain.orgs.tree import BINDABLE_KINDS, find_by_invite
from handlers.context import Context
from handlers.dialogs import DialogState, clear_state, set_state
from handlers.normalize import strip_trailing
from handlers.registry import router
from models import Audience, Role

logger = logging.getLogger(__name__)

DIALOG = "broadcast"
YES_WORDS = {"确认", "确定", "发布", "是", "好", "yes", "YES", "y", "Y"}
LIST_LIMIT = 10
SCENE_BODY_CHARS = 300


def _as_typed(ctx: Context, keyword: str, rest: str) -> str:
    """The notice text exactly as the convenor typed it (normalising would turn ，into , in a public text)."""
    raw = (getattr(ctx.message, "content", None) or "").strip()
    if raw.startswith(keyword):
        return raw[len(keyword):].strip()
    return rest


def _preview(ctx: Context, keyword: str, rest: str, audience: Audience) -> str:
    org = notices.convenor_org(ctx.db, ctx.person)
    preview = notices.preview_broadcast(ctx.db, person=ctx.person, org=org, text=_as_typed(ctx, keyword, rest),
                                        now=ctx.now, settings=ctx.settings, audience=audience)
    set_state(ctx, DialogState(DIALOG, "confirm", {"preview": preview.to_dict(), "token": secrets.token_hex(8)}))
    lines = [
        f"将以“{preview.org_name}”名义发布通知：",
        f"【{preview.title}】",
        shorten(preview.text, 200),
        f"接收：{preview.audience_words}",
        f"公示：{preview.public_days} 天，至{fmt_until(preview.public_until, ctx.settings.tz)}",
        "回复“确认”发布，回复“取消”放弃。",
    ]
    return "\n".join(lines)


@router.keyword("发布通知", roles=(Role.CONVENOR,))
def broadcast(ctx: Context, rest: str) -> str:
    """发布通知 内容：向全村（社区）群众发通知（先预览，回复确认才发）"""
    return _preview(ctx, "发布通知", rest, Audience.FOLLOWERS)


@router.keyword("发布成员通知", roles=(Role.CONVENOR,))
def broadcast_members(ctx: Context, rest: str) -> str:
    """发布成员通知 内容：只发给议事会成员"""
    return _preview(ctx, "发布成员通知", rest, Audience.MEMBERS)


@router.step(DIALOG, "confirm")
def confirm_broadcast(ctx: Context, text: str, state: DialogState) -> str:
    """确认：发布预览过的通知"""
    if strip_trailing(text) not in YES_WORDS:
        return "通知还没有发布。回复“确认”发布，回复“取消”放弃。"
    preview = notices.BroadcastPreview.from_dict(state.data["preview"])
    notice = notices.confirm_broadcast(ctx.db, person=ctx.person, preview=preview, now=ctx.now,
                                       settings=ctx.settings, token=state.data["token"])
    clear_state(ctx)
    ref = notice_ref(notice, notice.org)
    return (f"已发布：通知 {ref}。正在通知 {preview.reachable} 人，一般几分钟内送达。\n"
            f"发送“送达 {ref}”查看送达情况；村民发送“通知”也能随时看到。")


@router.keyword("通知", "公示")
def show_notices(ctx: Context, rest: str) -> str:
    """通知：查看正在公示的通知；通知 编号：查看一条"""
    if rest:
        notice, org = notices.find_notice(ctx.db, ctx.person, rest)
        return full_text(notice, org, ctx.settings.tz)
    found = notices.in_force(ctx.db, ctx.person, ctx.now)
    personal = notices.recent_personal(ctx.db, ctx.person, ctx.now)
    if not found and not personal:
        return "现在没有正在公示的通知。有新通知会推送给您。"
    tz = ctx.settings.tz
    lines = [f"正在公示的通知（{len(found)} 条）：" if found else "现在没有正在公示的通知。"]
    for notice, org in found[:LIST_LIMIT]:
        until = fmt_until(notice.public_until, tz) if notice.public_until else ""
        lines.append(f"{notice_ref(notice, org)}．{notice.kind.label}：{shorten(display_title(notice), 24)}（至{until}）")
    if len(found) > LIST_LIMIT:
        lines.append(f"……另有 {len(found) - LIST_LIMIT} 条较早的通知。")
    if personal:
        lines.append("最近发给您的：")
        lines += [f"{notice_ref(n, o)}．{shorten(n.title, 24)}（{fmt_day(n.created_at, tz)}）" for n, o in personal]
    example = (found or personal)[0]
    lines.append("回复“通知 编号”查看全文，例如：通知 " + notice_ref(*example))
    return "\n".join(lines)


@router.keyword("送达", roles=(Role.CONVENOR,))
def delivery_status(ctx: Context, rest: str) -> str:
    """送达 编号：查看通知送达了多少人"""
    if not rest.strip():  # the menu's 送达情况 button: the newest notice, and the numbers of the others
        latest = latest_broadcasts(ctx.db, ctx.person)
        if not latest:
            return "您还没有发布过通知。发布请发送“发布通知 内容”。"
        (notice, org), others = latest[0], latest[1:]
        text = report_text(notice, org, delivery_report(ctx.db, notice), ctx.settings.tz)
        if others:
            text += "\n看前几条通知的，发送" + "、".join(f"“送达 {notice_ref(n, o)}”" for n, o in others) + "。"
        return text
    notice, org = notices.convenor_notice(ctx.db, ctx.person, rest)
    return report_text(notice, org, delivery_report(ctx.db, notice), ctx.settings.tz)


@router.keyword("撤回通知", roles=(Role.CONVENOR,))
def withdraw(ctx: Context, rest: str) -> str:
    """撤回通知 编号：撤下通知，还没发出的不再发"""
    found, org = notices.convenor_notice(ctx.db, ctx.person, rest)
    notice = notices.close_notice(ctx.db, person=ctx.person, org=org, seq=found.seq, now=ctx.now,
                                  settings=ctx.settings)
    return f"已撤回通知 {notice_ref(notice, org)}，还没发出的不再发送。已经收到的人仍能看到撤回前的消息。"


@router.event("templatesendjobfinish")
def on_template_finished(ctx: Context) -> None:
    """模板消息送达回执"""
    message = ctx.message
    row = delivery_results.record_job_finish(ctx.db, msgid=str(message.id), openid=ctx.openid,
                                     status=str(getattr(message, "status", "") or ""))
    if row is None:
        logger.info("TEMPLATESENDJOBFINISH for an unknown msgid or one already recorded")
    return None


@router.event("masssendjobfinish")
def on_mass_finished(ctx: Context) -> None:
    """群发结果回执"""
    message = ctx.message
    raw = getattr(message, "_data", None) or {}
    mass_send.record_mass_finish(
        ctx.db, msg_id=str(message.id), status=str(getattr(message, "status", "") or ""),
        total=_count(raw.get("TotalCount")), sent=_count(raw.get("SentCount")), errors=_count(raw.get("ErrorCount")))
    return None


def _count(value: object) -> int:
    """A count WeChat reported; 0 when it is missing or malformed."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


def notice_scene_reply(ctx: Context, payload: str, bind: Callable[[Context, str], str]) -> str:
    """A scan of a printed notice's QR code (scene n_<invite>_<seq>): bind like b_<invite>, then show the notice."""
    invite, _, seq = payload.rpartition("_")
    parts: list[str] = []
    org = find_by_invite(ctx.db, invite)
    if org is not None and org.kind in BINDABLE_KINDS:
        try:
            parts.append(bind(ctx, invite))
        except DomainError as exc:
            parts.append(exc.reply)
    try:
        notice, owner = notices.notice_for_scene(ctx.db, invite, seq)
    except DomainError as exc:
        return "\n\n".join([*parts, exc.reply])
    text = full_text(notice, owner, ctx.settings.tz)
    if len(text) > SCENE_BODY_CHARS:
        text = text[: SCENE_BODY_CHARS - 1] + "…"
    parts.append(f"{text}\n{reply_hint(notice, owner)}。")
    return "\n\n".join(parts)
