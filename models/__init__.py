"""Tables (SQLAlchemy 2.0 typed models); importing this registers all of them."""

from models.base import Base
from models.inbound import InboundMessage, SeenNonce
from models.orgs import Organisation, OrgKind, PlatformKind
from models.people import Person, Role, RoleGrant

__all__ = [
    "Base",
    "InboundMessage",
    "OrgKind",
    "Organisation",
    "Person",
    "PlatformKind",
    "Role",
    "RoleGrant",
    "SeenNonce",
]
