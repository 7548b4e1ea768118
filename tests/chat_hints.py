"""Reading the hints in a reply or push: every "发送“X”" (or 回复/发, quoted or after a colon) names what to send."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from handlers import load_routes, router
from handlers.context import Context
from handlers.dialogs import dialog_key
from models import Delivery, Notice, Person, Role

_VERB = r"(?P<verb>发送|回复|发)"
_QUOTED = re.compile(_VERB + r"[:：]?\s*(?P<chain>(?:“[^”]+”\s*(?:[、,，]|或者?|和|或是)?\s*)+)")
_COLON = re.compile(_VERB + r"[:：][ \t]*(?P<list>[^“\n]+)")
_CLAUSE_END = "。\n；;！!？?"
# A clause that names someone else as the one to send ("需要党组织审核人发送…", "参会人员发送…") is not a hint
# to the reader: it says who can.
OTHERS = ("需要", "参会人员", "大家", "受邀人员", "乡亲们", "本人", *(role.label for role in Role))


def _clause_before(text: str, start: int) -> str:
    cut = max(text.rfind(mark, 0, start) for mark in _CLAUSE_END)
    return text[cut + 1:start]


def hints(text: str) -> list[tuple[str, str]]:
    """(verb, hinted text) for every hint addressed to the reader of ``text``."""
    found: list[tuple[str, str]] = []
    for match in _QUOTED.finditer(text):
        if not any(word in _clause_before(text, match.start()) for word in OTHERS):
            found += [(match["verb"], q) for q in re.findall(r"“([^”]+)”", match["chain"])]
    for match in _COLON.finditer(text):
        if any(word in _clause_before(text, match.start()) for word in OTHERS):
            continue
        body = match["list"].split("。")[0]
        found += [(match["verb"], part) for part in re.split(r"[，,、；]\s*(?:或者?\s*)?|\s或\s", body) if part.strip()]
    return [(verb, hint.strip().removeprefix("或").strip()) for verb, hint in found if hint.strip()]


def first_word(hint: str) -> str:
    """The keyword a hint starts with ("通过 2026-001" → "通过")."""
    return hint.strip().rstrip("。").split(" ", 1)[0]


def receiver(db, openid: str, services) -> Context:
    """A context for checking what a person may send (no message)."""
    return Context(openid, None, "", db, None, services.settings, datetime.now(UTC))


def bad_hints(db, services, openid: str, text: str, in_dialog: bool) -> list[str]:
    """The hints in ``text`` that name no keyword this person may send now (回复 inside a dialog: answers)."""
    load_routes()
    ctx = receiver(db, openid, services)
    bad = []
    for verb, hint in hints(text):
        if verb == "回复" and in_dialog:
            continue
        route = router.keyword_route(first_word(hint))
        if route is None or not router.allowed(ctx, route):
            bad.append(hint)
    return bad


def in_dialog(services, openid: str) -> bool:
    """Whether the person has a dialog open now."""
    return bool(services.redis.exists(dialog_key(services.settings.redis.key_prefix, openid)))


def pushes_to(db, openid: str) -> list[str]:
    """Bodies of every push queued for a person."""
    stmt = (select(Notice.body).join(Delivery, Delivery.notice_id == Notice.id)
            .join(Person, Person.id == Delivery.person_id).where(Person.openid == openid).order_by(Notice.id))
    return list(db.scalars(stmt))
