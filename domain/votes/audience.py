"""Who may answer a questionnaire or vote in a poll, and who may look at one (R-ROLE-4, R-MEET-7).

Audiences:
- followers: everyone bound to the organisation or to an organisation below it (a township's
  followers are its villages' followers), plus anyone holding an active role in it;
- members: the active council members (Role.MEMBER) of the organisation;
- attendees: the checked-in attendees of the poll's meeting (confirmation votes);
- named: the people listed on the questionnaire.
Eligibility is checked at the moment of voting or answering.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select, union
from sqlalchemy.orm import Session

from domain.errors import NotBound
from domain.notices.outbox import subtree_ids
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


def eligible_ids(
    org: Organisation,
    audience: Audience,
    *,
    meeting_id: int | None = None,
    questionnaire_id: int | None = None,
) -> Select[tuple[int]]:
    """A query of the ids of the people an audience lets take part."""
    if audience is Audience.FOLLOWERS:
        bound = select(Person.id).where(Person.home_org_id.in_(subtree_ids(org)))
        roles = select(RoleGrant.person_id).where(RoleGrant.org_id == org.id, RoleGrant.revoked_at.is_(None))
        both = union(bound, roles).subquery()
        return select(both.c[0])
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


def is_in(db: Session, person: Person, query: Select[tuple[int]]) -> bool:
    """Whether the person is in an audience query."""
    sub = query.subquery()
    return db.scalar(select(func.count()).select_from(sub).where(sub.c[0] == person.id)) == 1


def count_in(db: Session, query: Select[tuple[int]]) -> int:
    """How many people an audience query holds."""
    return int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)


def audience_label(org: Organisation, audience: Audience) -> str:
    """Who takes part, in words: '东风村的村民'."""
    return {
        Audience.FOLLOWERS: f"{org.name}的群众",
        Audience.MEMBERS: f"{org.name}议事会成员",
        Audience.ATTENDEES: "已签到的参会人员",
        Audience.NAMED: "受邀的人",
    }.get(audience, org.name)


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
