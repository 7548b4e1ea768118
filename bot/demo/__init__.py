"""The demo township: seeded on `shangliang demo seed` and on `shangliang serve` (idempotent), then told.

``seed_demo`` creates the township once, grants the role holders the banner lists, walks one topic
into each state of its life (once), keeps one poll, questionnaire and notice open in 东风村, and
prints the banner from what is actually there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot.demo import content
from bot.demo import people as demo_people
from bot.demo import topics as demo_topics
from bot.demo.people import DEMO_FOLLOWERS_PER_VILLAGE, DEMO_MEMBERS_PER_VILLAGE, DEMO_USERS, VILLAGES
from domain.errors import DomainError
from domain.orgs import tree as orgs
from models import Topic
from models.base import utcnow
from models.db import transaction

logger = logging.getLogger(__name__)

CHAT = ".venv/bin/shangliang chat --user"


@dataclass(frozen=True)
class VillagerLine:
    """A kind of villager the banner names, with the keywords to try (checked against the router by a test)."""

    openid: str
    who: str
    keywords: tuple[str, ...]


VILLAGERS = (
    VillagerLine("demo-villager-1", "新来的村民（-2、-3 … 也行），还没绑定：先发“绑定 <东风村邀请码>”",
                 ("绑定", "我叫", "提议", "联名", "我的议题", "投票", "问卷", "通知")),
    VillagerLine("demo-follower-1-1", f"东风村已绑定的村民（到 demo-follower-1-{DEMO_FOLLOWERS_PER_VILLAGE}）",
                 ("提议", "联名", "我的议题", "投票", "问卷", "通知")),
    VillagerLine("demo-member-1-1", f"东风村议事会成员（到 demo-member-1-{DEMO_MEMBERS_PER_VILLAGE}）",
                 ("提议", "投票", "问卷", "通知", "签到", "发言")),
)


def seed_demo(services: Any, echo: Callable[[str], None]) -> None:
    """Create what is missing of the demo (idempotent) and print the banner."""
    settings = services.settings
    chatty = logging.getLogger("domain")
    level = chatty.level
    chatty.setLevel(max(logging.WARNING, chatty.getEffectiveLevel()))  # a line per person and step hides the banner
    try:
        with transaction(services.sessions) as session:
            if not demo_people.demo_exists(session):
                demo_people.create_demo(session)
            demo_people.ensure_role_holders(session)
        _try(echo, "演示议题", lambda: _tour(services, settings))
        _try(echo, "演示的投票、问卷和通知", lambda: _content(services, settings))
    finally:
        chatty.setLevel(level)
    with services.sessions() as session:
        for line in banner(session):
            echo(line)


def _tour(services: Any, settings: Any) -> None:
    with transaction(services.sessions) as session:
        if not demo_topics.tour_seeded(session):
            demo_topics.seed_tour(session, utcnow(), settings)


def _content(services: Any, settings: Any) -> None:
    with transaction(services.sessions) as session:
        content.ensure_open_items(session, utcnow(), settings)


def _try(echo: Callable[[str], None], what: str, action: Callable[[], None]) -> None:
    """Seed one part; a rule that refuses it (e.g. a setting the demo cannot meet) is one line, not a crash."""
    try:
        action()
    except DomainError as exc:
        logger.warning("demo: %s not seeded: %s", what, exc.reply)
        echo(f"（{what}没有生成：{exc.reply}）")


def banner(session: Any) -> list[str]:
    """What a newcomer needs: invite codes, what is there to see, and who to chat as for what."""
    lines = ["演示乡镇：幸福镇（demo-town），下有东风村和红旗村。"]
    for code in VILLAGES:
        village = orgs.get_org(session, code)
        lines.append(f"{village.name}（{code}）邀请码：{village.invite_code}")
    lines.append(_contents(session))
    lines.append(f"演示用户（另开一个终端：{CHAT} <用户>）：")
    lines += [f"  {v.openid:<20}{v.who}。可发：{'、'.join(v.keywords)}" for v in VILLAGERS]
    lines += [f"  {u.openid:<20}{u.what}。可发：{'、'.join(u.keywords)}" for u in DEMO_USERS]
    lines.append("一个议题从提议到批准：村民“提议” → demo-convenor-1“筛选”“报审” → demo-party-1“通过” "
                 "→ demo-town-party“通过”，就是已批准。README 里有一步一步的走法。")
    return lines


def _contents(session: Any) -> str:
    village = orgs.get_org(session, "demo-v1")
    states = session.execute(select(Topic.state, func.count()).where(Topic.org_id == village.id)
                             .group_by(Topic.state)).all()
    total = sum(count for _, count in states)
    items = content.open_items(session, utcnow())
    parts = [f"议题 {total} 个（{len(states)} 种状态，召集人发“议题清单”看）"]
    parts += [f"{what}（发“{label} {number}”）" for what, label, number in (
        ("进行中的投票", "投票", items.poll), ("已结束的投票", "结果", items.closed_poll),
        ("问卷", "问卷", items.questionnaire), ("通知", "通知", items.notice)) if number is not None]
    return "东风村现有：" + "、".join(parts) + "。"
