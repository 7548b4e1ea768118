"""Rows for bench/scheduler, made in SQL (INSERT ... SELECT generate_series): a world, a background that is
never due, and batches of due rows at a given instant."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import psycopg

VILLAGES = 100
RESULT_STATES = ["consensus", "basic_consensus", "no_consensus", "implementing", "implemented", "evaluated"]
ADVANCE_HOURS = 60  # due meetings start this far ahead: inside the 72-hour reminder window only
VILLAGE_IDS = "(SELECT array_agg(id ORDER BY id) AS a FROM organisations WHERE starts_with(code, 'sb-v'))"
FAN_IDS = "(SELECT array_agg(id ORDER BY home_org_id) AS a FROM people WHERE starts_with(openid, 'sb-fan-'))"


def world(conn: psycopg.Connection) -> None:
    """A township, 100 villages, in each a convenor and a follower."""
    conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, created_at) "
                 "VALUES ('sb-t', '压测镇', 'township', 'room', 'SBTOWN0001', now())")
    conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, parent_id, created_at) "
                 "SELECT 'sb-v' || lpad(g::text, 4, '0'), '压测村' || g, 'village', 'room', 'SBVIL' || lpad(g::text, 5, '0'), "
                 "(SELECT id FROM organisations WHERE code = 'sb-t'), now() FROM generate_series(1, %s) g", (VILLAGES,))
    for kind, name in (("conv", "书记"), ("fan", "村民")):
        conn.execute("INSERT INTO people (openid, real_name, home_org_id, subscribed, created_at) "
                     f"SELECT 'sb-{kind}-' || id, '{name}' || id, id, true, now() FROM organisations "
                     "WHERE starts_with(code, 'sb-v')")
    conn.execute("INSERT INTO role_grants (person_id, org_id, role, public_servant, created_at) "
                 "SELECT id, home_org_id, 'convenor', false, now() FROM people WHERE starts_with(openid, 'sb-conv-')")


def background(conn: psycopg.Connection, total: int, first: datetime, last: datetime) -> None:
    """``total`` meetings, topics (each with its event) and notices that are due at no instant in [first, last]."""
    steps = [
        ("meetings", "INSERT INTO meetings (org_id, title, starts_at, place, material, status, version, created_at) "
         f"SELECT v.a[1 + mod(g, {VILLAGES})], '协商议事会', "
         "CASE WHEN mod(g, 2) = 0 THEN %(first)s - interval '2 days' - (mod(g, 400)) * interval '1 day' "
         "     ELSE %(last)s + interval '30 days' + (mod(g, 400)) * interval '1 day' END, '村委会', '方案', "
         "CASE WHEN mod(g, 2) = 0 THEN 'closed' ELSE 'scheduled' END, 1, %(first)s - interval '500 days' "
         f"FROM generate_series(1, %(n)s) g, {VILLAGE_IDS} AS v"),
        ("topics", "INSERT INTO topics (org_id, year, seq, number, title, detail, source, state, proposer_id, "
         "text_hash, reconsult_count, version, created_at) "
         f"SELECT v.a[1 + mod(g, {VILLAGES})], 2024, g, '2024-' || g, '旧议题' || g, '', 'resident', "
         f"(%(states)s::text[])[1 + mod(g, {len(RESULT_STATES)})], f.a[1 + mod(g, {VILLAGES})], md5('bg' || g), 0, 1, "
         "%(first)s - interval '30 days' - (mod(g, 400)) * interval '1 day' "
         f"FROM generate_series(1, %(n)s) g, {VILLAGE_IDS} AS v, {FAN_IDS} AS f"),
        ("topic_events", "INSERT INTO topic_events (topic_id, org_id, at, to_state, action, reason, prev_hash, hash) "
         "SELECT id, org_id, created_at + interval '1 day', state, 'bench', '', repeat('0', 64), md5('bg-e' || id) "
         "FROM topics"),
        ("notices", "INSERT INTO notices (org_id, seq, kind, audience, title, body, delivery_plan, created_at, "
         "public_from, public_until, closed_at, closed_reason) "
         f"SELECT v.a[1 + mod(g, {VILLAGES})], g, 'general', 'followers', '旧通知', '正文', 'direct', t, t, "
         "t + interval '8 days', CASE WHEN mod(g, 20) = 0 THEN NULL ELSE t + interval '8 days' END, "
         "CASE WHEN mod(g, 20) = 0 THEN NULL ELSE '公示期满' END "
         f"FROM generate_series(1, %(n)s) g, {VILLAGE_IDS} AS v, LATERAL (SELECT CASE WHEN mod(g, 20) = 0 "
         "THEN %(last)s + interval '30 days' + (mod(g, 400)) * interval '1 day' "
         "ELSE %(first)s - interval '9 days' - (mod(g, 400)) * interval '1 day' END AS t) AS x"),
    ]
    params = {"n": total, "first": first, "last": last, "states": RESULT_STATES}
    for table, sql in steps:
        started = time.perf_counter()
        conn.execute(sql, params)
        print(f"    background {table}: {total:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    for table in ("meetings", "topics", "topic_events", "notices"):
        conn.execute(f"VACUUM ANALYZE {table}")


def due_meetings(conn: psycopg.Connection, n: int, now: datetime) -> None:
    """``n`` scheduled meetings inside their 72-hour reminder window, each with one attendee."""
    conn.execute("INSERT INTO meetings (org_id, title, starts_at, place, material, status, version, created_at) "
                 f"SELECT v.a[1 + mod(g, {VILLAGES})], '协商议事会', %(at)s + (mod(g, 600)) * interval '1 second', "
                 "'村委会议室', '道路硬化方案（宽4米，预算12万元）', 'scheduled', 1, %(now)s - interval '10 days' "
                 f"FROM generate_series(1, %(n)s) g, {VILLAGE_IDS} AS v",
                 {"n": n, "now": now, "at": now + timedelta(hours=ADVANCE_HOURS)})
    conn.execute("INSERT INTO meeting_attendees (meeting_id, person_id, kind, note) "
                 "SELECT m.id, p.id, 'member', '' FROM meetings m JOIN people p ON p.home_org_id = m.org_id "
                 "AND starts_with(p.openid, 'sb-fan-') WHERE m.starts_at >= %(at)s AND m.starts_at < %(at)s + interval '1 hour'",
                 {"at": now + timedelta(hours=ADVANCE_HOURS)})


def due_topics(conn: psycopg.Connection, n: int, now: datetime, batch: int) -> None:
    """``n`` topics that reached 达成共识 yesterday (their result notice is due)."""
    base = 10_000_000 * batch
    conn.execute("INSERT INTO topics (org_id, year, seq, number, title, detail, source, state, proposer_id, "
                 "text_hash, reconsult_count, version, created_at, result_note) "
                 f"SELECT v.a[1 + mod(g, {VILLAGES})], 2026, %(base)s + g, '2026-' || (%(base)s + g), '村东头道路硬化', '', "
                 f"'resident', 'consensus', f.a[1 + mod(g, {VILLAGES})], md5('due' || (%(base)s + g)), 0, 1, "
                 "%(now)s - interval '30 days', '同意硬化，宽4米' "
                 f"FROM generate_series(1, %(n)s) g, {VILLAGE_IDS} AS v, {FAN_IDS} AS f",
                 {"n": n, "now": now, "base": base})
    conn.execute("INSERT INTO topic_events (topic_id, org_id, at, to_state, action, reason, prev_hash, hash) "
                 "SELECT id, org_id, %(now)s - interval '1 day', 'consensus', 'bench', '', repeat('0', 64), "
                 "md5('due-e' || id) "
                 "FROM topics WHERE year = 2026 AND seq > %(base)s AND seq <= %(base)s + %(n)s",
                 {"n": n, "now": now, "base": base})


def due_notices(conn: psycopg.Connection, n: int, now: datetime, batch: int) -> None:
    """``n`` public notices whose window ended an hour ago (one in ten a result notice: convenors are told)."""
    conn.execute("INSERT INTO notices (org_id, seq, kind, audience, title, body, delivery_plan, created_at, "
                 "public_from, public_until) "
                 f"SELECT v.a[1 + mod(g, {VILLAGES})], %(base)s + g, "
                 "CASE WHEN mod(g, 10) = 0 THEN 'result_notice' ELSE 'general' END, 'followers', '公示：道路硬化', '正文', "
                 "'direct', %(now)s - interval '8 days', %(now)s - interval '8 days', %(now)s - interval '1 hour' "
                 f"FROM generate_series(1, %(n)s) g, {VILLAGE_IDS} AS v",
                 {"n": n, "now": now, "base": 10_000_000 * batch})


def settle(conn: psycopg.Connection, now: datetime) -> None:
    """Close every notice still open that a sweep made or left (so the next batch starts clean), and analyze."""
    conn.execute("UPDATE notices SET closed_at = %(now)s, closed_reason = 'bench' "
                 "WHERE closed_at IS NULL AND created_at BETWEEN %(now)s - interval '30 days' AND %(now)s",
                 {"now": now})
    for table in ("meetings", "topics", "topic_events", "notices", "deliveries"):
        conn.execute(f"ANALYZE {table}")
