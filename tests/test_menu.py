"""The menu file: WeChat's limits checked with one clear line; every key runs its keyword's handler when
tapped (a CLICK event through the webhook); an unknown key gets the short help."""

from __future__ import annotations

import pytest

from bot.cli.menu import EXAMPLE_MENU, load_menu_file
from bot.menu import MenuError, parse_menu
from handlers import load_routes, router
from handlers.router import MENU_KEY_PREFIX
from tests.topic_world import build

CONFIG = load_menu_file(EXAMPLE_MENU)
# The reply each keyword of the example menu gives in an empty 东风村 (a convenor taps the role menu).
EXPECTED = {
    "我要提议": "请用一两句话说说想商量什么事", "我的议题": "您还没有提过或联名过议题", "通知": "现在没有正在公示的通知",
    "投票": "现在没有您可以参加的投票", "问卷": "现在没有需要您填写的问卷", "签到": "请写上会场里的会议码",
    "我的": "所在村（社区）：东风村", "帮助": "您可以发送：", "待审": "现在没有等您处理的议题",
    "到会": "您今天没有要主持的会议", "开会": "您今天没有要主持的会议", "表决": "您今天没有要主持的会议",
    "发布通知": "请在“发布通知”后面写上通知内容", "送达": "您还没有发布过通知",
}
VILLAGER = sorted({leaf.keyword for leaf in CONFIG.menu.leaves()})
ROLE = sorted({leaf.keyword for leaf in CONFIG.role_menu.leaves()} - set(VILLAGER))


def _tap(bot, openid: str, key: str) -> str:
    result = bot.post(bot.pusher.click(openid, key))
    assert result.status == 200
    return result.text or ""


def test_every_example_button_runs_a_keyword_with_a_handler_and_has_a_test():
    load_routes()
    leaves = CONFIG.menu.leaves() + CONFIG.role_menu.leaves()
    assert all(leaf.key == MENU_KEY_PREFIX + leaf.keyword for leaf in leaves)  # no VIEW or foreign key here
    for leaf in leaves:
        route = router.keyword_route(leaf.keyword)
        assert route is not None, leaf
        assert router.match(leaf.keyword)[0] is route  # the same handler as the keyword typed alone
    assert set(VILLAGER) | set(ROLE) == set(EXPECTED)


@pytest.mark.parametrize("keyword", VILLAGER)
def test_villager_menu_key_tapped_gives_the_keyword_reply(bot, db, keyword):
    build(db)
    tapped = _tap(bot, "u-zhang", MENU_KEY_PREFIX + keyword)
    assert EXPECTED[keyword] in tapped
    if keyword != "我要提议":  # read-only keywords: the same answer as typing the keyword
        assert bot.send("u-zhang", keyword) == tapped


@pytest.mark.parametrize("keyword", ROLE)
def test_role_menu_key_tapped_by_a_convenor_gives_the_keyword_reply(bot, db, keyword):
    build(db)
    assert EXPECTED[keyword] in _tap(bot, "c-v1", MENU_KEY_PREFIX + keyword)


def test_role_menu_key_tapped_by_a_villager_is_refused_in_words(bot, db):
    build(db)
    reply = _tap(bot, "u-zhang", "KW_待审")
    assert "召集人" in reply and "待审" in reply and "现在没有等您处理的议题" not in reply  # who may, in words


def test_tapping_propose_starts_the_dialog_and_my_topics_then_lists_it(bot, db):
    build(db)
    _tap(bot, "u-zhang", "KW_我要提议")
    reply = bot.send("u-zhang", "村口的桥栏杆坏了，孩子上学不安全")
    for answer in ("没有", "确认"):  # the dialog may ask for details, then for confirmation
        if "已登记" not in reply:
            reply = bot.send("u-zhang", answer)
    assert "已登记" in reply
    assert "村口的桥" in _tap(bot, "u-zhang", "KW_我的议题")


def test_tap_inside_a_dialog_asks_whether_to_leave_like_typing(bot, db):
    build(db)
    _tap(bot, "u-zhang", "KW_我要提议")
    reply = _tap(bot, "u-zhang", "KW_投票")
    assert "要离开去办“投票”吗" in reply
    assert "现在没有您可以参加的投票" in bot.send("u-zhang", "是")


@pytest.mark.parametrize("key", ["NO_SUCH_KEY", "KW_没有这个词", "KW_绑定 AB3CD5EF7G", "KW_", ""])
def test_unknown_menu_key_gets_the_short_help(bot, db, key):
    build(db)
    reply = _tap(bot, "u-zhang", key)
    assert reply.startswith("这个菜单按钮现在用不了") and "发送“帮助”查看全部用法" in reply
    assert len(reply.splitlines()) <= 3


def test_old_keys_help_and_mine_still_work(bot, db):
    build(db)
    assert "您可以发送" in _tap(bot, "u-zhang", "HELP")
    assert "东风村" in _tap(bot, "u-zhang", "MINE")


# ---- the file and WeChat's limits ---------------------------------------------------------------------

def _menu(*buttons: str, role: str = "") -> str:
    text = "".join(f"[[menu.button]]\n{b}\n" for b in buttons)
    return text + (f"[[role_menu.button]]\n{role}\n" if role else "")


def _subs(*names: str) -> str:
    return 'name = "组"\nsub_button = [' + ", ".join(f'{{ name = "{n}", keyword = "帮助" }}' for n in names) + "]"


@pytest.mark.parametrize(("text", "words"), [
    (_menu(*['name = "帮助"\nkeyword = "帮助"'] * 4), "有 4 个按钮，微信最多 3 个"),
    (_menu(_subs(*"一二三四五六")), "村民菜单第1个按钮“组”：有 6 个子按钮，微信最多 5 个"),
    (_menu('name = "一二三四五六"\nkeyword = "帮助"'), "第1个按钮“一二三四五六”：名称 18 字节，超过微信上限 16 字节"),
    (_menu('name = "abcdefghijklmnopq"\nkeyword = "帮助"'), "名称 17 字节，超过微信上限 16 字节"),
    (_menu(_subs("x" * 61)), "的第1个子按钮“" + "x" * 61 + "”：名称 61 字节，超过微信上限 60 字节"),
    (_menu(f'name = "k"\nkey = "{"K" * 129}"'), "按钮 key 129 字节，超过微信上限 128 字节"),
    (_menu('name = "网页"\nurl = "www.example.cn"'), "链接要以 http:// 或 https:// 开头"),
    (_menu(f'name = "网页"\nurl = "https://x.cn/{"a" * 1012}"'), "链接 1025 字节，超过微信上限 1024 字节"),
    (_menu('name = "乱"\nkeyword = "没有这个词"'), "关键词“没有这个词”没有对应的功能"),
    (_menu('name = "两样"\nkeyword = "帮助"\nurl = "https://x.cn"'), "keyword、key、url、sub_button 要写且只写一个"),
    (_menu('name = "错字"\nkeywrod = "帮助"'), "不认识的字段 keywrod"),
    (_menu('name = "帮助"\nkeyword = "帮助"', role=_subs(*"一二三四五六")), "召集人等的菜单第1个按钮“组”：有 6 个子按钮"),
    ("[menu]\n", "[menu]（村民菜单）：要有 1 到 3 个"),
    ("[menu\n", "不是有效的 TOML"),
])
def test_a_menu_wechat_would_refuse_is_one_line_naming_the_button(text, words):
    load_routes()
    with pytest.raises(MenuError) as exc:
        parse_menu(text, "m.toml", lambda w: router.keyword_route(w) is not None)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_a_menu_exactly_at_wechats_limits_is_accepted():
    subs = ", ".join(f'{{ name = "{"子" * 20}", key = "{"K" * 128}" }}' for _ in range(5))
    button = f'name = "{"一二三四五"}a"\nsub_button = [{subs}]'
    config = parse_menu(_menu(button, button, f'name = "网页"\nurl = "https://x.cn/{"a" * 1011}"'))
    assert len(config.menu.buttons) == 3 and len(config.menu.buttons[0].subs) == 5
    assert len(config.menu.to_wechat()["button"][2]["url"].encode()) == 1024
