"""The ``shangliang`` administration commands, run with click's CliRunner against the test database."""

from __future__ import annotations

import json
import re
import secrets

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from domain.orgs import people
from domain.orgs import tree as orgs
from models import Organisation, Person, Role, RoleGrant
from models.migrate import current_heads


def _toml(value: str) -> str:
    return json.dumps(value)  # a TOML basic string for plain ASCII values


def _config(tmp_path, database_url: str, settings) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        "[database]\n"
        f"url = {_toml(database_url)}\n"
        "[redis]\n"
        f"url = {_toml(settings.redis.url)}\n"
        f"key_prefix = {_toml(settings.redis.key_prefix)}\n"
        "[wechat]\n"
        f"api_base_url = {_toml(settings.wechat.api_base_url)}\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture
def cli(services, tmp_path):
    """Run ``shangliang --config <test config> ...``; returns click's Result."""
    config = _config(tmp_path, services.settings.database.url, services.settings)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--config", config, *args], catch_exceptions=False)

    return run


def _ok(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if line.strip()]


def _error(result) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


def _invite_in(line: str) -> str:
    match = re.search(r"邀请码[:：]?\s*([A-Z0-9]{10})", line)
    assert match, line
    return match.group(1)


@pytest.fixture
def township_and_village(cli):
    _ok(cli("org", "add", "--code", "t1", "--name", "幸福镇", "--kind", "township"))
    _ok(cli("org", "add", "--code", "v1", "--name", "东风村", "--kind", "village", "--parent", "t1"))


# ---- org add -----------------------------------------------------------------------------------------

def test_org_add_township_and_village(cli, db):
    lines = _ok(cli("org", "add", "--code", "t1", "--name", "幸福镇", "--kind", "township"))
    assert lines[0].startswith("已添加 t1 幸福镇")
    invite = _invite_in(lines[0])
    lines = _ok(cli("org", "add", "--code", "v1", "--name", "东风村", "--kind", "village", "--parent", "t1",
                    "--platform", "joint_room"))
    village = orgs.get_org(db, "v1")
    assert village.parent.code == "t1" and village.platform_kind.value == "joint_room"
    assert orgs.get_org(db, "t1").invite_code == invite
    assert _invite_in(lines[0]) == village.invite_code


def test_org_add_bad_code_is_one_clear_line(cli, db):
    line = _error(cli("org", "add", "--code", "a b", "--name", "坏代码", "--kind", "township"))
    assert "组织代码只能用字母、数字和连字符" in line
    assert db.scalar(select(func.count()).select_from(Organisation)) == 0


def test_org_add_village_without_parent_is_refused(cli, db):
    line = _error(cli("org", "add", "--code", "v1", "--name", "东风村", "--kind", "village"))
    assert line == "Error: 村不能放在顶层下面。"
    assert db.scalar(select(func.count()).select_from(Organisation)) == 0


def test_org_add_unknown_parent_is_refused(cli):
    assert "没有代码为 t9 的组织" in _error(
        cli("org", "add", "--code", "v1", "--name", "东风村", "--kind", "village", "--parent", "t9"))


def test_org_add_duplicate_code_is_refused(cli, township_and_village):
    line = _error(cli("org", "add", "--code", "t1", "--name", "又一个镇", "--kind", "township"))
    assert line == "Error: 组织代码 t1 已经存在。"


def test_org_add_unknown_kind_is_a_usage_error(cli):
    result = cli("org", "add", "--code", "x1", "--name", "x", "--kind", "kingdom")
    assert result.exit_code == 2 and "kingdom" in result.output


# ---- org list / invite / show -----------------------------------------------------------------------------

def test_org_list_empty(cli):
    assert _ok(cli("org", "list")) == ["（还没有组织。用 shangliang org add 添加。）"]


def test_org_list_shows_the_tree_indented(cli, township_and_village):
    _ok(cli("org", "add", "--code", "t2", "--name", "和平街道", "--kind", "street"))
    _ok(cli("org", "add", "--code", "c1", "--name", "光明社区", "--kind", "community", "--parent", "t2"))
    lines = _ok(cli("org", "list"))
    assert [line.split()[0] for line in lines] == ["t1", "v1", "t2", "c1"]
    assert lines[0].startswith("t1") and lines[1].startswith("  v1")
    assert lines[2].startswith("t2") and lines[3].startswith("  c1")
    assert "东风村（村）" in lines[1] and "光明社区（社区）" in lines[3]
    under = _ok(cli("org", "list", "--org", "t2"))
    assert [line.split()[0] for line in under] == ["t2", "c1"]


def test_org_invite_and_rotate(cli, township_and_village, db):
    lines = _ok(cli("org", "invite", "--org", "v1"))
    old = _invite_in(lines[0])
    assert f"绑定 {old}" in lines[1] and f"b_{old}" in lines[2]
    again = _invite_in(_ok(cli("org", "invite", "--org", "v1"))[0])
    assert again == old  # showing does not change it
    new = _invite_in(_ok(cli("org", "invite", "--org", "v1", "--rotate"))[0])
    assert new != old
    assert orgs.find_by_invite(db, old) is None
    assert orgs.find_by_invite(db, new).code == "v1"


def test_org_invite_unknown_org(cli):
    assert "没有代码为 nope 的组织" in _error(cli("org", "invite", "--org", "nope"))


def test_org_show_lists_composition_problems(cli, township_and_village, db):
    lines = _ok(cli("org", "show", "--org", "v1"))
    assert lines[0] == "v1 东风村（村）"
    assert any("成员只有 0 人，少于 10 人。" in line for line in lines)
    assert any("还没有召集人。" in line for line in lines)
    village = orgs.get_org(db, "v1")
    people.grant_role(db, people.ensure_person(db, "conv"), village, Role.CONVENOR)
    for n in range(10):
        member = people.ensure_person(db, f"m{n}")
        member.real_name = f"成员{n}"
        people.grant_role(db, member, village, Role.MEMBER, public_servant=n < 3)
    db.commit()
    lines = _ok(cli("org", "show", "--org", "v1"))
    assert any("成员 10 人，其中公职人员 3 人" in line for line in lines)
    assert any("公职人员 3 人，超过成员的 1/5。" in line for line in lines)
    assert not any("召集人。" in line and "还没有" in line for line in lines)
    assert any(line.strip().startswith("议事会成员：成员0、") for line in lines)


# ---- people and roles ------------------------------------------------------------------------------------

def test_person_add_with_and_without_openid(cli, township_and_village, db):
    line = _ok(cli("person", "add", "--org", "v1", "--name", "张秀英", "--phone", "13800000000"))[0]
    number = int(re.search(r"编号 (\d+)", line).group(1))
    assert line == f"已登记 张秀英（编号 {number}）到 东风村。"
    roster_only = db.get(Person, number)
    assert roster_only.openid is None and roster_only.phone == "13800000000"
    assert roster_only.home_org.code == "v1" and roster_only.subscribed is False
    _ok(cli("person", "add", "--org", "v1", "--name", "李四", "--openid", "o-lisi"))
    follower = people.find_person(db, "o-lisi")
    assert follower.real_name == "李四" and follower.home_org.code == "v1"


def test_role_grant_and_revoke(cli, township_and_village, db):
    _ok(cli("person", "add", "--org", "v1", "--name", "王书记", "--openid", "o-wang"))
    line = _ok(cli("role", "grant", "--org", "v1", "--person", "o-wang", "--role", "convenor"))[0]
    assert line == "已授予 王书记 东风村召集人身份。"
    assert "已经是东风村的召集人" in _error(
        cli("role", "grant", "--org", "v1", "--person", "o-wang", "--role", "convenor"))
    line = _ok(cli("role", "revoke", "--org", "v1", "--person", "o-wang", "--role", "convenor"))[0]
    assert line == "已撤销 王书记 的东风村召集人身份。"
    assert "不是东风村的召集人" in _error(
        cli("role", "revoke", "--org", "v1", "--person", "o-wang", "--role", "convenor"))
    grants = db.scalars(select(RoleGrant)).all()
    assert len(grants) == 1 and grants[0].revoked_at is not None  # kept as history


def test_role_grant_by_person_id_with_public_servant_flag(cli, township_and_village, db):
    line = _ok(cli("person", "add", "--org", "v1", "--name", "赵干部"))[0]
    number = re.search(r"编号 (\d+)", line).group(1)
    _ok(cli("role", "grant", "--org", "v1", "--person", number, "--role", "member", "--public-servant"))
    grant = db.scalar(select(RoleGrant))
    assert grant.person_id == int(number) and grant.role is Role.MEMBER and grant.public_servant


def test_role_grant_unknown_person_or_role(cli, township_and_village):
    assert "找不到用户 nobody" in _error(cli("role", "grant", "--org", "v1", "--person", "nobody",
                                              "--role", "member"))
    result = cli("role", "grant", "--org", "v1", "--person", "nobody", "--role", "king")
    assert result.exit_code == 2


# ---- demo and database -------------------------------------------------------------------------------------

def test_demo_seed_is_idempotent_and_prints_invite_codes(cli, db):
    first = _ok(cli("demo", "seed"))
    counts = (db.scalar(select(func.count()).select_from(Organisation)),
              db.scalar(select(func.count()).select_from(Person)),
              db.scalar(select(func.count()).select_from(RoleGrant)))
    assert counts[0] == 4
    codes = {orgs.get_org(db, "demo-v1").invite_code, orgs.get_org(db, "demo-v2").invite_code}
    printed = {_invite_in(line) for line in first if "）邀请码：" in line}
    assert printed == codes
    second = _ok(cli("demo", "seed"))
    db.expire_all()
    assert (db.scalar(select(func.count()).select_from(Organisation)),
            db.scalar(select(func.count()).select_from(Person)),
            db.scalar(select(func.count()).select_from(RoleGrant))) == counts
    assert {_invite_in(line) for line in second if "）邀请码：" in line} == codes
    lines = _ok(cli("org", "show", "--org", "demo-v1"))
    assert any("组成符合规定" in line for line in lines), lines


def test_db_upgrade_on_an_empty_database(services, server_urls, tmp_path):
    server = server_urls[0]
    name = f"sl_cli_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        config = _config(tmp_path, url, services.settings)
        result = CliRunner().invoke(main, ["--config", config, "db", "upgrade"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "数据库已是最新结构" in result.output
        assert current_heads(url)  # the schema is at a revision
        again = CliRunner().invoke(main, ["--config", config, "db", "upgrade"], catch_exceptions=False)
        assert again.exit_code == 0, again.output
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
