"""The supervisors' overview (R-RES-7) now carries 六有 gaps (R-ORG-7) and participation (R-ORG-6) for every
organisation below the office, read set-based: the number of queries does not grow with the organisations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, func, select

from domain.orgs import tree as orgs
from domain.supervision import overview as supervision
from models import Meeting, MeetingAttendee, OrgKind
from tests.test_records_participation import _drive_meeting
from tests.topic_world import build, run_cli


def _line(reply, name):
    return next(line for line in reply.splitlines() if line.startswith(f"· {name}："))


def test_r_res_7_chat_overview_carries_six_have_gaps_and_attendance_for_every_child(bot, db, services, tmp_path):
    build(db)
    before = bot.send("o-t1", "监督")
    assert "六有缺制度、场所、标识、活动、成效" in _line(before, "东风村")  # 有组织: a convenor and 10 members
    assert "六有缺组织、制度、场所、标识、活动、成效" in _line(before, "红旗村")  # no council members
    assert "到会率" not in before  # no meeting yet: no rate to give
    meeting = _drive_meeting(bot, db, services)
    db.expire_all()
    expected = db.scalar(select(func.count()).where(MeetingAttendee.meeting_id == meeting.id))
    attended = db.scalar(select(func.count()).where(MeetingAttendee.meeting_id == meeting.id,
                                                    MeetingAttendee.checked_in_at.is_not(None)))
    run_cli(services, tmp_path, "org", "six-have", "--org", "v1", "--item", "制度", "--note", "议事规则已上墙")
    after = bot.send("o-t1", "监督")
    line = _line(after, "东风村")
    assert "六有缺场所、标识、成效" in line and "制度" not in line and "活动" not in line
    assert f"到会率{round(100 * attended / expected)}%" in line and 0 < attended < expected
    assert "到会率" not in _line(after, "红旗村")
    assert len(after.encode()) <= 2000
    detail = bot.send("o-t1", "监督 v1")
    assert f"应到会 {expected} 人次，实到 {attended} 人次（到会率 {round(100 * attended / expected)}%）" in detail
    assert "六有：缺有场所、有标识、有成效" in detail


def test_r_res_7_overview_queries_do_not_grow_with_organisations(db, services):
    build(db)
    now = datetime.now(UTC)
    engine = db.get_bind()
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001 - SQLAlchemy's event signature
        seen.append(statement)

    def statements(code):
        db.expire_all()
        seen.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            view = supervision.build(db, orgs.get_org(db, code), now, services.settings)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert all(row.six_have_missing is not None and row.participation is not None for row in view.rows)
        return len(view.rows), len(seen)

    small = statements("t1")
    for n in range(30):
        orgs.create_org(db, code=f"x{n}", name=f"新{n}村", kind=OrgKind.VILLAGE, parent_code="t1")
    db.add(Meeting(org_id=orgs.get_org(db, "x3").id, title="会", starts_at=now, place="村委会", opened_at=now))
    db.commit()
    large = statements("t1")
    assert (small[0], large[0]) == (2, 32)
    assert large[1] == small[1], (small, large)
