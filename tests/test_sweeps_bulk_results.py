"""The result and topic-notice sweeps in bulk, in chunks (R-RES-2, R-TOPIC-6): one notice per due row, the
feedback and warnings that go with them, gap-free numbers; run twice, nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.meetings import sweeps
from domain.notices import sweep_chunks
from domain.notices.outbox import convenor_ids, create_notice, push_to
from domain.topics import results as result_notices
from models import Audience, Delivery, Notice, NoticeKind, Organisation, Person, TopicState
from tests.test_notices_helpers import T0, event, meeting, topic, world
from tests.test_sweeps_bulk import _expected_recipients, _numbers_are_gap_free, _villages


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 due rows, so a few dozen rows cross several chunks and organisation boundaries."""
    monkeypatch.setattr(sweep_chunks, "CHUNK", 7)


def _results(db, w, villages, per_org: int = 5) -> list:
    made = []
    for org in villages:
        proposer = db.scalar(select(Person).where(Person.home_org_id == org.id).order_by(Person.id.desc()).limit(1))
        for k in range(per_org):
            t = topic(db, org, proposer, seq=k + 1, state=TopicState.CONSENSUS, title=f"{org.name}议题{k}",
                      result_note="同意。")
            event(db, t, TopicState.CONSENSUS, T0 - timedelta(hours=2))
            made.append(t)
    db.commit()
    return made


def test_r_res_2_many_results_get_one_notice_each_and_feedback_unless_already_told(db, services, small_chunks):
    w = world(db)
    villages = [w["v1"], w["v2"], *_villages(db, w, 2)]
    topics = _results(db, w, villages)
    told = topics[4]
    push_to(db, [told.proposer], org=db.get(Organisation, told.org_id), title="议题进展", body="达成共识",
            now=T0 - timedelta(hours=1), topic=told, source_key="topic:told")
    db.commit()
    made = result_notices.publish_results(db, T0, services.settings, checkpoint=db.commit)
    assert len(made) == len(topics) and {n.topic_id for n in made} == {t.id for t in topics}
    feedback = Counter(n.topic_id for n in db.scalars(select(Notice).where(Notice.kind == NoticeKind.FEEDBACK)))
    assert feedback == Counter({t.id: 1 for t in topics})  # the told topic keeps its one, the rest get theirs
    for notice in made:
        copies = {d.person_id for d in db.scalars(select(Delivery).where(Delivery.notice_id == notice.id))}
        assert notice.public_until is not None and copies == _expected_recipients(db, notice)
    assert result_notices.publish_results(db, T0, services.settings) == []
    _numbers_are_gap_free(db)


def test_r_res_2_closing_many_notices_tells_the_convenors_once_per_result_notice(db, services, small_chunks):
    w = world(db)
    villages = [w["v1"], w["v2"], *_villages(db, w, 2)]
    topics = _results(db, w, villages, per_org=4)
    result_notices.publish_results(db, T0, services.settings)
    for org in villages:
        for k in range(3):
            create_notice(db, org=org, kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS, title=f"通知{k}",
                          body="……", now=T0, public_days=k + 1)
    db.commit()
    later = T0 + timedelta(days=9)
    closed = result_notices.close_expired(db, later, services.settings, checkpoint=db.commit)
    assert len(closed) == len(topics) + 3 * len(villages) and all(n.closed_at == later for n in closed)
    told = list(db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)))
    assert sorted(n.source_key for n in told) == sorted(f"closed:n{n.id}" for n in closed
                                                         if n.kind is NoticeKind.RESULT_NOTICE)
    for reminder in told:
        copies = {d.person_id for d in db.scalars(select(Delivery).where(Delivery.notice_id == reminder.id))}
        assert copies == set(db.scalars(convenor_ids([reminder.org_id])))
    assert result_notices.close_expired(db, later, services.settings) == []
    _numbers_are_gap_free(db)


def test_r_topic_6_bulk_topic_notices_one_per_topic_and_late_warnings(db, services, small_chunks):
    w = world(db)
    villages = [w["v1"], w["v2"], *_villages(db, w, 2)]
    late_meetings, topics = [], []
    for org in villages:
        proposer = db.scalar(select(Person).where(Person.home_org_id == org.id).limit(1))
        for k in range(4):
            t = topic(db, org, proposer, seq=k + 1, title=f"{org.name}议题{k}")
            topics.append(t)
            first = meeting(db, org, T0 + timedelta(days=3 + 5 * (k % 2)), topic_row=t)
            meeting(db, org, T0 + timedelta(days=30), topic_row=t)  # the same topic's next meeting: no second notice
            if k % 2 == 0:
                late_meetings.append(first)
    db.commit()
    made = sweeps.publish_topic_notices(db, T0, services.settings, checkpoint=db.commit)
    assert Counter(n.topic_id for n in made) == Counter(t.id for t in topics)
    warnings = list(db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)))
    assert sorted(n.source_key for n in warnings) == sorted(f"topic-notice-late:m{m.id}:v1" for m in late_meetings)
    assert sweeps.publish_topic_notices(db, T0, services.settings) == []
    _numbers_are_gap_free(db)
