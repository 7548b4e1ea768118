"""The demo's topics: one in each state of a topic's life, reached through the real operations.

Topics that have had their meeting are walked through it in the past (proposed weeks ago, the
meeting held with check-in, quorum, agenda and a show of hands), so their timelines read as a
real village's would; the younger ones are moved along in the last days. Nothing writes a state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.demo.people import DEMO_FOLLOWERS_PER_VILLAGE, follower_openid, member_openid
from domain.meetings import agenda, attendance, confirm, participants
from domain.meetings.schedule import schedule_meeting
from domain.notices import broadcasts
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.settings import Settings
from domain.topics import operations as ops
from domain.topics import routes
from models import Delivery, DeliveryStatus, Meeting, MeetingAttendee, Notice, Person, Role, Topic, TopicState
from models.topics import ScreeningMethod

logger = logging.getLogger(__name__)

S = TopicState
VILLAGE = "demo-v1"
PLACE = "东风村村委会议室"
TOUR_NOTICE_DAYS = 7  # the days_ago below leave room for this public notice period (R-TOPIC-6); more shifts them
PAST = timedelta(hours=12)  # tour pushes older than this are not delivered


@dataclass(frozen=True)
class TourTopic:
    """One demo topic: its title, who proposed it, how many days ago, and the state it ends in."""

    title: str
    proposer: str
    days_ago: int
    goal: TopicState


# In the order they are proposed; the first ones have had their meeting.
TOUR: tuple[TourTopic, ...] = (
    TourTopic("村东主路坑洼多，下雨天积水，请修一修", follower_openid(1, 1), 80, S.EVALUATED),
    TourTopic("村委会门口装两盏路灯", member_openid(1, 3), 70, S.IMPLEMENTED),
    TourTopic("小学门口加装减速带", follower_openid(1, 2), 60, S.IMPLEMENTING),
    TourTopic("村里的自来水水压太低", member_openid(1, 6), 40, S.CONFIRMED),
    TourTopic("垃圾清运改为每天一次", follower_openid(1, 3), 32, S.CONSENSUS),
    TourTopic("文化广场晚上跳舞的音乐调小一点", follower_openid(1, 4), 30, S.BASIC_CONSENSUS),
    TourTopic("村集体果园承包期延长到十年", member_openid(1, 4), 28, S.NO_CONSENSUS),
    TourTopic("沿河修一条健身步道", follower_openid(1, 5), 26, S.CONSULTED),
    TourTopic("村西小河清淤", follower_openid(1, 6), 6, S.NOTICED),
    TourTopic("村卫生室周末也开门", follower_openid(1, 7), 5, S.RESEARCHED),
    TourTopic("给独居老人装紧急呼叫器", member_openid(1, 5), 5, S.APPROVED),
    TourTopic("村口公交站加个雨棚", follower_openid(1, 8), 4, S.REVIEWED),
    TourTopic("集中修缮村里的危房", follower_openid(1, 9), 4, S.SUBMITTED),
    TourTopic("在村里建一个停车场", follower_openid(1, 10), 3, S.RETURNED),
    TourTopic("每月请镇卫生院来义诊一次", follower_openid(1, 11), 2, S.SCREENING),
    TourTopic("村里统一安装太阳能热水器", follower_openid(1, 12), 2, S.WITHDRAWN),
    TourTopic("公共厕所太少，赶集时不够用", follower_openid(1, 13), 1, S.REGISTERED),
)
OUTCOME_WORDS = {S.CONSENSUS: "达成共识", S.BASIC_CONSENSUS: "基本达成共识", S.NO_CONSENSUS: "未达成共识"}
AFTER_CONSENSUS = (S.CONSENSUS, S.CONFIRMED, S.IMPLEMENTING, S.IMPLEMENTED, S.EVALUATED)
REACHES = {  # which later states each goal passes through (the chain of R-TOPIC-3..8)
    S.SCREENING: 1, S.RETURNED: 2, S.SUBMITTED: 2, S.REVIEWED: 3, S.APPROVED: 4, S.RESEARCHED: 5, S.NOTICED: 6,
    S.CONSULTED: 7, S.CONSENSUS: 7, S.BASIC_CONSENSUS: 7, S.NO_CONSENSUS: 7, S.CONFIRMED: 8, S.IMPLEMENTING: 9,
    S.IMPLEMENTED: 10, S.EVALUATED: 11,
}


@dataclass
class Cast:
    """The people who move the demo topics."""

    convenor: Person
    party: Person
    town_party: Person
    chair: Person


def tour_seeded(db: Session) -> bool:
    """Whether the tour's topics exist already (seeding is once)."""
    village = orgs.get_org(db, VILLAGE)
    return db.scalar(select(Topic.id).where(Topic.org_id == village.id, Topic.title == TOUR[0].title)) is not None


def seed_tour(db: Session, now: datetime, settings: Settings) -> list[Topic]:
    """Propose every tour topic and move it to its goal state; returns them in order."""
    find = lambda ref: people.find_by_ref(db, ref)  # noqa: E731 - a short local alias
    cast = Cast(find("demo-convenor-1"), find("demo-party-1"), find("demo-town-party"), find("demo-chair-1"))
    made = []
    first_new = db.scalar(select(func.coalesce(func.max(Notice.id), 0))) or 0
    for index, item in enumerate(TOUR):
        held = REACHES.get(item.goal, 0) >= 6 and item.goal is not S.NOTICED
        extra = max(0, settings.rules.topic_notice_days - TOUR_NOTICE_DAYS) if held else 0
        at = now - timedelta(days=item.days_ago + extra, hours=3) + timedelta(minutes=index)
        topic = ops.propose(db, find(item.proposer), item.title, at, settings=settings)
        if index % 3 == 0 and item.goal is not S.WITHDRAWN:  # some get a co-signer (联名)
            ops.cosign(db, topic, find(follower_openid(1, DEMO_FOLLOWERS_PER_VILLAGE - index)), at + timedelta(hours=2))
        _advance(db, topic, item, cast, at, now, settings)
        made.append(topic)
    _keep_the_past_quiet(db, first_new, now)
    logger.info("demo: %d topics seeded", len(made))
    return made


def _keep_the_past_quiet(db: Session, after_id: int, now: datetime) -> int:
    """Pushes about the tour's weeks-old steps are not sent now (a villager would wonder); recent ones are."""
    old = (select(Delivery.notice_id).where(Delivery.notice_id > after_id, Delivery.status == DeliveryStatus.PENDING,
                                           Delivery.next_attempt_at < now - PAST).distinct())
    return sum(broadcasts.stop_unsent(db, notice, "演示数据：过去的事，不再推送")
               for notice in db.scalars(select(Notice).where(Notice.id.in_(old))))


def _advance(db: Session, topic: Topic, item: TourTopic, cast: Cast, at: datetime, now: datetime,
             settings: Settings) -> None:
    goal, reach = item.goal, REACHES.get(item.goal, 0)
    if goal is S.WITHDRAWN:
        ops.withdraw(db, topic, topic.proposer, at + timedelta(hours=5), "想先和邻居们商量好再提")
        return
    held = reach >= 6 and goal is not S.NOTICED  # its meeting has taken place: 8 days before now at the latest
    clock = _Clock(at, now - meeting_after(settings) - timedelta(days=1) if held else now, spread=8)
    steps: list[Callable[[datetime], object]] = [
        lambda t: ops.screen(db, topic, cast.convenor, t, ScreeningMethod.DIALOGUE, "入户走访"),
        lambda t: ops.submit(db, topic, cast.convenor, t, "群众反映多，建议协商"),
        lambda t: ops.approve(db, topic, cast.party, t, "同意"),
        lambda t: ops.approve(db, topic, cast.town_party, t, "同意列入协商"),
        lambda t: ops.research(db, topic, cast.convenor, t, "走访 30 户，了解政策和费用，多数群众支持"),
    ]
    for number, act in enumerate(steps[:reach], start=1):
        act(clock.tick())
        if goal is S.RETURNED and number == 2:
            ops.return_topic(db, topic, cast.party, clock.tick(), "位置和规模没写清楚，请写明建在哪里、大约多少个车位")
            return
    if reach >= 6:
        held_until = _meeting(db, topic, goal, cast, clock.tick(), settings)
        clock = _Clock(held_until, now, spread=4)
    if goal in AFTER_CONSENSUS[1:]:  # R-RES-1: the same-level party organisation confirms, filed above at once
        routes.confirm(db, topic, cast.party, clock.tick(), "同意协商结果")
    if goal in AFTER_CONSENSUS[2:]:
        ops.implement(db, topic, cast.convenor, clock.tick(), "村委会按协商结果组织施工")
    if goal in AFTER_CONSENSUS[3:]:
        ops.complete(db, topic, cast.convenor, clock.tick(), "已经完工，村务公开栏张贴了费用明细")
    if goal is S.EVALUATED:
        ops.evaluate(db, topic, cast.party, clock.tick(), "群众满意，效果好")


class _Clock:
    """Times for a topic's next steps: ``spread`` even steps between ``start`` and now, never past now."""

    def __init__(self, start: datetime, now: datetime, spread: int) -> None:
        self.at, self.now = start, now
        self.gap = max(timedelta(minutes=10), (now - start) / spread)

    def tick(self) -> datetime:
        """The next step's time."""
        self.at = min(self.at + self.gap, self.now - timedelta(minutes=1))
        return self.at


def meeting_after(settings: Settings) -> timedelta:
    """How long after scheduling the demo's meetings take place: the public notice period and a day."""
    return timedelta(days=settings.rules.topic_notice_days + 1)


def _meeting(db: Session, topic: Topic, goal: TopicState, cast: Cast, at: datetime, settings: Settings) -> datetime:
    """Schedule the meeting 8 days on and, unless the goal is the notice, hold it as a chair would; returns its end."""
    members = len(people.role_holders(db, topic.org, Role.MEMBER))
    needed = participants.stakeholders_needed(members, settings.rules.stakeholder_min_ratio)
    stakeholders = [people.find_by_ref(db, follower_openid(1, n)).id for n in range(1, needed + 1)]
    meeting = schedule_meeting(db, topic, at + meeting_after(settings), PLACE, cast.convenor, at, settings=settings,
                               stakeholder_ids=stakeholders, chair_id=cast.chair.id)
    if goal is S.NOTICED:
        return at
    start = meeting.starts_at
    _check_everyone_in(db, meeting, start - timedelta(minutes=15), settings)
    attendance.open_meeting(db, meeting, cast.chair, start, settings)
    agenda.next_step(db, meeting, cast.chair, start + timedelta(minutes=5), settings)  # the proposer speaks
    agenda.next_step(db, meeting, cast.chair, start + timedelta(minutes=20), settings)  # consultation: CONSULTED
    if goal is not S.CONSULTED:
        confirm.start(db, meeting, cast.chair, "举手", start + timedelta(minutes=50), settings)
        outcome = S.CONSENSUS if goal in AFTER_CONSENSUS else goal
        confirm.announce(db, meeting, cast.chair, OUTCOME_WORDS[outcome], start + timedelta(minutes=55))
    agenda.close(db, meeting, cast.chair, start + timedelta(minutes=60))
    return start + timedelta(minutes=60)


def _check_everyone_in(db: Session, meeting: Meeting, at: datetime, settings: Settings) -> None:
    rows = db.scalars(select(MeetingAttendee.person_id).where(MeetingAttendee.meeting_id == meeting.id))
    for person_id in list(rows):
        attendance.check_in(db, meeting, db.get(Person, person_id), at, settings)
