"""The stand-in's menu API with WeChat's checks and errcodes, `shangliang menu`, the role tag kept in step with
grants, the conditional menu it selects, and `/menu` in the terminal chat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cli.menu import EXAMPLE_MENU, load_menu_file, publish
from bot.wechat import WeChatError
from bot.wechat_role_tag import find_role_tag
from bot.wechat_tags import sync_tags
from domain.notices.role_tag import ROLE_TAG_NAME
from fakewechat.chat import run_chat
from tests.topic_world import build, run_cli

CONFIG = load_menu_file(EXAMPLE_MENU)
CLICK = {"type": "click", "name": "帮助", "key": "KW_帮助"}


def _click(name: str = "帮助", key: str = "KW_帮助") -> dict:
    return {"type": "click", "name": name, "key": key}


def _refused(call) -> int:
    with pytest.raises(WeChatError) as exc:
        call()
    return int(exc.value.errcode or 0)


@pytest.mark.parametrize(("menu", "errcode"), [
    ({"button": [CLICK] * 4}, 40016),
    ({"button": []}, 40016),
    ({"button": [{"name": "组", "sub_button": [CLICK] * 6}]}, 40023),
    ({"button": [_click("abcdefghijklmnopq")]}, 40018),  # 17 bytes
    ({"button": [_click("一二三四五六")]}, 40018),  # 18 bytes
    ({"button": [{"name": "组", "sub_button": [_click("x" * 61)]}]}, 40018),
    ({"button": [_click(key="K" * 129)]}, 40019),
    ({"button": [{"name": "组", "sub_button": [_click(key="K" * 129)]}]}, 40026),
    ({"button": [{"type": "view", "name": "网页", "url": "https://x.cn/" + "a" * 1012}]}, 40020),
    ({"button": [{"type": "view", "name": "网页", "url": "www.x.cn"}]}, 40055),
    ({"button": [{"name": "组", "sub_button": [{"type": "view", "name": "网页", "url": "x.cn"}]}]}, 40054),
    ({"button": [{"name": "无类型", "key": "K"}]}, 40017),
    ({"button": [{"name": "组", "sub_button": [{"type": "jump", "name": "乱", "key": "K"}]}]}, 40024),
])
def test_standin_refuses_a_menu_with_wechats_errcode(services, fake_wechat, menu, errcode):
    assert _refused(lambda: services.wechat.menu_create(menu)) == errcode
    assert services.wechat.menu_get() is None  # nothing was installed


def test_standin_accepts_a_menu_exactly_at_the_limits(services, fake_wechat):
    subs = [_click("子" * 20, "K" * 128)] * 5
    menu = {"button": [{"name": "一二三四五a", "sub_button": subs}] * 2
            + [{"type": "view", "name": "网页", "url": "https://x.cn/" + "a" * 1011}]}
    services.wechat.menu_create(menu)
    assert services.wechat.menu_get() == {"menu": menu}


def test_standin_conditional_menu_checks(services, fake_wechat):
    wechat = services.wechat
    tag = int(wechat.post("tags/create", data={"tag": {"name": "某标签"}})["tag"]["id"])
    assert _refused(lambda: wechat.menu_add_conditional({"button": [CLICK]}, tag)) == 65303  # no default menu yet
    wechat.menu_create({"button": [CLICK]})
    assert _refused(lambda: wechat.post("menu/addconditional", data={"button": [CLICK], "matchrule": {}})) == 65304
    assert _refused(lambda: wechat.post("menu/addconditional",
                                        data={"button": [CLICK], "matchrule": {"sex": "1"}})) == 65320
    assert _refused(lambda: wechat.menu_add_conditional({"button": [CLICK]}, 99999)) == 45159
    assert _refused(lambda: wechat.menu_add_conditional({"button": [CLICK] * 4}, tag)) == 40016
    assert _refused(lambda: wechat.menu_del_conditional("12345")) == 65301
    menu_id = wechat.menu_add_conditional({"button": [_click("召集人")]}, tag)
    held = wechat.menu_get()
    assert held["conditionalmenu"] == [{"button": [_click("召集人")], "matchrule": {"tag_id": str(tag)},
                                        "menuid": int(menu_id)}]
    assert held["menu"]["button"] == [CLICK] and held["menu"]["menuid"]
    wechat.menu_del_conditional(menu_id)
    assert wechat.menu_get() == {"menu": {"button": [CLICK]}}
    fake_wechat.unfollow("o-gone")
    assert _refused(lambda: wechat.menu_try_match("o-gone")) == 65302


# ---- shangliang menu ----------------------------------------------------------------------------------

def test_publish_then_show_round_trip_and_delete(services, fake_wechat, db, tmp_path):
    build(db)
    result = run_cli(services, tmp_path, "menu", "publish", "--file", str(EXAMPLE_MENU))
    assert result.exit_code == 0, result.output
    assert "已发布村民菜单（8 个按钮）" in result.output and "已发布召集人等的菜单" in result.output
    role_tag = find_role_tag(services.wechat)
    assert fake_wechat.menu["button"] == CONFIG.menu.to_wechat()["button"]
    [cond] = fake_wechat.conditional_menus
    assert cond["button"] == CONFIG.role_menu.to_wechat()["button"]
    assert cond["matchrule"] == {"tag_id": str(role_tag)}
    shown = run_cli(services, tmp_path, "menu", "show").output
    assert "村民菜单（默认菜单）：" in shown and "【商量事】" in shown and "我要提议 → 关键词“我要提议”" in shown
    assert f"给标签“{ROLE_TAG_NAME}”（{role_tag}）：" in shown and "待审议题 → 关键词“待审”" in shown
    again = run_cli(services, tmp_path, "menu", "publish", "--file", str(EXAMPLE_MENU))
    assert again.exit_code == 0 and len(fake_wechat.conditional_menus) == 1  # republished, not piled up
    assert fake_wechat.conditional_menus[0]["menuid"] != cond["menuid"]
    assert run_cli(services, tmp_path, "menu", "delete").exit_code == 0
    assert fake_wechat.menu is None and fake_wechat.conditional_menus == []
    assert "公众号现在没有菜单" in run_cli(services, tmp_path, "menu", "show").output


@pytest.mark.parametrize(("body", "words"), [
    ('[[menu.button]]\nname = "帮助"\nkeyword = "帮助"\n' * 4, "有 4 个按钮，微信最多 3 个"),
    ('[[menu.button]]\nname = "组"\nsub_button = [' + ", ".join(['{ name = "a", keyword = "帮助" }'] * 6) + "]\n",
     "村民菜单第1个按钮“组”：有 6 个子按钮"),
    ('[[menu.button]]\nname = "abcdefghijklmnopq"\nkeyword = "帮助"\n', "名称 17 字节，超过微信上限 16 字节"),
    (f'[[menu.button]]\nname = "k"\nkey = "{"K" * 129}"\n', "按钮 key 129 字节，超过微信上限 128 字节"),
])
def test_publish_of_a_bad_file_is_one_line_and_sends_nothing(services, fake_wechat, tmp_path, body, words):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    result = run_cli(services, tmp_path, "menu", "publish", "--file", str(path))
    assert result.exit_code == 1 and words in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert fake_wechat.calls(path="/cgi-bin/menu/create") == []


def test_a_wechat_refusal_is_one_cli_line(services, fake_wechat, tmp_path):
    fake_wechat.add_fault(path="/cgi-bin/menu/create", errcode=40018, times=1)
    result = run_cli(services, tmp_path, "menu", "publish", "--file", str(EXAMPLE_MENU))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: 微信拒绝了：40018 invalid button name size（按钮名称太长（一级 16 字节，子按钮 60 字节））"
    fake_wechat.add_fault(path="/cgi-bin/menu/addconditional", errcode=48001, times=1)  # e.g. not verified
    half = run_cli(services, tmp_path, "menu", "publish", "--file", str(EXAMPLE_MENU))
    assert half.exit_code == 1 and len(half.output.strip().splitlines()) == 1
    assert half.output.startswith("Error: 村民菜单已发布，召集人等的菜单没有发布：微信拒绝了：48001")
    assert fake_wechat.menu is not None and fake_wechat.conditional_menus == []
    missing = run_cli(services, tmp_path, "menu", "publish", "--file", str(tmp_path / "none.toml"))
    assert missing.exit_code == 1 and "读不到菜单文件" in missing.output and len(missing.output.splitlines()) == 1


# ---- the role tag and the menu it selects -------------------------------------------------------------

def _sync(services) -> dict[str, int]:
    return sync_tags(services, datetime.now(UTC))


def _menu_names(services, openid: str) -> list[str]:
    return [b["name"] for b in services.wechat.menu_try_match(openid)["button"]]


def test_convenors_tag_makes_trymatch_return_the_role_menu(services, fake_wechat, db):
    build(db)
    publish(services.wechat, CONFIG)
    counts = _sync(services)
    role_tag = find_role_tag(services.wechat)
    holders = {"c-v1", "c-v2", "c-t1", "p-v1", "p-v2", "p-t1", "chair-v1"}  # convenors, reviewers, the chair
    assert set(fake_wechat.directory.members(role_tag)) == holders and counts["role_tagged"] == len(holders)
    assert _menu_names(services, "c-v1") == ["议题", "开会", "通知"]
    assert _menu_names(services, "chair-v1") == ["议题", "开会", "通知"]
    assert _menu_names(services, "u-zhang") == ["商量事", "投票问卷", "更多"]  # a villager
    assert _menu_names(services, "g-v1") == ["商量事", "投票问卷", "更多"]  # a grid worker: no role menu
    assert fake_wechat.directory.user("c-v1").tag_ids[-1] == role_tag  # given after the village's tag
    assert _sync(services)["role_tagged"] == 0  # nothing to do the second time


def test_tag_sync_adds_and_removes_the_role_tag_with_grants(services, fake_wechat, db, tmp_path):
    build(db)
    publish(services.wechat, CONFIG)
    _sync(services)
    role_tag = find_role_tag(services.wechat)
    granted = run_cli(services, tmp_path, "role", "grant", "--org", "v1", "--person", "u-li", "--role", "chair")
    assert granted.exit_code == 0, granted.output
    counts = _sync(services)
    assert counts["role_tagged"] == 1 and counts["role_untagged"] == 0
    assert "u-li" in fake_wechat.directory.members(role_tag) and _menu_names(services, "u-li")[0] == "议题"
    revoked = run_cli(services, tmp_path, "role", "revoke", "--org", "v1", "--person", "u-li", "--role", "chair")
    assert revoked.exit_code == 0, revoked.output
    counts = _sync(services)
    assert counts["role_untagged"] == 1 and counts["role_tagged"] == 0
    assert "u-li" not in fake_wechat.directory.members(role_tag) and _menu_names(services, "u-li")[0] == "商量事"
    village_tag = fake_wechat.directory.user("u-li").tag_ids
    assert village_tag and role_tag not in village_tag  # the village's tag stays


def test_role_tag_is_given_again_after_a_new_village_tag(services, fake_wechat, db):
    build(db)
    publish(services.wechat, CONFIG)
    _sync(services)
    role_tag = find_role_tag(services.wechat)
    from models import Organisation, Person

    convenor = db.query(Person).filter_by(openid="c-v1").one()
    convenor.home_org_id = db.query(Organisation).filter_by(code="v2").one().id  # moves: a new village tag
    db.commit()
    counts = _sync(services)
    assert counts["tagged"] == 1 and counts["role_tagged"] == 0  # re-tagged, not a new holder
    assert fake_wechat.directory.user("c-v1").tag_ids[-1] == role_tag
    assert _menu_names(services, "c-v1") == ["议题", "开会", "通知"]


def test_an_unfollower_leaves_the_role_tag_without_an_untag_call(services, fake_wechat, db):
    build(db)
    _sync(services)
    from models import Person

    db.query(Person).filter_by(openid="p-v2").one().subscribed = False
    db.commit()
    fake_wechat.unfollow("p-v2")
    before = len(fake_wechat.calls(path="/cgi-bin/tags/members/batchuntagging"))
    assert _sync(services)["role_untagged"] == 0
    assert len(fake_wechat.calls(path="/cgi-bin/tags/members/batchuntagging")) == before


# ---- /menu in the terminal chat -----------------------------------------------------------------------

def _chat(bot, fake_url: str, openid: str, lines: list[str]) -> list[str]:
    said: list[str] = []
    feed = iter([*lines, "/quit"])
    s = bot.services.settings.wechat
    run_chat(bot.url, openid, s.token, s.app_id, fake_api_url=fake_url, input_fn=lambda _: next(feed),
             output_fn=said.append, push_wait=0)
    return said


def test_chat_menu_shows_the_users_menu_and_a_number_taps_it(bot, services, fake_wechat, fake_wechat_server, db):
    build(db)
    publish(services.wechat, CONFIG)
    _sync(services)
    said = _chat(bot, fake_wechat_server[0], "c-v1", ["/menu", "1", "/menu 5", "1"])
    text = "\n".join(said)
    assert f"菜单（{ROLE_TAG_NAME}）：" in text and "【议题】1 待审议题　2 我要提议　3 我的议题" in text
    assert "［点了菜单“待审议题”］" in text and "现在没有等您处理的议题" in text
    assert "［点了菜单“开会”］" in text and "您今天没有要主持的会议" in text
    clicks = [c["body"] for c in fake_wechat.calls(path="/cgi-bin/menu/trymatch")]
    assert clicks == []  # the chat asks the stand-in's state, not the rate-limited trymatch API
    villager = "\n".join(_chat(bot, fake_wechat_server[0], "u-zhang", ["/menu", "9", "/menu", "4"]))
    assert "菜单：" in villager and "【商量事】1 我要提议　2 我的议题　3 通知公示" in villager
    assert "没有第 9 个按钮" in villager and "［点了菜单“投票”］" in villager


def test_chat_menu_before_any_menu_is_published(bot, fake_wechat, fake_wechat_server, db):
    build(db)
    said = _chat(bot, fake_wechat_server[0], "u-zhang", ["/menu", "1"])
    assert any("公众号还没有菜单" in line for line in said)


def test_serve_publishes_the_demo_menu_to_the_standin(services, fake_wechat):
    from bot.cli.menu import publish_demo

    said: list[str] = []
    publish_demo(services, said.append)  # what `shangliang serve` does once the stand-in is up
    assert fake_wechat.menu["button"] == CONFIG.menu.to_wechat()["button"]
    assert [c["button"] for c in fake_wechat.conditional_menus] == [CONFIG.role_menu.to_wechat()["button"]]
    assert said == ["已在本地微信替身上发布示例菜单（examples/menu.toml）；聊天时发送 /menu 查看。"]
