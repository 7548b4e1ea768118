"""Sweeps make their notices in bulk, in chunks: one notice per due row, gap-free numbers per organisation, the
same deliveries as the one-by-one path; twice, concurrently, beside single creations or killed between chunks,
nothing is made twice."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.meetings import sweeps
from domain.notices import sweep_chunks
from domain.notices.outbox import audience_ids, convenor_ids, create_notice, push_to
from domain.notices.outbox_bulk import NoticeSpec, create_notices
from domain.orgs import people
from domain.orgs import tree as orgs
from models import (
    Audience,
    Delivery,
    DeliveryStatus,
    Meeting,
    Notice,
    NoticeKind,
    Organisation,
    OrgKind,
    Person,
    Role,
    RoleGrant,
    TopicCosigner,
)
from scheduler import jobs
from tests.test_notices_helpers import T0, meeting, person, topic, world

OFFSETS = (timedelta(hours=60), timedelta(hours=20), timedelta(hours=1))  # the 72h, 24h and 2h windows


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 due rows, so a few dozen rows cross several chunks and organisation boundaries."""
    monkeypatch.setattr(sweep_chunks, "CHUNK", 7)


def _villages(db, w, count: int) -> list:
    """More villages under the township, each with a convenor and two followers."""
    made = []
    for i in range(3, 3 + count):
        village = orgs.create_org(db, code=f"v{i}", name=f"新村{i}", kind=OrgKind.VILLAGE, parent_code="t1")
        people.grant_role(db, person(db, f"conv-{i}", village, f"书记{i}"), village, Role.CONVENOR)
        person(db, f"fan-{i}-a", village, "村民甲")
        person(db, f"fan-{i}-b", village, "村民乙")
        made.append(village)
    db.commit()
    return made


def _due_meetings(db, per_org: int = 6, extra_villages: int = 3) -> tuple[dict, list[Meeting]]:
    """Meetings in every reminder window across five villages, each with one or two attendees."""
    w = world(db)
    villages = [w["v1"], w["v2"], *_villages(db, w, extra_villages)]
    made = []
    for org in villages:
        fans = list(db.scalars(select(Person).where(Person.home_org_id == org.id).order_by(Person.id)))
        for k in range(per_org):
            m = meeting(db, org, T0 + OFFSETS[k % 3] + timedelta(minutes=k), attendees=fans[: 1 + k % 2],
                        title=f"{org.name}第{k}次会")
            made.append(m)
    db.commit()
    return w, made


def _numbers_are_gap_free(db) -> dict[int, int]:
    """Assert every organisation's notice numbers are 1..n; returns n per organisation."""
    seqs: dict[int, list[int]] = defaultdict(list)
    for org_id, seq in db.execute(select(Notice.org_id, Notice.seq)):
        seqs[org_id].append(seq)
    for org_id, found in seqs.items():
        assert sorted(found) == list(range(1, len(found) + 1)), (org_id, sorted(found))
    return {org_id: len(found) for org_id, found in seqs.items()}


def _expected_recipients(db, notice: Notice) -> set[int]:
    org = notice.org
    return set(db.scalars(audience_ids(org, notice.audience, meeting_id=notice.meeting_id)))


def _reminders(db) -> list[Notice]:
    return list(db.scalars(select(Notice).where(Notice.kind == NoticeKind.MEETING_NOTICE).order_by(Notice.id)))


# ---- the bulk creation itself --------------------------------------------------------------------------
NOTICE_COLUMNS = ("org_id", "kind", "audience", "title", "body", "topic_id", "meeting_id", "meeting_version",
                  "skip_if_acted", "public_from", "public_until", "closed_at", "closed_reason", "created_by_id",
                  "delivery_plan", "mass_lease_until", "mass_msg_id", "mass_status", "qr_scene", "qr_url",
                  "created_at")


def _copies(db, notice_id: int) -> list[tuple]:
    return sorted((d.person_id, d.openid, d.status, d.channel, d.attempts, d.next_attempt_at, d.lease_until,
                   d.claimed_by, d.last_error, d.wechat_msgid, d.final_status, d.sent_at)
                  for d in db.scalars(select(Delivery).where(Delivery.notice_id == notice_id)))


def test_bulk_creation_writes_what_the_one_by_one_path_writes_for_every_audience(db, services):
    w = world(db)
    v1, town = w["v1"], w["town"]
    gone = person(db, "gone-1", v1, "已取关")
    gone.subscribed = False
    roster = Person(real_name="花名册村民", home_org_id=v1.id)  # no WeChat at all
    db.add(roster)
    revoked = person(db, "old-conv", v1, "前书记")
    db.add(RoleGrant(person_id=revoked.id, org_id=v1.id, role=Role.CONVENOR, revoked_at=T0 - timedelta(days=1)))
    t = topic(db, v1, w["fans"][0])
    db.add(TopicCosigner(topic_id=t.id, person_id=gone.id))
    m = meeting(db, v1, T0 + timedelta(hours=20), topic_row=t, attendees=[w["member"], gone, roster, w["outsider"]])
    db.commit()
    until = T0 + timedelta(days=7)
    cases = [  # (create_notice's arguments, the spec's own)
        (dict(org=town, audience=Audience.FOLLOWERS, public_until=until), dict(org_id=town.id, public_until=until)),
        (dict(org=v1, audience=Audience.MEMBERS), dict(org_id=v1.id)),
        (dict(org=v1, audience=Audience.ATTENDEES, meeting_id=m.id, meeting_version=1, skip_if_acted=f"meeting:{m.id}",
              topic=t), dict(org_id=v1.id, meeting_id=m.id, meeting_version=1, skip_if_acted=f"meeting:{m.id}",
                             topic_id=t.id)),
        (dict(org=v1, audience=Audience.MEETING_PUBLIC, meeting_id=m.id), dict(org_id=v1.id, meeting_id=m.id)),
        (dict(org=v1, audience=Audience.TOPIC_PEOPLE, topic=t), dict(org_id=v1.id, topic_id=t.id)),
        (dict(org=v1, audience=Audience.NAMED, recipients=convenor_ids([v1.id])), dict(org_id=v1.id, to_convenors=True)),
    ]
    for n, (single, bulk) in enumerate(cases):
        audience = single["audience"]
        one = create_notice(db, kind=NoticeKind.REMINDER, title=f"标题{n}", body=f"正文{n}", now=T0,
                            source_key=f"one:{n}", **single)
        [(made_id, key)] = create_notices(db, [NoticeSpec(kind=NoticeKind.REMINDER, audience=audience, title=f"标题{n}",
                                                          body=f"正文{n}", source_key=f"bulk:{n}", **bulk)], T0)
        db.commit()
        made = db.get(Notice, made_id)
        assert key == f"bulk:{n}" and made.seq == one.seq + 1, audience
        assert {c: getattr(made, c) for c in NOTICE_COLUMNS} == {c: getattr(one, c) for c in NOTICE_COLUMNS}, audience
        assert _copies(db, made.id) == _copies(db, one.id) and _copies(db, one.id), audience
    statuses = Counter(d.status for d in db.scalars(select(Delivery)))
    assert statuses[DeliveryStatus.SKIPPED] > 0 and statuses[DeliveryStatus.PENDING] > 0


def test_bulk_creation_skips_used_source_keys_and_numbers_in_order(db, services):
    w = world(db)
    push_to(db, [w["fans"][0]], org=w["v1"], title="已有", body="……", now=T0, source_key="k:2")
    db.commit()
    specs = [NoticeSpec(org_id=org.id, kind=NoticeKind.REMINDER, audience=Audience.NAMED, title=key, body="……",
                        source_key=key, to_convenors=True)
             for org, key in ((w["v2"], "k:1"), (w["v1"], "k:2"), (w["v1"], "k:3"), (w["v2"], "k:4"), (w["v1"], "k:3"))]
    made = create_notices(db, specs, T0)
    db.commit()
    assert [k for _, k in made] == ["k:1", "k:3", "k:4"]
    assert create_notices(db, specs, T0) == []
    numbers = {n.source_key: (n.org_id, n.seq) for n in db.scalars(select(Notice))}
    assert numbers == {"k:2": (w["v1"].id, 1), "k:1": (w["v2"].id, 1), "k:3": (w["v1"].id, 2), "k:4": (w["v2"].id, 2)}


# ---- R-MEET-2 in bulk ---------------------------------------------------------------------------------
def test_r_meet_2_many_due_meetings_across_villages_get_one_reminder_each(db, services, small_chunks):
    w, due = _due_meetings(db)
    push_to(db, [w["fans"][0]], org=w["v1"], title="先有一条", body="……", now=T0 - timedelta(days=1))
    db.commit()
    assert dict(jobs.run_due(services, T0, only=["meeting-reminders"])) == {"meeting-reminders": len(due)}
    db.expire_all()
    reminders = _reminders(db)
    assert Counter(n.meeting_id for n in reminders) == Counter(m.id for m in due)
    counts = _numbers_are_gap_free(db)
    assert counts[w["v1"].id] == 1 + sum(m.org_id == w["v1"].id for m in due)
    windows = {"72h": Audience.ATTENDEES, "24h": Audience.MEETING_PUBLIC, "2h": Audience.ATTENDEES}
    for notice in reminders:
        m = db.get(Meeting, notice.meeting_id)
        assert notice.audience is windows[notice.source_key.rsplit(":", 1)[1]]
        assert notice.meeting_version == 1 and notice.skip_if_acted == f"meeting:{m.id}"
        assert notice.title == f"会议提醒：{m.title}" and "请准时参加" in notice.body
        copies = list(db.scalars(select(Delivery).where(Delivery.notice_id == notice.id)))
        assert {d.person_id for d in copies} == _expected_recipients(db, notice)
        assert {d.status for d in copies} == {DeliveryStatus.PENDING} and {d.next_attempt_at for d in copies} == {T0}
    assert dict(jobs.run_due(services, T0, only=["meeting-reminders"])) == {"meeting-reminders": 0}
    assert db.scalar(select(func.count(Notice.id))) == len(due) + 1


def test_r_meet_2_two_concurrent_sweeps_make_each_reminder_once(db, services, small_chunks):
    _, due = _due_meetings(db, per_org=9)
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def run() -> None:
        barrier.wait()
        results.append(dict(jobs.run_due(services, T0, only=["meeting-reminders"])))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r["meeting-reminders"] for r in results) == len(due), results
    assert Counter(n.meeting_id for n in _reminders(db)) == Counter(m.id for m in due)
    _numbers_are_gap_free(db)


def test_r_meet_2_single_creations_during_a_bulk_sweep_keep_numbers_unique(db, services, small_chunks):
    w, due = _due_meetings(db, per_org=10)
    villages = sorted({m.org_id for m in due})
    stop = threading.Event()
    singles: list[int] = []

    def broadcast() -> None:
        n = 0
        while not stop.is_set() or n < 10:
            with services.sessions() as s:
                org = s.get(Organisation, villages[n % len(villages)])
                create_notice(s, org=org, kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS, title=f"广播{n}",
                              body="……", now=T0)
                s.commit()
            singles.append(n)
            n += 1

    # A single creation holds an organisation's lock: the sweep waits for it, then numbers after it.
    with services.sessions() as holder:
        create_notice(holder, org=holder.get(Organisation, villages[0]), kind=NoticeKind.GENERAL,
                      audience=Audience.FOLLOWERS, title="先到", body="……", now=T0)
        sweeper = threading.Thread(target=lambda: jobs.run_due(services, T0, only=["meeting-reminders"]))
        sweeper.start()
        sweeper.join(0.5)
        assert sweeper.is_alive()  # waiting for the organisation's row lock
        holder.commit()
    sweeper.join(60)
    assert not sweeper.is_alive()
    # And single creations running all through a second sweep (the next reminder windows) interleave with it.
    for m in due:
        db.get(Meeting, m.id).version = 2
    db.commit()
    background = threading.Thread(target=broadcast)
    background.start()
    jobs.run_due(services, T0, only=["meeting-reminders"])
    stop.set()
    background.join(60)
    assert len(_reminders(db)) == 2 * len(due) and len(singles) >= 10
    counts = _numbers_are_gap_free(db)
    assert sum(counts.values()) == 1 + 2 * len(due) + len(singles)


def test_r_meet_2_sweep_killed_between_chunks_is_completed_by_the_next_run(db, services, small_chunks):
    _, due = _due_meetings(db)
    commits = 0

    class Killed(BaseException):
        """The process dies: nothing in the sweep catches it."""

    def killed_after_two_chunks() -> None:
        nonlocal commits
        db.commit()
        commits += 1
        if commits == 2:
            raise Killed()

    with pytest.raises(Killed):
        sweeps.remind_meetings(db, T0, services.settings, checkpoint=killed_after_two_chunks)
    db.rollback()
    assert len(_reminders(db)) == 2 * sweep_chunks.CHUNK  # two whole chunks, nothing of the third
    assert dict(jobs.run_due(services, T0, only=["meeting-reminders"])) == {
        "meeting-reminders": len(due) - 2 * sweep_chunks.CHUNK}
    assert Counter(n.meeting_id for n in _reminders(db)) == Counter(m.id for m in due)
    _numbers_are_gap_free(db)


def test_r_meet_2_a_broken_row_is_skipped_and_the_rest_of_its_chunk_made(db, services, small_chunks, monkeypatch):
    _, due = _due_meetings(db)
    broken = due[3]
    real = sweeps.reminder_body

    def body(meeting, now, tz):
        if meeting.id == broken.id:
            raise ValueError("bad row")
        return real(meeting, now, tz)

    monkeypatch.setattr(sweeps, "reminder_body", body)
    made = sweeps.remind_meetings(db, T0, services.settings)
    db.commit()
    assert len(made) == len(due) - 1 and broken.id not in {n.meeting_id for n in made}
    _numbers_are_gap_free(db)
