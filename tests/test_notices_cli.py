"""The notice commands: send (preview, confirm), list, show, status, close, and the printable PDF."""

from __future__ import annotations

import gc
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from models import Delivery, Notice
from tests.test_notices_helpers import drain, world
from tests.test_sender_kill import write_config

QR_PATH = "/cgi-bin/qrcode/create"


@pytest.fixture
def cli(services, tmp_path):
    """Run a shangliang command against the test database, Redis and stand-in."""
    config = write_config(tmp_path / "cli.toml", services)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        result = runner.invoke(main, ["--config", str(config), *args], input=input, catch_exceptions=False)
        gc.collect()  # each command built its own engine: let its connections go
        return result

    return run


def test_notice_send_previews_and_asks_before_queueing(cli, db):
    world(db)
    declined = cli("notice", "send", "--org", "v1", "--by", "conv-1", "--text", "周六大扫除。", input="n\n")
    assert "接收：东风村的群众，共 5 人" in declined.output and "已取消" in declined.output
    assert db.scalar(select(func.count(Notice.id))) == 0
    sent = cli("notice", "send", "--org", "v1", "--by", "conv-1", "--text", "周六大扫除。", "--public-days", "3",
               input="y\n")
    assert sent.exit_code == 0 and "已发布：通知 1" in sent.output
    members = cli("notice", "send", "--org", "v1", "--by", "conv-1", "--text", "成员先碰头。", "--audience",
                  "members", "--yes")
    assert "已发布：通知 2" in members.output
    assert db.scalar(select(func.count(Delivery.id)).where(Delivery.notice_id == 2)) == 1


def test_r_role_4_notice_send_refuses_non_convenors_and_other_villages(cli, db):
    world(db)
    for by, org in (("fan-1", "v1"), ("conv-2", "v1"), ("conv-1", "v2")):
        refused = cli("notice", "send", "--org", org, "--by", by, "--text", "通知", "--yes")
        assert refused.exit_code != 0 and "只有" in refused.output and "召集人" in refused.output
    assert "没有代码为 nope" in cli("notice", "send", "--org", "nope", "--by", "conv-1", "--text", "x",
                                    "--yes").output
    assert cli("notice", "send", "--org", "v1", "--by", "conv-1", "--text", "x", "--public-days", "0",
               "--yes").exit_code != 0


def test_notice_list_show_status_close(cli, db, services):
    world(db)
    cli("notice", "send", "--org", "v1", "--by", "conv-1", "--text", "周六大扫除。", "--yes")
    assert "周六大扫除" in cli("notice", "list", "--org", "v1").output
    assert "【东风村 通知 1】周六大扫除" in cli("notice", "show", "--org", "v1", "--number", "1").output
    assert "待发送 5" in cli("notice", "status", "--org", "v1", "--number", "1").output
    drain(services)
    assert "已发出 5" in cli("notice", "status", "--org", "v1", "--number", "1").output
    assert "没有编号为 9" in cli("notice", "status", "--org", "v1", "--number", "9").output
    assert "已撤回通知 1" in cli("notice", "close", "--org", "v1", "--number", "1", "--by", "conv-1").output
    assert "没有正在公示" in cli("notice", "list", "--org", "v1").output
    assert "已撤回" in cli("notice", "list", "--org", "v1", "--all").output


def test_public_notice_pdf_has_a_wechat_qr_code_for_the_same_notice(cli, db, fake_wechat, tmp_path):
    w = world(db)
    cli("notice", "send", "--org", "v1", "--by", "conv-1", "--yes", "--text",
        "本周六上午9点在村委会议室召开协商议事会，商量村东头道路硬化。请各户派一人参加。")
    out = tmp_path / "notice.pdf"
    made = cli("notice", "pdf", "--org", "v1", "--number", "1", "--out", str(out))
    assert made.exit_code == 0 and "已生成" in made.output
    assert out.read_bytes().startswith(b"%PDF")
    [qr] = fake_wechat.calls(path=QR_PATH)
    assert qr["body"]["action_name"] == "QR_LIMIT_STR_SCENE"
    assert qr["body"]["action_info"]["scene"]["scene_str"] == f"n_{w['v1'].invite_code}_1"
    db.expire_all()
    assert db.scalar(select(Notice.qr_url)) == qr["response"]["url"]
    cli("notice", "pdf", "--org", "v1", "--number", "1", "--out", str(tmp_path / "again.pdf"))
    assert len(fake_wechat.calls(path=QR_PATH)) == 1  # the permanent code is reused
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "50", str(out), str(tmp_path / "page")], check=True)
        assert (tmp_path / "page-1.png").stat().st_size > 5000


def test_pdf_refused_for_a_notice_without_public_window(cli, db, tmp_path):
    w = world(db)
    from datetime import UTC, datetime

    from domain.notices.outbox import push_to

    push_to(db, [w["fans"][0]], org=w["v1"], title="私信", body="……", now=datetime.now(UTC))
    db.commit()
    refused = cli("notice", "pdf", "--org", "v1", "--number", "1", "--out", str(tmp_path / "x.pdf"))
    assert refused.exit_code != 0 and "不是公示类通知" in refused.output


def test_pdf_still_made_when_wechat_refuses_the_qr_code(cli, db, fake_wechat, tmp_path):
    world(db)
    cli("notice", "send", "--org", "v1", "--by", "conv-1", "--text", "周六大扫除。", "--yes")
    fake_wechat.add_fault(path=QR_PATH, errcode=48001)
    made = cli("notice", "pdf", "--org", "v1", "--number", "1", "--out", str(tmp_path / "x.pdf"))
    assert made.exit_code == 0 and "二维码没有生成" in made.output
