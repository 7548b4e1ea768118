"""Commands that run things: the database schema, the development server, the chat client,
the WeChat stand-in and the scheduler."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import click

from bot.cli.state import CliState, pass_state
from domain.settings import Settings

RUNTIME_FILE = "runtime.json"


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: CliState) -> None:
    """Apply all migrations."""
    from models.migrate import upgrade

    url = state.services.settings.database.url
    state.services.engine.connect().close()  # an unreachable database is one line before any progress
    click.echo("正在升级数据库结构 …")
    upgrade(url)
    click.echo("数据库已是最新结构。")


def _write_runtime(settings: Settings, info: dict[str, Any]) -> Path:
    """Write what `chat` needs to talk to this server; it holds the token and AES key: owner only (0600)."""
    path = Path(settings.server.data_dir) / RUNTIME_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # an older file may have been readable by others
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(info, ensure_ascii=False, indent=2))
    return path


def _start_fake_wechat(settings: Settings, port: int) -> str:
    from werkzeug.serving import make_server

    from fakewechat.server import create_fake_app

    app = create_fake_app(settings.wechat.app_id, settings.wechat.app_secret)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="fake-wechat").start()
    return f"http://127.0.0.1:{server.server_port}"


def _point_fake_at(fake_url: str, webhook: str, settings: Settings) -> None:
    """Tell the stand-in where to post its events (signed, and encrypted when an AES key is set)."""
    import requests

    key = settings.wechat.encoding_aes_key
    requests.post(f"{fake_url}/_fake/webhook", timeout=5, json={
        "url": webhook, "token": settings.wechat.token, "app_id": settings.wechat.app_id,
        "encoding_aes_key": key, "mode": "safe" if key else "plain"}).raise_for_status()


@click.command()
@click.option("--host", default=None, help="Listen address (default from settings)")
@click.option("--port", type=int, default=None, help="Listen port (default from settings)")
@click.option("--fake-wechat/--real-wechat", default=True, help="Run the local WeChat stand-in and point at it")
@click.option("--fake-port", type=int, default=8081, show_default=True)
@click.option("--seed/--no-seed", default=None, help="Load the demo township first (default: on the embedded default)")
@click.option("--scheduler/--no-scheduler", default=True, help="Run the scheduler in-process (development only)")
@pass_state
def serve(state: CliState, host: str | None, port: int | None, fake_wechat: bool, fake_port: int,
          seed: bool | None, scheduler: bool) -> None:
    """Development server on the embedded default, with the WeChat stand-in."""
    from werkzeug.serving import make_server

    from bot.app import create_app
    from models.migrate import upgrade

    settings = state.settings
    if seed is None:  # the embedded default is a development run: the demo township comes with it
        seed = not settings.database.url
    fake_url = None
    if fake_wechat:
        state.development = True  # the stand-in: the public development secrets are fine here
        fake_url = _start_fake_wechat(settings, fake_port)
        state.override(wechat={"api_base_url": fake_url})
    else:
        state.require_secrets()
    services = state.services
    click.echo("检查数据库结构 …")
    upgrade(services.settings.database.url)
    if seed:
        from bot.cli.admin import seed_demo

        seed_demo(services, echo=click.echo)
    if fake_wechat:  # the stand-in starts empty: give it the demo menu (docs/menu.md)
        from bot.cli.menu import publish_demo

        publish_demo(services, echo=click.echo)
    if scheduler:
        from scheduler.main import start_background

        start_background(services)
    app = create_app(services=services, development=state.development)
    s = services.settings
    server = make_server(host or s.server.host, port or s.server.port, app, threaded=True)
    webhook = f"http://{server.host}:{server.server_port}/wechat"
    runtime = _write_runtime(s, {
        "webhook_url": webhook, "fake_api_url": fake_url, "token": s.wechat.token,
        "app_id": s.wechat.app_id, "encoding_aes_key": s.wechat.encoding_aes_key,
    })
    if fake_url:  # the stand-in posts TEMPLATESENDJOBFINISH back to the webhook, as WeChat does
        _point_fake_at(fake_url, webhook, s)
    click.echo(f"公众号后台已启动：{webhook}")
    if fake_url:
        click.echo(f"本地微信替身：{fake_url}")
    click.echo(f"另开一个终端聊天：.venv/bin/shangliang chat --user demo-villager-1   （运行信息在 {runtime}）")
    click.echo("按 Ctrl-C 停止。")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("已停止。")


@click.command()
@click.option("--user", "--as", "openid", required=True, help="The openid to speak as (e.g. demo-villager-1)")
@click.option("--url", default=None, help="Webhook URL (default: the running `serve`)")
@click.option("--mode", type=click.Choice(["plain", "compatible", "safe"]), default=None,
              help="Message mode (default: safe when an AES key is set)")
@pass_state
def chat(state: CliState, openid: str, url: str | None, mode: str | None) -> None:
    """Talk to the bot in the terminal as a WeChat user."""
    from fakewechat.chat import run_chat

    runtime_path = Path(state.settings.server.data_dir) / RUNTIME_FILE
    info: dict[str, Any] = {}
    if runtime_path.exists():
        info = json.loads(runtime_path.read_text(encoding="utf-8"))
    s = state.settings.wechat
    webhook = url or info.get("webhook_url") or f"http://127.0.0.1:{state.settings.server.port}/wechat"
    key = info.get("encoding_aes_key", s.encoding_aes_key)
    run_chat(
        webhook_url=webhook,
        openid=openid,
        token=info.get("token", s.token),
        app_id=info.get("app_id", s.app_id),
        encoding_aes_key=key,
        mode=mode or ("safe" if key else "plain"),
        fake_api_url=info.get("fake_api_url"),
        media_dir=Path(state.settings.server.data_dir).resolve() / "chat-pictures",  # pictures the account sends
    )


@click.command("fake-wechat")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--record", default=None, help="Also append every call to this JSON-lines file")
@pass_state
def fake_wechat_cmd(state: CliState, host: str, port: int, record: str | None) -> None:
    """Run the local WeChat API stand-in."""
    from fakewechat.server import serve_fake_wechat

    s = state.settings.wechat
    click.echo(f"本地微信替身：http://{host}:{port}  （把 [wechat] api_base_url 指向它）")
    serve_fake_wechat(host, port, s.app_id, s.app_secret, record_path=record)


@click.command("scheduler")
@pass_state
def scheduler_cmd(state: CliState) -> None:
    """Run the one scheduler process."""
    from scheduler.main import run_forever

    state.require_secrets()
    run_forever(state.services)
