"""Where a person takes part in topics: their village, and for township topics the villages below it."""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.orgs.tree import ancestors
from domain.topics.states import GRASSROOTS, level_of
from models import Organisation, OrgKind, Person


def upper_council(home: Organisation) -> Organisation:
    """The township, street or park council above a village (where its people may propose, X-10)."""
    parent = home.parent
    if parent is None or level_of(parent) == GRASSROOTS or parent.kind is OrgKind.COUNTY_OFFICE:
        raise InvalidInput(f"{home.name}上面没有镇（街道）协商议事会，请直接发送“提议 内容”。")
    return parent


def may_cosign(person: Person, org: Organisation) -> bool:
    """Whether a person's home is this organisation or, for an upper-level one, a village below it (X-10)."""
    home = person.home_org
    if home is None:
        return False
    if home.id == org.id:
        return True
    return level_of(org) != GRASSROOTS and any(above.id == org.id for above in ancestors(home))
