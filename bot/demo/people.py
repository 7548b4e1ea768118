"""The demo township's organisations and people: one list of role holders, used to seed and to tell.

The start banner (``bot.demo.banner``) is printed from the same ``DEMO_USERS`` the seeding grants,
so it cannot promise a user the demo does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.orgs import people
from domain.orgs import tree as orgs
from models import Organisation, OrgKind, Person, Role
from models.base import utcnow

DEMO_TREE = [
    ("demo-county", "示范县协商议事办公室", OrgKind.COUNTY_OFFICE, None),
    ("demo-town", "幸福镇", OrgKind.TOWNSHIP, "demo-county"),
    ("demo-v1", "东风村", OrgKind.VILLAGE, "demo-town"),
    ("demo-v2", "红旗村", OrgKind.VILLAGE, "demo-town"),
]
VILLAGES = ("demo-v1", "demo-v2")
DEMO_MEMBERS_PER_VILLAGE = 12
DEMO_FOLLOWERS_PER_VILLAGE = 20
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN_NAMES = ("秀英", "建国", "桂兰", "志强", "玉梅", "德福", "春花", "国平", "淑芬", "长山", "红梅", "永刚",
               "凤英", "金生", "翠兰", "有才")
PUBLIC_SERVANT_MEMBERS = 2  # members 1 and 2 are public servants (R-ORG-4 allows up to a third)


@dataclass(frozen=True)
class DemoUser:
    """A demo role holder: who, in which organisation, which role, and what to try with them."""

    openid: str
    name: str
    org_code: str
    role: Role
    keywords: tuple[str, ...]  # keywords this user may send (checked against the router by a test)
    what: str  # one line for the banner
    home: str | None = None  # the village they live in, if any


def _village_users(index: int, code: str, village: str) -> list[DemoUser]:
    return [
        DemoUser(f"demo-convenor-{index}", f"{village}书记", code, Role.CONVENOR,
                 ("待审", "筛选", "报审", "调研", "安排会议", "议题清单", "发起投票", "发布通知", "送达"),
                 f"{village}召集人：管本村议题、投票和通知", home=code),
        DemoUser(f"demo-party-{index}", f"{village}党支部", code, Role.PARTY_REVIEWER,
                 ("待审", "通过", "退回"), f"{village}党组织审核人：本村议题的第一道审核"),
        DemoUser(f"demo-grid-{index}", f"{village}网格员", code, Role.GRID_WORKER,
                 ("代办", "代办结束"), f"{village}网格员：替不会用手机的村民办事"),
    ]


DEMO_USERS: tuple[DemoUser, ...] = (
    *_village_users(1, "demo-v1", "东风村"),
    DemoUser("demo-chair-1", "东风村主持人", "demo-v1", Role.CHAIR,
             ("签到", "开会", "下一步", "表决", "宣布", "闭会"), "东风村协商会议主持人：开会当天主持"),
    *_village_users(2, "demo-v2", "红旗村"),
    DemoUser("demo-town-party", "镇党委审核人", "demo-town", Role.PARTY_REVIEWER,
             ("待审", "通过", "退回"), "幸福镇党委审核人：村里审核过的议题由他批准"),
    DemoUser("demo-town-convenor", "镇政协工委主任", "demo-town", Role.CONVENOR,
             ("待审", "议题清单", "发布通知"), "幸福镇召集人：镇一级的议题和通知"),
    DemoUser("demo-county-office", "县协商办", "demo-county", Role.UPPER_OFFICE,
             ("议题清单",), "县协商办：查看全县的议题"),
)


def member_openid(village_index: int, n: int) -> str:
    """The openid of a demo council member (demo-member-1-3)."""
    return f"demo-member-{village_index}-{n}"


def follower_openid(village_index: int, n: int) -> str:
    """The openid of a demo villager already bound to the village (demo-follower-1-3)."""
    return f"demo-follower-{village_index}-{n}"


def demo_name(village_index: int, n: int) -> str:
    """A made-up villager's name, different for every demo person (a "东风村村民2" masked reads "东***")."""
    k = (village_index - 1) * (DEMO_MEMBERS_PER_VILLAGE + DEMO_FOLLOWERS_PER_VILLAGE) + n - 1
    return SURNAMES[(k // len(GIVEN_NAMES) + k) % len(SURNAMES)] + GIVEN_NAMES[k % len(GIVEN_NAMES)]


def demo_exists(session: Session) -> bool:
    """Whether the demo township was created."""
    return session.scalar(select(Organisation.id).where(Organisation.code == "demo-town")) is not None


def create_demo(session: Session) -> None:
    """Create the township, its villages, the members and the villagers already bound."""
    for code, name, kind, parent in DEMO_TREE:
        orgs.create_org(session, code=code, name=name, kind=kind, parent_code=parent)
    for index, code in enumerate(VILLAGES, start=1):
        village = orgs.get_org(session, code)
        with click.progressbar(range(1, DEMO_MEMBERS_PER_VILLAGE + 1), label=f"{village.name} 成员") as bar:
            for n in bar:
                member = _person(session, member_openid(index, n), demo_name(index, n), village)
                people.grant_role(session, member, village, Role.MEMBER, public_servant=n <= PUBLIC_SERVANT_MEMBERS)
        for n in range(1, DEMO_FOLLOWERS_PER_VILLAGE + 1):
            _person(session, follower_openid(index, n), demo_name(index, DEMO_MEMBERS_PER_VILLAGE + n), village)


def ensure_role_holders(session: Session) -> None:
    """Grant every role of DEMO_USERS that is missing (a demo seeded by an older version gains the new ones)."""
    for user in DEMO_USERS:
        org = orgs.get_org(session, user.org_code)
        person = _person(session, user.openid, user.name, orgs.get_org(session, user.home) if user.home else None)
        if not people.has_role(session, person, org, user.role):
            people.grant_role(session, person, org, user.role)


def _person(session: Session, openid: str, name: str, home: Organisation | None) -> Person:
    entry = people.ensure_person(session, openid)
    entry.real_name = entry.real_name or name
    if home is not None and entry.home_org_id != home.id:
        people.put_on_roster(session, entry, home, utcnow())
    return entry
