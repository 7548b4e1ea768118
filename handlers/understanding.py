"""Understanding what people say: natural openings ("我想提议修桥", "想投票", "怎么绑定") become keyword
text, and text we do not understand gets a short "没看懂" with three or four next steps for this person."""

from __future__ import annotations

import re

from domain.votes import pending, polls, questionnaires
from domain.votes.audience import related_org_ids
from domain.votes.tally import PollPhase, phase
from handlers.context import Context
from handlers.registry import held_roles, router
from models import Role

WANT = r"(?:我|俺)?(?:想要|想|要|打算|准备)"
# (pattern over normalised text, keyword text it means; {rest} is what followed the opening)
OPENINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), t) for p, t in (
    (rf"^{WANT}(?:提议|提(?:个|一个|一条|条)?(?:建议|议题))[:,]?\s*(?P<rest>.*)$", "提议 {rest}"),
    (r"^我有(?:个|一个|一条|条)?(?:建议|提议)[:,]?\s*(?P<rest>.*)$", "提议 {rest}"),
    (rf"^{WANT}(?:参加)?投票\s*(?P<rest>.*)$", "投票 {rest}"),
    (rf"^{WANT}(?:填|做)(?:个|一个|一下)?问卷\s*(?P<rest>.*)$", "问卷 {rest}"),
    (r"^(?:怎么|怎样|如何)(?:才能)?绑定(?P<rest>)(?:村|社区)?[?]?$", "绑定"),
    (r"^(?:怎么|怎样|如何)(?:提议|提建议|提意见)(?P<rest>)[?]?$", "帮助 提议"),
    (r"^(?:怎么|怎样|如何)投票(?P<rest>)[?]?$", "投票"),
    (r"^(?P<rest>第?\d{1,5}号?)议题$", "议题 {rest}"),
    (r"^(?:怎么用|怎么使用|如何使用|怎么弄|怎么办|能做什么|可以做什么|有什么用|这是什么|你好|您好)(?P<rest>)[?]?$", "帮助"),
))
SPOKEN_END = "。.!！?？~～ "


def rewrite_opening(text: str) -> str:
    """The keyword text a natural opening means ("我要提个建议:修桥" → "提议 修桥"), else the text itself."""
    bare = text.rstrip(SPOKEN_END) or text
    for pattern, keyword_text in OPENINGS:
        match = pattern.match(bare)
        if match:
            rest = text[match.start("rest"):].strip() if match["rest"] else ""
            return keyword_text.format(rest=rest).strip()
    return text


def _open_votes(ctx: Context) -> list[str]:
    """投票 / 问卷 when one is open for this person now (the exact checks only when one query finds a candidate)."""
    person = ctx.person
    # The organisations polls_for and open_for look into: home, then where roles are held (none held: home only).
    org_ids = related_org_ids(ctx.db, person) if held_roles(ctx) else [person.home_org_id]
    poll_maybe, sheet_maybe = pending.maybe_open(ctx.db, org_ids, ctx.now)
    found = []
    if poll_maybe and any(phase(poll, ctx.now) is PollPhase.OPEN and not voted
                          for poll, voted in polls.polls_for(ctx.db, person, ctx.now)):
        found.append("投票")
    if sheet_maybe and any(sheet is None or sheet.submitted_at is None
                           for _, sheet in questionnaires.open_for(ctx.db, person, ctx.now)):
        found.append("问卷")
    return found


def likely_steps(ctx: Context) -> list[str]:
    """Three or four things this person most likely wants now, each a keyword text they may send."""
    if ctx.person.home_org_id is None and not held_roles(ctx):
        candidates = ["绑定 邀请码", "帮助"]
    else:
        roles = held_roles(ctx)
        candidates = []
        if roles & {Role.CONVENOR, Role.PARTY_REVIEWER, Role.CPPCC_COMMITTEE}:
            candidates.append("待审")
        if roles & {Role.CHAIR}:
            candidates.append("到会")
        if roles & {Role.CONVENOR, Role.UPPER_OFFICE}:
            candidates.append("议题清单")
        candidates += _open_votes(ctx)
        candidates += ["提议 内容", "我的议题"]
        candidates = candidates[:3] + ["帮助"]
    return [c for c in dict.fromkeys(candidates) if router.may_send(ctx, c)][:4]


def not_understood(ctx: Context) -> str:
    """The short reply to text no route understood."""
    if ctx.person.home_org_id is None and not held_roles(ctx):
        return ("没看懂这句话。您还没绑定村（社区）：\n"
                "请发送“绑定 邀请码”（邀请码向村干部要），或扫村里的二维码。\n发送“帮助”查看全部用法。")
    steps = [s for s in likely_steps(ctx) if s != "帮助"]
    return ("没看懂这句话。您可以发送：" + "、".join(f"“{s}”" for s in steps) + "。\n"
            "发送“帮助”查看全部用法。")
