"""Tables (SQLAlchemy 2.0 typed models); importing this registers all of them."""

from models.base import Base
from models.inbound import InboundMessage, SeenNonce
from models.meetings import (
    AgendaStep,
    AttendeeKind,
    Meeting,
    MeetingAttendee,
    MeetingForm,
    MeetingStatus,
    MinuteEntry,
    Side,
    Speech,
    SpeechStatus,
)
from models.orgs import Organisation, OrgKind, PlatformKind
from models.outbox import Audience, Delivery, DeliveryStatus, Notice, NoticeKind
from models.people import Person, Role, RoleGrant
from models.polls import Poll, PollBallot, PollKind, PollOption, PollVoter
from models.questionnaires import (
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireAnswer,
    QuestionnaireInvitee,
    QuestionnaireResponse,
)
from models.topics import Topic, TopicCosigner, TopicEvent, TopicSource, TopicState

__all__ = [
    "AttendeeKind",
    "Audience",
    "Base",
    "Delivery",
    "DeliveryStatus",
    "InboundMessage",
    "AgendaStep",
    "Meeting",
    "MeetingForm",
    "MinuteEntry",
    "Side",
    "Speech",
    "SpeechStatus",
    "MeetingAttendee",
    "MeetingStatus",
    "Notice",
    "NoticeKind",
    "OrgKind",
    "Organisation",
    "Person",
    "PlatformKind",
    "Poll",
    "PollBallot",
    "PollKind",
    "PollOption",
    "PollVoter",
    "Question",
    "QuestionKind",
    "Questionnaire",
    "QuestionnaireAnswer",
    "QuestionnaireInvitee",
    "QuestionnaireResponse",
    "Role",
    "RoleGrant",
    "SeenNonce",
    "Topic",
    "TopicCosigner",
    "TopicEvent",
    "TopicSource",
    "TopicState",
]
