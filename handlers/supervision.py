"""The supervisors' view in the chat (R-RES-7, X-15): 监督 for a township or county office."""

from __future__ import annotations

from domain.errors import NotFound
from domain.supervision import overview as supervision
from domain.supervision import scope
from domain.supervision.text import detail_lines, overview_lines
from handlers.context import Context
from handlers.registry import router
from models import Role

CODE_SHOWN = 40  # organisation codes are at most 40 characters (domain/orgs/tree.CODE_RE)


@router.keyword("监督", "监督情况", roles=(Role.UPPER_OFFICE,))
def supervise(ctx: Context, rest: str) -> str:
    """监督：看下属各村（社区）开会、议题落实、群众评价等情况；监督 代码：看其中一个的详情"""
    words = rest.split()
    code = words[0] if words else ""
    mine = scope.offices(ctx.db, ctx.person)
    if code and not any(o.code == code for o in mine):
        for office in mine:  # a child's code: its detail, if it is below one of the person's offices
            child = next((o for o in scope.children(ctx.db, office) if o.code == code), None)
            if child is not None:
                [row] = supervision.build(ctx.db, office, ctx.now, ctx.settings, only=child).rows
                return "\n".join(detail_lines(row, ctx.settings.tz, ctx.settings.topics.list_limit))
        shown = code if len(code) <= CODE_SHOWN else code[:CODE_SHOWN] + "…"  # a long code is not echoed whole
        raise NotFound(f"您监督的范围里没有代码为 {shown} 的组织。发送“监督”查看全部。")
    office = scope.choose_office(ctx.db, ctx.person, code)
    return "\n".join(overview_lines(supervision.build(ctx.db, office, ctx.now, ctx.settings)))
