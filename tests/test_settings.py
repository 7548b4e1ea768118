"""Settings: the example file is the defaults, every key is documented, bad files stop with one line."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from bot.cli import main as cli_main
from domain.settings import Settings, SettingsError, load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _example() -> dict:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf field of a settings model, as a path of keys."""
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            paths += _fields(kind, prefix + (name,))
        else:
            paths.append(prefix + (name,))
    return paths


# ---- the example file ---------------------------------------------------------------------------

def test_example_file_values_are_the_defaults():
    assert parse_settings(_example()) == Settings()


def test_every_setting_appears_in_the_example_file():
    example = _example()
    missing = []
    for path in _fields(Settings):
        node = example
        for key in path:
            if not isinstance(node, dict) or key not in node:
                missing.append(".".join(path))
                break
            node = node[key]
    assert missing == [], f"settings missing from config.example.toml: {missing}"


def test_example_file_has_no_section_beyond_the_settings():
    sections = {k for k, v in _example().items() if isinstance(v, dict)}
    models = {p[0] for p in _fields(Settings) if len(p) > 1}
    assert sections == models


# ---- which file is read -------------------------------------------------------------------------

def test_no_file_and_no_env_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHANGLIANG_CONFIG", raising=False)
    assert load_settings() == Settings()


def test_config_toml_in_the_working_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHANGLIANG_CONFIG", raising=False)
    _write(tmp_path, '[server]\nport = 8123\n')
    assert load_settings().server.port == 8123


def test_env_variable_selects_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, '[server]\nport = 8123\n')  # ignored: the env names another file
    chosen = _write(tmp_path, '[server]\nport = 9321\n[wechat]\ntoken = "from-env"\n', "other.toml")
    monkeypatch.setenv("SHANGLIANG_CONFIG", str(chosen))
    settings = load_settings()
    assert settings.server.port == 9321
    assert settings.wechat.token == "from-env"


def test_explicit_path_wins_over_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHANGLIANG_CONFIG", str(_write(tmp_path, '[server]\nport = 9321\n', "env.toml")))
    explicit = _write(tmp_path, '[server]\nport = 9400\n', "explicit.toml")
    assert load_settings(explicit).server.port == 9400


def test_env_naming_a_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SHANGLIANG_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings()


def test_explicit_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SHANGLIANG_CONFIG", raising=False)
    with pytest.raises(SettingsError, match="nope.toml"):
        load_settings(tmp_path / "nope.toml")


# ---- bad files: one line naming the key ---------------------------------------------------------

def test_bad_toml_is_one_line(tmp_path):
    path = _write(tmp_path, "[rules\nquorum_ratio = \n")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message


def test_file_not_utf8_is_a_settings_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes('[wechat]\ntoken = "村"\n'.encode("gbk"))
    with pytest.raises(SettingsError):
        load_settings(path)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[webhook]\nmax_body_bytes = "big"\n', "[webhook] max_body_bytes"),
        ('[server]\nport = 70000\n', "[server] port"),
        ('[wechat]\nuse_stable_token = "maybe"\n', "[wechat] use_stable_token"),
        ('[wechat]\naccount_type = "enterprise"\n', "[wechat] account_type"),
        ('[wechat]\napi_base_url = "api.weixin.qq.com"\n', "[wechat] api_base_url"),
        ('[rules]\nquorom_ratio = "2/3"\n', "[rules] quorom_ratio"),
        ('[dialog]\nttl_seconds = 60\n', "dialog"),
        ('[wechat]\nencoding_aes_key = "tooshort"\n', "[wechat] encoding_aes_key"),
        ('[wechat]\nencoding_aes_key = "' + "A" * 44 + '"\n', "[wechat] encoding_aes_key"),
        ('[rules]\nquorum_ratio = "3/2"\n', "[rules] quorum_ratio"),
        ('[rules]\nquorum_ratio = "abc"\n', "[rules] quorum_ratio"),
        ('[rules]\nquorum_ratio = "1/0"\n', "[rules] quorum_ratio"),
        ('[rules]\nquorum_ratio = true\n', "[rules] quorum_ratio"),
        ('[rules]\npublic_servant_max_ratio = -0.2\n', "[rules] public_servant_max_ratio"),
        ('timezone = "Mars/Olympus_Mons"\n', "timezone"),
    ],
    ids=["type", "range", "bool", "choice", "url", "typo", "section-typo", "aes-short", "aes-long",
         "ratio-above-one", "ratio-text", "ratio-zero-div", "ratio-bool", "ratio-negative", "timezone"],
)
def test_bad_value_names_the_key_in_one_line(tmp_path, toml, key):
    with pytest.raises(SettingsError) as info:
        load_settings(_write(tmp_path, toml))
    message = str(info.value)
    assert message.startswith(f"setting {key}:"), message
    assert "\n" not in message


def test_unknown_key_says_typo(tmp_path):
    with pytest.raises(SettingsError, match=r"\[rules\] quorom_ratio: unknown key \(typo\?\)"):
        load_settings(_write(tmp_path, '[rules]\nquorom_ratio = "2/3"\n'))


def test_aes_key_empty_or_43_chars_accepted(tmp_path):
    assert not load_settings(_write(tmp_path, '[wechat]\nencoding_aes_key = ""\n')).wechat.safe_mode
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    settings = load_settings(_write(tmp_path, f'[wechat]\nencoding_aes_key = "{key}"\n'))
    assert settings.wechat.safe_mode and settings.wechat.encoding_aes_key == key


def test_ratios_read_as_fraction_or_decimal(tmp_path):
    settings = load_settings(_write(tmp_path, '[rules]\nquorum_ratio = "3/4"\nconsensus_ratio = 0.9\n'))
    assert settings.rules.quorum_ratio == Fraction(3, 4)
    assert settings.rules.consensus_ratio == Fraction(9, 10)


def test_with_overrides_validates_too():
    with pytest.raises(SettingsError, match=r"\[rules\] council_min_members"):
        Settings().with_overrides(rules={"council_min_members": 0})


# ---- the numbers of the rulebooks are settings (docs/rules.md: defaults, never literals) ---------

def _rules_from(tmp_path: Path, body: str):
    return load_settings(_write(tmp_path, "[rules]\n" + body)).rules


def test_r_org_4_member_limits_and_public_servant_share_are_settings(tmp_path):
    rules = Settings().rules
    assert (rules.council_min_members, rules.council_max_members) == (10, 30)
    assert rules.public_servant_max_ratio == Fraction(1, 5)
    local = _rules_from(tmp_path, 'council_min_members = 7\ncouncil_max_members = 25\n'
                                  'public_servant_max_ratio = "1/4"\n')
    assert (local.council_min_members, local.council_max_members, local.public_servant_max_ratio) == (
        7, 25, Fraction(1, 4))


def test_r_topic_6_notice_days_is_a_setting(tmp_path):
    assert Settings().rules.topic_notice_days == 7
    assert _rules_from(tmp_path, "topic_notice_days = 10\n").topic_notice_days == 10


def test_r_topic_7_consultations_per_year_is_a_setting(tmp_path):
    assert Settings().rules.consult_max_per_year == 2
    assert _rules_from(tmp_path, "consult_max_per_year = 3\n").consult_max_per_year == 3
    assert _rules_from(tmp_path, "reconsult_max_per_year = 1\n").consult_max_per_year == 1  # the old key still reads


def test_r_meet_1_cadence_is_a_setting(tmp_path):
    rules = Settings().rules
    assert (rules.village_meeting_interval_months, rules.township_meeting_interval_months,
            rules.meetings_min_per_year) == (2, 6, 2)
    local = _rules_from(tmp_path, "village_meeting_interval_months = 3\nmeetings_min_per_year = 4\n")
    assert (local.village_meeting_interval_months, local.meetings_min_per_year) == (3, 4)


def test_r_meet_3_quorum_ratio_is_a_setting(tmp_path):
    assert Settings().rules.quorum_ratio == Fraction(2, 3)
    assert _rules_from(tmp_path, 'quorum_ratio = "3/4"\n').quorum_ratio == Fraction(3, 4)


def test_r_meet_4_stakeholder_share_is_a_setting(tmp_path):
    assert Settings().rules.stakeholder_min_ratio == Fraction(1, 2)
    assert _rules_from(tmp_path, "stakeholder_min_ratio = 0.6\n").stakeholder_min_ratio == Fraction(3, 5)


def test_r_meet_6_speaking_limits_are_settings(tmp_path):
    rules = Settings().rules
    assert (rules.speak_max_times, rules.speak_max_minutes) == (2, 5)
    local = _rules_from(tmp_path, "speak_max_times = 3\nspeak_max_minutes = 4\n")
    assert (local.speak_max_times, local.speak_max_minutes) == (3, 4)


def test_r_meet_7_consensus_thresholds_are_settings(tmp_path):
    rules = Settings().rules
    assert rules.basic_consensus_ratio < rules.consensus_ratio <= 1
    local = _rules_from(tmp_path, 'consensus_ratio = "9/10"\nbasic_consensus_ratio = "3/5"\n')
    assert (local.consensus_ratio, local.basic_consensus_ratio) == (Fraction(9, 10), Fraction(3, 5))


def test_r_res_2_result_notice_days_is_a_setting(tmp_path):
    assert Settings().rules.result_notice_days == 7
    assert _rules_from(tmp_path, "result_notice_days = 14\n").result_notice_days == 14


# ---- the command line ---------------------------------------------------------------------------

def test_cli_bad_config_prints_one_line_and_fails(tmp_path):
    path = _write(tmp_path, '[rules]\nquorum_ratio = "3/2"\n')
    result = CliRunner().invoke(cli_main, ["--config", str(path), "db", "upgrade"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: setting [rules] quorum_ratio:")


def test_cli_missing_config_prints_one_line_and_fails(tmp_path):
    result = CliRunner().invoke(cli_main, ["--config", str(tmp_path / "nope.toml"), "db", "upgrade"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: config file"), result.output


def test_cli_reads_config_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHANGLIANG_CONFIG", str(_write(tmp_path, "[server]\nport = 0\n")))
    result = CliRunner().invoke(cli_main, ["db", "upgrade"])
    assert result.exit_code != 0
    assert "Error: setting [server] port:" in result.output
