"""Who may answer a questionnaire or vote in a poll, and who may look at one (R-ROLE-4, R-MEET-7).

Audiences:
- followers: everyone bound to the organisation or to an organisation below it (a township's
  followers are its villages' followers) when the poll or questionnaire opened (``as_of``: the
  ``memberships`` history, see ``domain/orgs/membership.py``), plus anyone holding an active role in it;
- members: the active council members (Role.MEMBER) of the organisation;
- attendees: the checked-in attendees of the poll's meeting (confirmation votes);
- named: the people listed on the questionnaire.
Eligibility is checked at the moment of voting or answering, against the membership at opening:
binding elsewhere after a poll opened gives no say in it (issue 12, village hopping).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, or_, select, union
from sqlalchemy.orm import Session

from domain.errors import NotBound
from domain.notices.outbox import follower_ids, subtree_ids
from domain.notices.reach import audience_name
from domain.orgs.people import has_role, supervises
from models import (
    Audience,
    MeetingAttendee,
    Organisation,
    Person,
    QuestionnaireInvitee,
    Role,
    RoleGrant,
)
from models.people import Membership


def eligible_ids(
    org: Organisation,
    audience: Audience,
    *,
    meeting_id: int | None = None,
    questionnaire_id: int | None = None,
    as_of: datetime | None = None,
) -> Select[tuple[int]]:
    """A query of the ids of the people an audience lets take part (followers: bound at ``as_of``, else now)."""
    if audience is Audience.FOLLOWERS:
        return follower_ids(org, followers_at(org, as_of) if as_of is not None else None)
    if audience is Audience.MEMBERS:
        return (
            select(RoleGrant.person_id)
            .where(RoleGrant.org_id == org.id, RoleGrant.role == Role.MEMBER, RoleGrant.revoked_at.is_(None))
            .distinct()
        )
    if audience is Audience.ATTENDEES:
        if meeting_id is None:
            raise ValueError("an attendees audience needs a meeting")
        return select(MeetingAttendee.person_id).where(
            MeetingAttendee.meeting_id == meeting_id, MeetingAttendee.checked_in_at.is_not(None)
        )
    if audience is Audience.NAMED:
        if questionnaire_id is None:
            raise ValueError("a named audience needs a questionnaire")
        return select(QuestionnaireInvitee.person_id).where(QuestionnaireInvitee.questionnaire_id == questionnaire_id)
    raise ValueError(f"audience {audience} is not used for polls or questionnaires")


def followers_at(org: Organisation, as_of: datetime) -> Select[tuple[int]]:
    """People whose home was the organisation (or one below it) for a poll opening at ``as_of``."""
    tree = subtree_ids(org)
    recorded = select(Membership.person_id).where(
        Membership.org_id.in_(tree),
        or_(Membership.counts_from.is_(None), Membership.counts_from <= as_of),
        or_(Membership.ended_at.is_(None), Membership.ended_at > as_of),
    )
    # placed before the history existed (the migration backfills them): their home, from bound_at
    unrecorded = select(Person.id).where(
        Person.home_org_id.in_(tree),
        or_(Person.bound_at.is_(None), Person.bound_at <= as_of),
        ~select(Membership.id).where(Membership.person_id == Person.id).exists(),
    )
    both = union(recorded, unrecorded).subquery()
    return select(both.c[0])


def why_not(db: Session, person: Person, org: Organisation, audience: Audience, as_of: datetime, what: str) -> str:
    """Why a follower of the organisation today has no say in something (a poll) that opened at ``as_of``."""
    if audience is not Audience.FOLLOWERS or person.home_org is None:
        return ""
    if person.home_org_id not in db.scalars(subtree_ids(org)).all():
        return ""
    row = db.scalar(select(Membership).where(Membership.person_id == person.id, Membership.ended_at.is_(None)))
    if row is None or row.counts_from is None:
        return ""
    home = person.home_org.name
    if row.started_at > as_of:
        return f"您是这次{what}开始以后才绑定{home}的，按开始时所在的村（社区）算，这次不能参加。"
    hours = round((row.counts_from - row.started_at).total_seconds() / 3600)
    return f"绑定{home}满 {hours} 小时后开始的{what}才能参加，这次不能参加。"


def is_in(db: Session, person: Person, query: Select[tuple[int]]) -> bool:
    """Whether the person is in an audience query."""
    sub = query.subquery()
    return db.scalar(select(func.count()).select_from(sub).where(sub.c[0] == person.id)) == 1


def count_in(db: Session, query: Select[tuple[int]]) -> int:
    """How many people an audience query holds."""
    return int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)


def audience_label(org: Organisation, audience: Audience) -> str:
    """Who takes part, in words: '东风村的村民'."""
    if audience is Audience.ATTENDEES:
        return "已签到的参会人员"
    if audience is Audience.NAMED:
        return "受邀的人"
    return audience_name(org, audience)


def related_org_ids(db: Session, person: Person) -> list[int]:
    """The organisations a person's short references (投票 3) point into: home first, then roles.

    NotBound when there are none: a newcomer is told to bind before anything else.
    """
    ids: list[int] = [person.home_org_id] if person.home_org_id else []
    stmt = (
        select(RoleGrant.org_id)
        .where(RoleGrant.person_id == person.id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    )
    for org_id in db.scalars(stmt):
        if org_id not in ids:
            ids.append(org_id)
    if not ids:
        raise NotBound()
    return ids


def may_view(db: Session, person: Person, org: Organisation) -> bool:
    """Whether a person may see an organisation's polls: it is theirs, they hold a role, or they supervise it."""
    if person.home_org_id is not None:
        home_tree = db.scalars(subtree_ids(org)).all()
        if person.home_org_id in home_tree:
            return True
    return has_role(db, person, org, *Role) or supervises(db, person, org)


def may_manage(db: Session, person: Person, org: Organisation) -> bool:
    """Whether a person may close polls or read full results: a convenor there or above (R-ROLE-4, R-RES-7)."""
    return has_role(db, person, org, Role.CONVENOR) or supervises(db, person, org)
