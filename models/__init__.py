"""Tables (SQLAlchemy 2.0 typed models); importing this registers all of them."""

from models.base import Base
from models.evaluation import Evaluation, EvaluationAspect, EvaluationKind
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
from models.paperwork import OpinionList, TopicFeedback
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
from models.records import (
    CouncilTerm,
    Platform,
    PlatformLiaison,
    PlatformStop,
    PlatformVillage,
    SixHaveEntry,
    TrainingRecord,
)
from models.routes import RouteKind, TopicRoute
from models.topics import Topic, TopicCosigner, TopicEvent, TopicSource, TopicState

__all__ = [
    "AttendeeKind",
    "Audience",
    "Base",
    "Delivery",
    "DeliveryStatus",
    "Evaluation",
    "EvaluationAspect",
    "EvaluationKind",
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
    "OpinionList",
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
    "CouncilTerm",
    "Platform",
    "PlatformLiaison",
    "PlatformStop",
    "PlatformVillage",
    "SixHaveEntry",
    "TrainingRecord",
    "Role",
    "RoleGrant",
    "RouteKind",
    "SeenNonce",
    "Topic",
    "TopicCosigner",
    "TopicEvent",
    "TopicFeedback",
    "TopicRoute",
    "TopicSource",
    "TopicState",
]
