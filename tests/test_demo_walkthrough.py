"""The README's demo walk, run as written: its chat blocks are read from README.md and sent through
the webhook as the users they name, against a freshly seeded demo, so the README cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from bot.cli.menu import EXAMPLE_MENU, load_menu_file
from bot.demo import seed_demo
from bot.demo.content import NOTICE_TITLE, open_items
from domain.orgs import people
from domain.orgs import tree as orgs
from models import PollVoter, QuestionnaireResponse, Role, Topic, TopicCosigner, TopicState
from models.base import utcnow

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Walk through the demo"
USER_LINE = re.compile(r"^\$ \.venv/bin/shangliang chat --user (\S+)$")
CONFIG = load_menu_file(EXAMPLE_MENU)
REFUSALS = ("没看懂", "权限", "不能", "找不到", "写法不对", "暂时无法", "出错")


def walkthrough_steps(text: str) -> list[tuple[str, str]]:
    """(user, message) for every `我：` line of the README's walk-through blocks, in order."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end > 0 else None]
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```text\n(.*?)```", section, flags=re.S):
        user = None
        for line in block.splitlines():
            found = USER_LINE.match(line)
            if found:
                user = found.group(1)
            elif line.startswith("我："):  # a chat line, or the client's `/menu` and the number tapped
                assert user is not None, f"a message before any `$ … chat --user` line: {line}"
                steps.append((user, line.removeprefix("我：")))
            elif line.strip():
                raise AssertionError(f"unexpected line in the walk-through: {line}")
    return steps


def test_readme_walkthrough_parses_into_the_steps_of_every_role():
    steps = walkthrough_steps(README.read_text(encoding="utf-8"))
    users = {user for user, _ in steps}
    assert {"demo-villager-1", "demo-convenor-1", "demo-party-1", "demo-town-party", "demo-follower-1-1"} <= users
    assert any(message.startswith("提议 ") for _, message in steps)


def test_readme_walkthrough_takes_a_topic_to_approved_and_answers_poll_questionnaire_notice(bot, services, db):
    seed_demo(services, echo=lambda line: None)
    invite = orgs.get_org(db, "demo-v1").invite_code
    notice = open_items(db, utcnow()).notice
    values = {"<邀请码>": invite, "<通知编号>": str(notice)}
    replies, pictures, notices_read, menu_user = [], [], [], None
    for user, message in walkthrough_steps(README.read_text(encoding="utf-8")):
        for placeholder, value in values.items():
            message = message.replace(placeholder, value)
        assert "<" not in message, f"unknown placeholder in {message}"
        if message == "/menu":  # the client shows the menu; the next line, a number, taps that button
            menu_user = user
            continue
        if menu_user == user and message.isdigit():
            result = bot.post(bot.pusher.click(user, _menu_key(db, user, int(message))))
        else:
            result = bot.post(bot.pusher.text(user, message))
        menu_user = None
        picture = (result.reply or {}).get("MsgType") == "image"
        reply = "【图片】" if picture else result.text or ""
        assert reply.strip(), (user, message)
        if message.startswith("结果 "):
            pictures.append(reply)
        if message.startswith("通知 "):
            notices_read.append(reply)
        assert not any(word in reply for word in REFUSALS), (user, message, reply)
        replies.append(reply)
        if message.startswith("提议 "):
            db.expire_all()
            proposer = people.find_by_ref(db, user)
            topic = db.scalars(select(Topic).where(Topic.proposer_id == proposer.id)
                               .order_by(Topic.id.desc())).first()
            assert topic is not None and topic.number in reply
            values["<编号>"] = topic.number
    db.expire_all()
    topic = db.scalars(select(Topic).where(Topic.number == values["<编号>"],
                                           Topic.org_id == orgs.get_org(db, "demo-v1").id)).one()
    assert topic.state is TopicState.APPROVED
    assert db.scalar(select(TopicCosigner).where(TopicCosigner.topic_id == topic.id)) is not None
    follower = people.find_by_ref(db, "demo-follower-1-1")
    assert db.scalar(select(PollVoter).where(PollVoter.person_id == follower.id)) is not None
    response = db.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.person_id == follower.id))
    assert response is not None and response.submitted_at is not None
    assert notices_read and NOTICE_TITLE in notices_read[-1]
    assert pictures and all("票" in text or text == "【图片】" for text in pictures)  # the chart (or, without an uploader, its text)
    assert any("微信确认送达" in reply for reply in replies)


def _menu_key(db, openid: str, number: int) -> str:
    """The key of button `number` of the menu this person sees (the role menu for role holders)."""
    person = people.find_by_ref(db, openid)
    menu = CONFIG.role_menu if CONFIG.role_menu and people.role_orgs(db, person, *Role) else CONFIG.menu
    return menu.leaves()[number - 1].key
