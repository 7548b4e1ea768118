"""Attacks on the supervisors' view and the participation record (R-RES-7, R-ORG-6): another township's code in
any spelling, SQL-ish and very long codes, an office holder who is a villager elsewhere, 我的履职 from an
unbound follower, ``shangliang supervise --by`` someone without the role."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.orgs import people
from domain.orgs import tree as orgs
from models import Organisation, Role
from tests.test_supervision import world  # noqa: F401 - the fixture: township t1 (v1, v2) and t2 (v3)
from tests.topic_world import person, run_cli, who

WECHAT_REPLY_BYTES = 2048


def test_r_res_7_another_townships_code_in_any_spelling_reveals_nothing(bot, db, world):  # noqa: F811
    for text in ("监督 v3", "监督  v3 ", "监督　v3", "监督 ｖ３", "监督 v3 详情", "监督 v3\n", "监督情况 v3"):
        reply = bot.send("o-t1", text)
        assert "没有代码为 v3 的组织" in reply, (text, reply)
        assert "三河村" not in reply and "何六" not in reply
    assert bot.send("o-t1", "监督 nope").replace("nope", "v3") == bot.send("o-t1", "监督 v3")  # same words
    assert "没有代码为 c1 的组织" in bot.send("o-t1", "监督 c1")  # its own parent is not below it


def test_r_res_7_sql_ish_and_very_long_codes_get_a_short_refusal(bot, db, world):  # noqa: F811
    before = db.scalar(select(func.count()).select_from(Organisation))
    for code in ("'", "v1'--", "v1';DROP TABLE organisations;--", "%", "v_", "' OR '1'='1", "x" * 3990,
                 "东" * 1500, "<xml>]]></xml>"):
        reply = bot.send("o-t1", f"监督 {code}")
        assert reply and "没有代码为" in reply, (code[:20], reply[:200])
        assert len(reply.encode()) <= WECHAT_REPLY_BYTES, (code[:20], len(reply.encode()))
        assert "东风村（v1）监督详情" not in reply and "发送“监督”查看全部" in reply  # the hint is not cut off
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Organisation)) == before
    assert "幸福镇监督情况：下属 2 个" in bot.send("o-t1", "监督")


def test_r_res_7_an_office_holder_who_is_a_villager_elsewhere_sees_only_the_office(bot, db, world):  # noqa: F811
    mixed = person(db, "o-t2-v1", "两边人", orgs.get_org(db, "v1"))  # a villager of 东风村 (township t1) ...
    people.grant_role(db, mixed, orgs.get_org(db, "t2"), Role.UPPER_OFFICE)  # ... in the office of township t2
    db.commit()
    mine = bot.send("o-t2-v1", "监督")
    assert "河西镇监督情况：下属 1 个" in mine and "东风村" not in mine and "红旗村" not in mine
    for code in ("v1", "v2", "t1"):
        assert f"没有代码为 {code} 的组织" in bot.send("o-t2-v1", f"监督 {code}")
    assert "三河村（v3）监督详情" in bot.send("o-t2-v1", "监督 v3")
    people.revoke_role(db, who(db, "o-t2-v1"), orgs.get_org(db, "t2"), Role.UPPER_OFFICE)
    db.commit()
    assert "您没有这项权限" in bot.send("o-t2-v1", "监督")
    assert "您没有这项权限" in bot.send("o-t2-v1", "监督 v3")


def test_r_org_6_my_record_from_an_unbound_follower(bot, db, world):  # noqa: F811
    reply = bot.send("u-stranger", "我的履职")
    assert reply and "出错" not in reply
    assert "还没有绑定" in reply and "的履职记录（" not in reply  # nothing to show: how to bind instead
    office = bot.send("o-t1", "我的履职")  # an office holder bound to no village still has a record
    assert "镇协商办的履职记录" in office


def test_r_res_7_supervise_by_someone_without_the_role_writes_nothing(db, services, world, tmp_path):  # noqa: F811
    out = tmp_path / "x.xlsx"

    def supervise(org, by):
        return run_cli(services, tmp_path, "supervise", "--org", org, "--out", str(out), "--by", by)

    for by, words in (("u-zhang", "只有幸福镇的上级办公室人员"), ("c-v1", "只有幸福镇的上级办公室人员"),
                      ("o-t2", "只有幸福镇的上级办公室人员"), ("nobody", "找不到用户 nobody"),
                      ("' OR 1=1 --", "找不到用户")):
        refused = supervise("t1", by)
        assert refused.exit_code != 0 and words in refused.output, (by, refused.output)
        assert "Traceback" not in refused.output and not out.exists()
    people.revoke_role(db, who(db, "o-t1"), orgs.get_org(db, "t1"), Role.UPPER_OFFICE)
    db.commit()
    revoked = supervise("t1", "o-t1")
    assert revoked.exit_code != 0 and "只有幸福镇的上级办公室人员" in revoked.output and not out.exists()
    county = supervise("t1", "o-c1")  # the county office supervises everything below it (X-15), t1's villages too
    assert county.exit_code == 0 and "（2 个组织）" in county.output, county.output
