"""Council members' entry and exit dates and their training (X-三(四): 产生退出、学习培训)."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound
from domain.orgs import people
from models import CouncilTerm, Organisation, Person, Role, TrainingRecord

logger = logging.getLogger(__name__)

COUNCIL_ROLES = (Role.MEMBER, Role.CONVENOR)
TITLE_MAX_CHARS = 200


def open_term(db: Session, person: Person, org: Organisation) -> CouncilTerm | None:
    """The person's current stint on the organisation's council, if one is recorded."""
    return db.scalar(select(CouncilTerm).where(CouncilTerm.person_id == person.id, CouncilTerm.org_id == org.id,
                                               CouncilTerm.exited_on.is_(None)))


def enter(db: Session, person: Person, org: Organisation, on: date, today: date) -> CouncilTerm:
    """Record that the person joined the council on a date (a member or convenor there)."""
    if not people.has_role(db, person, org, *COUNCIL_ROLES):
        raise InvalidInput(f"{person.display_name} 不是{org.name}协商议事会成员或召集人，请先授予身份（shangliang role grant）。")
    if on > today:
        raise InvalidInput("进入日期不能晚于今天。")
    if open_term(db, person, org) is not None:
        raise Conflict(f"{person.display_name} 已经登记在{org.name}协商议事会里了。")
    last = db.scalar(select(CouncilTerm).where(CouncilTerm.person_id == person.id, CouncilTerm.org_id == org.id)
                     .order_by(CouncilTerm.exited_on.desc()).limit(1))
    if last is not None and last.exited_on is not None and on < last.exited_on:
        raise InvalidInput(f"进入日期早于上次退出日期 {last.exited_on:%Y-%m-%d}。")
    term = CouncilTerm(person_id=person.id, org_id=org.id, entered_on=on)
    db.add(term)
    db.flush()
    logger.info("council term: person %s entered org %s", person.id, org.id)
    return term


def leave(db: Session, person: Person, org: Organisation, on: date, today: date, note: str = "") -> CouncilTerm:
    """Record the exit date and revoke the person's member role there (the grant stays as history)."""
    term = open_term(db, person, org)
    if term is None:
        raise NotFound(f"{person.display_name} 没有登记在{org.name}协商议事会里（先用 --entered 登记进入日期）。")
    if on > today:
        raise InvalidInput("退出日期不能晚于今天。")
    if on < term.entered_on:
        raise InvalidInput(f"退出日期早于进入日期 {term.entered_on:%Y-%m-%d}。")
    term.exited_on, term.note = on, note.strip()
    if people.has_role(db, person, org, Role.MEMBER):
        people.revoke_role(db, person, org, Role.MEMBER)
    db.flush()
    return term


def terms_of(db: Session, person: Person) -> list[CouncilTerm]:
    """Every recorded council stint of a person, oldest first."""
    stmt = select(CouncilTerm).where(CouncilTerm.person_id == person.id).order_by(CouncilTerm.entered_on,
                                                                                  CouncilTerm.id)
    return list(db.scalars(stmt))


def add_training(db: Session, person: Person, org: Organisation, on: date, title: str, today: date) -> TrainingRecord:
    """Record a training the person attended; the same one twice is a Conflict."""
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("请写上培训名称。")
    if len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(f"培训名称请控制在 {TITLE_MAX_CHARS} 字以内。")
    if on > today:
        raise InvalidInput("培训日期不能晚于今天。")
    exists = db.scalar(select(TrainingRecord.id).where(
        TrainingRecord.person_id == person.id, TrainingRecord.org_id == org.id, TrainingRecord.held_on == on,
        TrainingRecord.title == title))
    if exists is not None:
        raise Conflict(f"{person.display_name} {on:%Y-%m-%d}“{title}”的培训已经登记过了。")
    row = TrainingRecord(person_id=person.id, org_id=org.id, held_on=on, title=title)
    db.add(row)
    db.flush()
    return row
