"""CLI: notices (send, list, show, status, pdf, close), the sender workers and the scheduler's jobs."""

from __future__ import annotations

import logging
import secrets
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli.state import CliState, now_utc, pass_state, run_action
from bot.wechat import WeChatError

logger = logging.getLogger(__name__)



@click.group()
def notice() -> None:
    """Notices (通知/公示): broadcast, list, delivery status, printable PDF."""


@notice.command("send")
@click.option("--org", "org_code", required=True, help="Organisation code")
@click.option("--by", "by_ref", required=True, help="The convenor's openid or person id")
@click.option("--text", required=True, help="The notice text")
@click.option("--title", default=None, help="Title (default: the first sentence)")
@click.option("--audience", type=click.Choice(["followers", "members"]), default="followers", show_default=True)
@click.option("--public-days", type=int, default=None, help="Days the notice stays in force (default from settings)")
@click.option("--yes", is_flag=True, help="Send without asking to confirm the preview")
@pass_state
def notice_send(state: CliState, org_code: str, by_ref: str, text: str, title: str | None, audience: str,
                public_days: int | None, yes: bool) -> None:
    """Broadcast a notice: show the preview, then queue it for the senders."""
    from domain.notices import broadcasts as notices
    from domain.notices.texts import fmt_until, notice_ref
    from domain.orgs import people
    from domain.orgs import tree as orgs

    settings = state.settings

    def preview(db: Any) -> notices.BroadcastPreview:
        return notices.preview_broadcast(
            db, person=people.find_by_ref(db, by_ref), org=orgs.get_org(db, org_code), text=text, now=now_utc(),
            settings=settings, audience=audience, public_days=public_days, title=title)

    shown = run_action(state, preview)
    click.echo(f"组织：{shown.org_name}\n标题：{shown.title}\n正文：{shown.text}")
    click.echo(f"接收：{shown.audience_words}；公示至{fmt_until(shown.public_until, settings.tz)}")
    if not yes and not click.confirm("确认发布？", default=False):
        click.echo("已取消，没有发布。")
        return
    token = secrets.token_hex(8)

    def confirm(db: Any) -> str:
        made = notices.confirm_broadcast(db, person=people.find_by_ref(db, by_ref), preview=shown, now=now_utc(),
                                         settings=settings, token=token)
        return notice_ref(made, made.org)

    click.echo(f"已发布：通知 {run_action(state, confirm)}（送达情况：shangliang notice status --org {org_code} --number N）")


@notice.command("list")
@click.option("--org", "org_code", required=True)
@click.option("--all", "show_all", is_flag=True, help="Also closed and non-public notices")
@pass_state
def notice_list(state: CliState, org_code: str, show_all: bool) -> None:
    """List an organisation's notices (default: those in force)."""
    from sqlalchemy import select

    from domain.notices.texts import fmt_time, notice_state
    from domain.orgs import tree as orgs
    from models import Notice

    now, tz = now_utc(), state.settings.tz

    def action(db: Any) -> list[str]:
        org = orgs.get_org(db, org_code)
        rows = db.scalars(select(Notice).where(Notice.org_id == org.id).order_by(Notice.seq.desc()))
        lines = []
        for n in rows:
            if not show_all and not n.in_force(now):
                continue
            state_word = notice_state(n, now)
            lines.append(f"{n.seq:>4}  {n.kind.label:<4} {state_word:<3} {fmt_time(n.created_at, tz)}  {n.title}")
        return lines

    for line in run_action(state, action) or ["（没有正在公示的通知；--all 看全部）"]:
        click.echo(line)


@notice.command("show")
@click.option("--org", "org_code", required=True)
@click.option("--number", type=int, required=True)
@pass_state
def notice_show(state: CliState, org_code: str, number: int) -> None:
    """Show one notice as villagers read it."""
    from domain.notices import broadcasts as notices
    from domain.notices.texts import full_text

    def action(db: Any) -> str:
        found, org = notices.notice_by_code(db, org_code, number)
        return full_text(found, org, state.settings.tz)

    click.echo(run_action(state, action))


@notice.command("status")
@click.option("--org", "org_code", required=True)
@click.option("--number", type=int, required=True)
@pass_state
def notice_status(state: CliState, org_code: str, number: int) -> None:
    """Delivered / waiting / failed counts of a notice, with reasons (送达)."""
    from domain.notices import broadcasts as notices
    from domain.notices.delivery_report import delivery_report, report_text

    def action(db: Any) -> str:
        found, org = notices.notice_by_code(db, org_code, number)
        return report_text(found, org, delivery_report(db, found), state.settings.tz)

    click.echo(run_action(state, action))


@notice.command("close")
@click.option("--org", "org_code", required=True)
@click.option("--number", type=int, required=True)
@click.option("--by", "by_ref", required=True, help="The convenor's openid or person id")
@pass_state
def notice_close(state: CliState, org_code: str, number: int, by_ref: str) -> None:
    """Withdraw a notice: it leaves the list and copies not yet sent are not sent."""
    from domain.notices import broadcasts as notices
    from domain.orgs import people
    from domain.orgs import tree as orgs

    def action(db: Any) -> str:
        closed = notices.close_notice(db, person=people.find_by_ref(db, by_ref), org=orgs.get_org(db, org_code),
                                      seq=number, now=now_utc(), settings=state.settings)
        return f"已撤回通知 {closed.seq}。"

    click.echo(run_action(state, action))


@notice.command("pdf")
@click.option("--org", "org_code", required=True)
@click.option("--number", type=int, required=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
@pass_state
def notice_pdf(state: CliState, org_code: str, number: int, out_path: str) -> None:
    """Export a public notice as a printable A4 PDF with its WeChat QR code."""
    from domain.notices import broadcasts as notices
    from domain.notices.pdf import qr_scene, render_notice_pdf

    def lookup(db: Any) -> tuple[str, str | None]:
        found, org = notices.notice_by_code(db, org_code, number)
        if not found.is_public:
            raise click.ClickException("这条通知不是公示类通知（没有公示期），不能打印张贴。")
        scene = qr_scene(org, found)
        return scene, found.qr_url if found.qr_scene == scene else None

    scene, url = run_action(state, lookup)
    if url is None:
        url = _create_qr(state, scene)

    def render(db: Any) -> bytes:
        found, org = notices.notice_by_code(db, org_code, number)
        if url:
            found.qr_scene, found.qr_url = scene, url
        return render_notice_pdf(found, org, qr_url=url, tz=state.settings.tz, printed_at=now_utc())

    data = run_action(state, render)
    Path(out_path).write_bytes(data)
    click.echo(f"已生成 {out_path}（{len(data) // 1024 + 1} KB）" + ("" if url else "，但二维码没有生成：微信接口不可用"))


def _create_qr(state: CliState, scene: str) -> str | None:
    """A permanent string-scene QR code from WeChat; None (with a warning) if WeChat refuses."""
    body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
    try:
        answer = state.services.wechat.post("qrcode/create", data=body)
    except WeChatError as exc:
        click.echo(f"警告：创建二维码失败（{exc}）", err=True)
        return None
    return str(answer.get("url") or "") or None


@click.command("sender")
@click.option("--once", is_flag=True, help="Send what is due, wait for retries falling due soon, then exit")
@click.option("--worker-id", default=None, help="Name in the claimed_by column (default host-pid-random)")
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Sending threads (default from settings)")
@click.option("--max-wait", type=float, default=60.0, show_default=True,
              help="With --once: longest wait for a retry to fall due")
@pass_state
def sender_cmd(state: CliState, once: bool, worker_id: str | None, concurrency: int | None, max_wait: float) -> None:
    """Run a sender worker (run several, on any hosts)."""
    from bot.sender import Sender

    state.require_secrets()
    threads = concurrency or state.settings.delivery.concurrency
    db = state.settings.database
    if db.pool_size + db.max_overflow < threads + 2:
        state.override(database={"pool_size": threads + 2})
    sender = Sender(state.services, worker_id=worker_id, concurrency=threads)

    def stop(signum: int, _frame: Any) -> None:
        logger.info("signal %s: stopping after the sends under way", signum)
        sender.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    counts = sender.run(once=once, max_wait=max_wait)
    click.echo("发送结束：" + ("，".join(f"{k} {v}" for k, v in sorted(counts.items())) or "没有要发的"))


@click.group()
def jobs() -> None:
    """The scheduler's jobs."""


@jobs.command("list")
@pass_state
def jobs_list(state: CliState) -> None:
    """Show every job, its interval, last run and next run."""
    from datetime import timedelta

    from scheduler.jobs import JOBS
    from scheduler.main import last_run

    tz = state.settings.tz

    def shown(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%m-%d %H:%M:%S") if moment else "—"

    for job in JOBS:
        every = job.interval(state.settings)
        last = last_run(state.services, job.id)
        following = shown(last + timedelta(seconds=every)) if last else "启动时"
        click.echo(f"{job.id:<24} 每 {every:>4}s  上次 {shown(last):<14} 下次 {following}  {job.description}")


@jobs.command("run-due")
@click.option("--now", "now_text", default=None, help="ISO time to run as of (default: now); naive = local time")
@click.option("--job", "job_ids", multiple=True, help="Only this job id (repeatable)")
@pass_state
def jobs_run_due(state: CliState, now_text: str | None, job_ids: tuple[str, ...]) -> None:
    """Run every sweep once as of a time (catching up after downtime; tests)."""
    from scheduler.jobs import SWEEP_ORDER, run_due

    now = now_utc()
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter("use an ISO time such as 2025-11-30T09:00 or 2025-11-30T01:00+00:00") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=state.settings.tz)
    unknown = [j for j in job_ids if j not in SWEEP_ORDER]
    if unknown:
        raise click.BadParameter(f"unknown job {unknown[0]}; jobs: {', '.join(SWEEP_ORDER)}")
    failed = False
    for job_id, outcome in run_due(state.services, now.astimezone(UTC), list(job_ids) or None):
        failed |= isinstance(outcome, str)
        click.echo(f"{job_id:<24} {outcome}")
    if failed:
        raise click.ClickException("有任务失败，详见日志。")
