"""Every settings error is one line in plain words: the key, then what is wrong, never pydantic's wording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main as cli_main
from domain.settings import SettingsError, load_settings, parse_settings

ROOT = Path(__file__).resolve().parent.parent
PYDANTIC_WORDS = ("Value error", "Assertion failed", "Input should", "validation error", "pydantic", "For further")


def _message(tmp_path: Path, toml: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    return str(info.value)


@pytest.mark.parametrize(("toml", "expected"), [
    ('[rules]\nquorum_ratio = "3/2"\n', "setting [rules] quorum_ratio: a ratio must lie between 0 and 1"),
    ("[rules]\nquorum_ratio = 1.5\n", "setting [rules] quorum_ratio: a ratio must lie between 0 and 1"),
    ('[rules]\nquorum_ratio = "abc"\n', 'setting [rules] quorum_ratio: expected a ratio such as "2/3" or 0.5'),
    ('[webhook]\nmax_body_bytes = "big"\n', 'setting [webhook] max_body_bytes: must be a whole number (got "big")'),
    ("[server]\nport = 70000\n", "setting [server] port: must be at most 65535 (got 70000)"),
    ('[wechat]\nuse_stable_token = "maybe"\n', 'setting [wechat] use_stable_token: must be true or false (got "maybe")'),
    ('[wechat]\napi_base_url = "api.weixin.qq.com"\n', "setting [wechat] api_base_url: must start with http:// or https://"),
    ('[rules]\nquorom_ratio = "2/3"\n', "setting [rules] quorom_ratio: unknown key (typo?)"),
    ("rules = 3\n", "setting rules: must be a section of keys (got 3)"),
])
def test_settings_error_is_one_plain_line(tmp_path, toml, expected):
    assert _message(tmp_path, toml) == expected


def test_no_settings_error_carries_pydantic_wording(tmp_path):
    cases = ['[wechat]\naccount_type = "enterprise"\n', '[wechat]\nencoding_aes_key = "tooshort"\n',
             "[rules]\nquorum_ratio = true\n", 'timezone = "Mars/Olympus_Mons"\n', "[polls]\nverify_shows_choice = 2\n",
             '[delivery]\ntemplate_ids = {foo = "x"}\n', "[rules]\ncouncil_min_members = 40\n"]
    for toml in cases:
        message = _message(tmp_path, toml)
        assert "\n" not in message and not any(word in message for word in PYDANTIC_WORDS), message
        assert re.match(r"setting (\[\w+\] )?\w+: \S", message), message
    with pytest.raises(SettingsError) as info:
        parse_settings({"rules": {"quorum_ratio": "5/4"}})  # the path tests and CLI flags take
    assert str(info.value) == "setting [rules] quorum_ratio: a ratio must lie between 0 and 1"


def test_cli_prints_the_readme_example_exactly(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[rules]\nquorum_ratio = "3/2"\n', encoding="utf-8")
    result = CliRunner().invoke(cli_main, ["--config", str(path), "db", "upgrade"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0 and len(lines) == 1, result.output
    assert f"`{lines[0]}`" in (ROOT / "README.md").read_text(encoding="utf-8")
