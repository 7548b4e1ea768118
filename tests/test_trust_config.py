"""Issue 12, items 3 and 11: insecure or contradictory settings stop the program with one line naming
the key, and the command line answers a broken environment with one clear line, never a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from domain.settings import SettingsError, load_settings

DEV_FREE_WECHAT = '[wechat]\ntoken = "a-token-of-our-own"\napp_id = "wx0123456789abcdef"\napp_secret = "s3cr3t-of-our-own"\n'


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _servers(services) -> str:
    """[database] and [redis] pointing at the run's servers, so nothing embedded ever starts."""
    s = services.settings
    return (f"[database]\nurl = {json.dumps(s.database.url)}\n"
            f"[redis]\nurl = {json.dumps(s.redis.url)}\nkey_prefix = {json.dumps(s.redis.key_prefix)}\n")


def _one_line(result) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- item 3: missing, empty or development secrets ---------------------------------------------------

@pytest.mark.parametrize("missing", ["token", "app_id", "app_secret"])
def test_webhook_app_refuses_to_start_without_own_wechat_secret(tmp_path, monkeypatch, services, missing):
    wechat = {"token": "a-token-of-our-own", "app_id": "wx0123456789abcdef", "app_secret": "s3cr3t-of-our-own"}
    del wechat[missing]
    text = _servers(services) + "[wechat]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in wechat.items())
    monkeypatch.setenv("SHANGLIANG_CONFIG", str(_write(tmp_path, text)))
    from bot.app import create_app

    with pytest.raises(SettingsError) as info:
        create_app()  # what gunicorn runs: bot.app:create_app()
    message = str(info.value)
    assert f"[wechat] {missing}" in message and "config.toml" in message and "\n" not in message


def test_webhook_app_starts_with_own_secrets(tmp_path, monkeypatch, services):
    monkeypatch.setenv("SHANGLIANG_CONFIG", str(_write(tmp_path, _servers(services) + DEV_FREE_WECHAT)))
    from bot.app import create_app

    app = create_app()
    app.extensions["shangliang.services"].close()


@pytest.mark.parametrize("command", [["sender", "--once"], ["scheduler"], ["serve", "--real-wechat"]])
def test_production_commands_refuse_the_development_secrets(tmp_path, services, command):
    config = _write(tmp_path, _servers(services))
    line = _one_line(CliRunner().invoke(main, ["--config", str(config), *command]))
    assert line.startswith("Error: setting [wechat] token:") and "config.toml" in line


@pytest.mark.parametrize("key", ["token", "app_id", "app_secret"])
def test_empty_wechat_secret_is_refused_at_load(tmp_path, key):
    with pytest.raises(SettingsError, match=rf"^setting \[wechat\] {key}: "):
        load_settings(_write(tmp_path, f'[wechat]\n{key} = ""\n'))


def test_required_encryption_without_aes_key_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"^setting \[webhook\] require_encryption: .*encoding_aes_key"):
        load_settings(_write(tmp_path, "[webhook]\nrequire_encryption = true\n"))


def test_aes_key_that_is_not_base64_is_refused_at_load(tmp_path):
    key = "-" * 43  # 43 characters, but wechatpy's base64 decoding would fail at start
    with pytest.raises(SettingsError) as info:
        load_settings(_write(tmp_path, f'[wechat]\nencoding_aes_key = "{key}"\n'))
    assert str(info.value).startswith("setting [wechat] encoding_aes_key:") and "base64" in str(info.value)


def test_valid_aes_key_builds_wechatpys_crypto(tmp_path):
    from wechatpy.crypto import WeChatCrypto

    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    settings = load_settings(_write(tmp_path, f'[wechat]\nencoding_aes_key = "{key}"\n'))
    WeChatCrypto(settings.wechat.token, settings.wechat.encoding_aes_key, settings.wechat.app_id)


def test_council_minimum_above_maximum_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"^setting \[rules\] council_min_members: .*council_max_members"):
        load_settings(_write(tmp_path, "[rules]\ncouncil_min_members = 31\n"))


def test_redis_timeout_beyond_the_webhooks_retry_budget_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"^setting \[redis\] socket_timeout_seconds: .*retry_wait_seconds"):
        load_settings(_write(tmp_path, "[redis]\nsocket_timeout_seconds = 3.0\n"))
    # The budget follows the retry wait: a shorter wait leaves room for a longer timeout.
    settings = load_settings(_write(tmp_path, "[redis]\nsocket_timeout_seconds = 3.0\n[webhook]\nretry_wait_seconds = 2.0\n"))
    assert settings.redis.socket_timeout_seconds == 3.0


# ---- item 11: a broken environment is one clear line -----------------------------------------------

def test_database_down_is_one_line(tmp_path, services):
    s = services.settings
    text = (f'[database]\nurl = "postgresql://postgres@127.0.0.1:{_closed_port()}/nope"\n'
            f"[redis]\nurl = {json.dumps(s.redis.url)}\n")
    for args in (["org", "list"], ["db", "upgrade"]):
        line = _one_line(CliRunner().invoke(main, ["--config", str(_write(tmp_path, text)), *args]))
        assert line.startswith("Error: ") and "[database] url" in line


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1/shangliang", "sqlite:///shangliang.db", "127.0.0.1:5432"])
def test_non_postgresql_url_is_one_line(tmp_path, services, url):
    text = f"[database]\nurl = {json.dumps(url)}\n[redis]\nurl = {json.dumps(services.settings.redis.url)}\n"
    line = _one_line(CliRunner().invoke(main, ["--config", str(_write(tmp_path, text)), "org", "list"]))
    assert line.startswith("Error: setting [database] url:")


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis://127.0.0.1:notaport/0", "localhost"])
def test_bad_redis_url_is_one_line(tmp_path, services, url):
    text = f"[database]\nurl = {json.dumps(services.settings.database.url)}\n[redis]\nurl = {json.dumps(url)}\n"
    line = _one_line(CliRunner().invoke(main, ["--config", str(_write(tmp_path, text)), "org", "list"]))
    assert line.startswith("Error: setting [redis] url:")


def test_unwritable_out_is_one_line(tmp_path, services):
    config = _write(tmp_path, _servers(services))
    runner = CliRunner()
    added = runner.invoke(main, ["--config", str(config), "org", "add", "--code", "v9", "--name", "九镇",
                                 "--kind", "township"])
    assert added.exit_code == 0, added.output + repr(added.stderr_bytes)
    poll_file = Path(__file__).resolve().parent.parent / "examples" / "poll.toml"
    made = runner.invoke(main, ["--config", str(config), "poll", "create", "--org", "v9", "--file", str(poll_file)])
    assert made.exit_code == 0, made.output
    out = tmp_path / "no-such-folder" / "result.csv"
    line = _one_line(runner.invoke(main, ["--config", str(config), "poll", "export", "--org", "v9", "--poll", "1",
                                          "--out", str(out)]))
    assert line.startswith("Error: ") and str(out) in line
