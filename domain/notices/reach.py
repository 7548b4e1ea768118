"""How every preview names an audience and counts it: the same words and number for notices and polls."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.notices.outbox import audience_ids, count_audience, count_reachable
from models import Audience, Organisation


@dataclass(frozen=True)
class Reach:
    """An audience as a preview shows it: who, how many, how many a push can reach."""

    name: str
    total: int
    reachable: int

    @property
    def words(self) -> str:
        """'东风村的群众，共 36 人（其中 2 人没有关注公众号，收不到推送）'."""
        text = f"{self.name}，共 {self.total} 人"
        missing = self.total - self.reachable
        return text + (f"（其中 {missing} 人没有关注公众号，收不到推送）" if missing > 0 else "")


def audience_name(org: Organisation, audience: Audience) -> str:
    """Who an organisation-wide audience is, in words: '东风村的群众', '东风村议事会成员'."""
    if audience is Audience.MEMBERS:
        return f"{org.name}议事会成员"
    return f"{org.name}的群众"


def reach(db: Session, org: Organisation, audience: Audience) -> Reach:
    """Name and count an organisation-wide audience (followers or members) by the rule the outbox sends by."""
    query = audience_ids(org, audience)
    return Reach(audience_name(org, audience), count_audience(db, query), count_reachable(db, query))
