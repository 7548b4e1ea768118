"""Domain errors: each carries the short Chinese reply a person sees."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused an action; ``reply`` is what the person is told."""

    reply = "操作没有成功，请稍后再试。"

    def __init__(self, reply: str | None = None) -> None:
        if reply is not None:
            self.reply = reply
        super().__init__(self.reply)


class NotBound(DomainError):
    """The person has no home organisation yet."""

    reply = "您还没有绑定村（社区）。请扫描村里的二维码，或发送“绑定 邀请码”。"


class PermissionDenied(DomainError):
    """The person lacks the role in that organisation (R-ROLE-4)."""

    reply = "您没有这项权限。"


class NotFound(DomainError):
    """A named thing does not exist (or is not visible to this person)."""

    reply = "没有找到。请检查编号是否正确。"


class InvalidInput(DomainError):
    """The input cannot be understood."""

    reply = "没看懂您的输入，请发送“帮助”查看用法。"


class Conflict(DomainError):
    """Someone else changed the same thing first, or it was already done."""

    reply = "这件事已经有人处理过了。"


class ServiceBusy(DomainError):
    """A shared service (Redis) is unavailable for a step that needs it."""

    reply = "系统有点忙，请过一会儿再试。"
