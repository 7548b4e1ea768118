"""How topics read in plain Chinese: labels, times, the timeline and the news pushed to proposers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from domain.orgs import people
from domain.topics.labels import action_label, state_label
from models import Organisation, Person, Role, Topic, TopicEvent, TopicState

WEEKDAYS = "一二三四五六日"
SHORT_TITLE_CHARS = 20

NEWS = {
    TopicState.SCREENING: "进入筛选（{reason}）。请留意问卷、投票等通知。",
    TopicState.SUBMITTED: "已报党组织审核。",
    TopicState.REVIEWED: "已通过村党组织审核，已报镇党委批准。",
    TopicState.APPROVED: "已经批准。下一步召集人组织调研。",
    TopicState.RETURNED: "被退回了，理由：{reason}。召集人可以修改后重新报审。",
    TopicState.RESEARCHED: "调研已完成，接下来会安排协商会议并公示。",
    TopicState.NOTICED: "{reason}。欢迎参加，有意见可以向召集人反映。",
    TopicState.CONSULTED: "协商会议已召开，正在确认结果。",
    TopicState.CONSENSUS: "协商结果：达成共识。经党组织确认后组织落实。",
    TopicState.BASIC_CONSENSUS: "协商结果：基本达成共识。经党组织确认后组织落实。",
    TopicState.NO_CONSENSUS: "协商结果：未达成共识。召集人可以报党组织批准后再次协商。",
    TopicState.CONFIRMED: "协商结果已经党组织确认，接下来组织落实。",
    TopicState.IMPLEMENTING: "已开始落实。",
    TopicState.IMPLEMENTED: "已落实：{reason}。",
    TopicState.EVALUATED: "评价已完成：{reason}。",
    TopicState.WITHDRAWN: "已撤回。",
}
ACTION_NEWS = {
    "reconsult": "获准申请再次协商，已重新报党组织审核。",
    "reschedule": "协商会议改期：{reason}。",
    "cancel_meeting": "原定的协商会议取消了（{reason}），召集人会另行安排。",
    "escalate": "已上报上级：{reason}。", "to_party": "已提交党组织作决策参考：{reason}。",
    "to_proposal": "已作为政协委员提案上报：{reason}。", "to_opinion": "已作为社情民意信息上报：{reason}。",
}



def local_time(at: datetime, tz: ZoneInfo) -> str:
    """A time as people read it: 11月30日 09:00."""
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def local_time_with_weekday(at: datetime, tz: ZoneInfo) -> str:
    """A meeting time: 2026年12月1日（星期二）09:00."""
    local = at.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日（星期{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def short_title(topic: Topic) -> str:
    """The title cut for one-line lists."""
    title = topic.title
    return title if len(title) <= SHORT_TITLE_CHARS else title[: SHORT_TITLE_CHARS - 1] + "…"


def agent_title(db: Session, agent: Person, org: Organisation) -> str:
    """How a 代办 agent is named: 网格员张三 / 村干部张三."""
    kind = "网格员" if people.has_role(db, agent, org, Role.GRID_WORKER) else "村干部"
    return f"{kind}{agent.display_name}"


def proxy_note(db: Session, agent: Person | None, org: Organisation) -> str:
    """"（由网格员张三代办）", or '' when the person acted themselves."""
    return f"（由{agent_title(db, agent, org)}代办）" if agent is not None else ""


def event_line(db: Session, topic: Topic, event: TopicEvent, tz: ZoneInfo, *, private: bool = False) -> str:
    """One line of a topic's timeline; ``private`` masks the villagers' names (proposers, co-signers)."""
    when = local_time(event.at, tz)
    villager_act = event.action in ("register", "cosign")

    def name(person: Person) -> str:
        return mask_name(person.display_name) if private and villager_act else person.display_name

    label = action_label(event.action)
    if event.on_behalf_of is not None and event.actor is not None:
        who = f"{name(event.on_behalf_of)}{proxy_note(db, event.actor, topic.org)}"
    else:
        who = name(event.actor) if event.actor else "系统"
    if event.action == "register":
        return f"{when} {who} 提出议题（{topic.source.label}）"
    if event.action == "cosign":
        return f"{when} {who} 联名"
    if event.action == "result":
        text = f"{when} {who} 确认协商结果：{state_label(event.to_state)}"
    else:
        text = f"{when} {who} {label}"
    return text + (f"：{event.reason}" if event.reason else "")


def timeline(db: Session, topic: Topic, events: list[TopicEvent], tz: ZoneInfo, *,
             private: bool = False) -> list[str]:
    """The whole timeline, oldest first."""
    return [event_line(db, topic, e, tz, private=private) for e in events]


def news(topic: Topic, event: TopicEvent) -> str:
    """The sentence telling proposers what just happened and what comes next."""
    template = ACTION_NEWS.get(event.action) or NEWS.get(topic.state, "现在“{state}”。")
    sentence = template.format(reason=event.reason or "", state=topic.state.label)
    if topic.state is TopicState.REVIEWED and topic.org.parent is not None:
        sentence = sentence.replace("镇党委", f"{topic.org.parent.name}党委")
    return sentence


def push_body(topic: Topic, event: TopicEvent) -> str:
    """The text pushed to a topic's proposer and co-signers after a change."""
    return (f"您提出或联名的议题“{short_title(topic)}”（{topic.org.name} {topic.number}）{news(topic, event)}\n"
            f"发送“议题 {topic.number}”查看进展。")


WAITING = {
    TopicState.REGISTERED: "等召集人组织筛选（问卷、投票、座谈等）。",
    TopicState.SCREENING: "筛选中，筛选完由召集人报党组织审核。",
    TopicState.SUBMITTED: "等党组织审核。",
    TopicState.REVIEWED: "等镇党委批准。",
    TopicState.APPROVED: "召集人组织调研，调研后安排会议。",
    TopicState.RETURNED: "召集人修改后可以重新报审。",
    TopicState.RESEARCHED: "召集人安排协商会议，会前至少公示 {days} 天。",
    TopicState.NOTICED: "公示中，等开协商会议。",
    TopicState.CONSULTED: "会议已开，等确认结果。",
    TopicState.CONSENSUS: "等党组织确认结果，再组织落实。",
    TopicState.BASIC_CONSENSUS: "等党组织确认结果，再组织落实。",
    TopicState.NO_CONSENSUS: "可以经党组织批准再次协商，或转党组织决策参考、报县政协。",
    TopicState.CONFIRMED: "结果已经党组织确认，召集人组织落实。",
    TopicState.IMPLEMENTING: "落实中，落实后公示结果。",
    TopicState.IMPLEMENTED: "等评价。",
    TopicState.EVALUATED: "已办结。",
    TopicState.WITHDRAWN: "已撤回，不再办理。",
}


def waiting(state: TopicState, notice_days: int) -> str:
    """What happens next to a topic in this state (the notice period from ``[rules] topic_notice_days``)."""
    return WAITING[state].format(days=notice_days)


def mask_name(name: str) -> str:
    """张三 → 张*: how a villager's name shows to other villagers."""
    if not name or (name.startswith("村民") and name[2:].isdigit()):  # an unnamed follower (Person.display_name)
        return name
    return name[0] + "*" * min(len(name) - 1, 3)
