"""Rows for bench/supervision, made in SQL (INSERT ... SELECT generate_series): a county of townships and
villages, each village with a council, a year of meetings with attendance and speeches, topics at every
stage with their events, a poll, trainings, 六有 entries, residents' ratings and questionnaire sheets; and a
small county (one township, three villages) with the same per-village rows, for the baseline."""

from __future__ import annotations

from datetime import datetime

import psycopg

MEMBERS = 12  # council members per village (R-ORG-4: 10-30)
FOLLOWERS = 30  # followers per village
MEETINGS = 6  # opened in the last year, 55 days apart
TOPIC_STATES = ["registered", "approved", "consensus", "implementing", "implemented", "evaluated", "confirmed",
                "withdrawn"]


def _orgs(conn: psycopg.Connection, prefix: str, townships: int, per_township: int, now: datetime) -> None:
    conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, created_at) "
                 "VALUES (%s, %s, 'county_office', 'room', upper(%s), %s - interval '3 years')",
                 (f"{prefix}c", f"{prefix}县协商办", f"{prefix}C000001", now))
    conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, parent_id, created_at) "
                 "SELECT %(p)s || 't' || g, %(p)s || '镇' || g, 'township', 'room', upper(%(p)s) || 'T' || lpad(g::text, 6, '0'), "
                 "(SELECT id FROM organisations WHERE code = %(p)s || 'c'), %(now)s - interval '3 years' "
                 "FROM generate_series(1, %(n)s) g", {"p": prefix, "n": townships, "now": now})
    conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, parent_id, created_at) "
                 "SELECT %(p)s || 'v' || lpad(g::text, 4, '0'), %(p)s || '村' || g, 'village', 'room', "
                 "upper(%(p)s) || 'V' || lpad(g::text, 6, '0'), "
                 "(SELECT id FROM organisations WHERE code = %(p)s || 't' || (1 + (g - 1) / %(per)s)), "
                 "%(now)s - interval '3 years' FROM generate_series(1, %(n)s) g",
                 {"p": prefix, "n": townships * per_township, "per": per_township, "now": now})


def world(conn: psycopg.Connection, now: datetime, townships: int, per_township: int) -> None:
    """The big county ``bs-`` and the small one ``bq-`` (one township, three villages), then the rows of each village."""
    _orgs(conn, "bs-", townships, per_township, now)
    _orgs(conn, "bq-", 1, 3, now)
    villages = "SELECT id FROM organisations WHERE kind = 'village' AND (starts_with(code, 'bs-') OR starts_with(code, 'bq-'))"
    p = {"now": now}
    steps = [
        ("people", "INSERT INTO people (openid, real_name, home_org_id, subscribed, created_at) "
         "SELECT 'bs-' || k.kind || '-' || v.id || '-' || g, k.kind || g, v.id, true, %(now)s - interval '2 years' "
         f"FROM ({villages}) v, (VALUES ('conv', 1), ('m', {MEMBERS}), ('f', {FOLLOWERS})) AS k(kind, n), "
         "LATERAL generate_series(1, k.n) g"),
        ("offices", "INSERT INTO people (openid, real_name, subscribed, created_at) "
         "VALUES ('bs-office', '县协商办', true, %(now)s), ('bq-office', '小县协商办', true, %(now)s)"),
        ("role_grants", "INSERT INTO role_grants (person_id, org_id, role, public_servant, created_at) "
         "SELECT id, home_org_id, CASE WHEN starts_with(openid, 'bs-conv-') THEN 'convenor' ELSE 'member' END, "
         "false, %(now)s - interval '2 years' FROM people "
         "WHERE starts_with(openid, 'bs-conv-') OR starts_with(openid, 'bs-m-')"),
        ("office grants", "INSERT INTO role_grants (person_id, org_id, role, public_servant, created_at) "
         "SELECT p.id, o.id, 'upper_office', false, %(now)s FROM people p JOIN organisations o "
         "ON o.code = left(p.openid, 3) || 'c' WHERE p.openid IN ('bs-office', 'bq-office')"),
        ("meetings", "INSERT INTO meetings (org_id, title, starts_at, place, material, status, version, form, "
         "revised_text, summary, confirm_method, opened_at, closed_at, created_at) "
         "SELECT v.id, '协商议事会' || g, %(now)s - g * interval '55 days', '村委会', '', 'closed', 1, 'meeting', '', '', '', "
         "%(now)s - g * interval '55 days', %(now)s - g * interval '55 days' + interval '2 hours', "
         f"%(now)s - g * interval '55 days' - interval '8 days' FROM ({villages}) v, generate_series(1, {MEETINGS}) g"),
        ("meeting_attendees", "INSERT INTO meeting_attendees (meeting_id, person_id, kind, checked_in_at, note) "
         "SELECT m.id, p.id, 'member', CASE WHEN mod(p.id + m.id, 5) = 0 THEN NULL ELSE m.opened_at END, '' "
         "FROM meetings m JOIN people p ON p.home_org_id = m.org_id "
         "AND (starts_with(p.openid, 'bs-conv-') OR starts_with(p.openid, 'bs-m-'))"),
        ("meeting_speeches", "INSERT INTO meeting_speeches (meeting_id, person_id, side, status, requested_at, text) "
         "SELECT a.meeting_id, a.person_id, 'for', 'done', a.checked_in_at, '' FROM meeting_attendees a "
         "WHERE a.checked_in_at IS NOT NULL AND mod(a.person_id, 3) = 0"),
        ("topics", "INSERT INTO topics (org_id, year, seq, number, title, detail, source, state, proposer_id, "
         "text_hash, reconsult_count, version, created_at) "
         "SELECT v.id, 2026, g, '2026-' || lpad(g::text, 3, '0'), '议题' || g, '', 'resident', "
         f"(%(states)s::text[])[g], f.id, md5(v.id || '-' || g), 0, 1, %(now)s - g * interval '30 days' "
         f"FROM ({villages}) v, generate_series(1, {len(TOPIC_STATES)}) g, "
         "LATERAL (SELECT id FROM people WHERE home_org_id = v.id AND starts_with(openid, 'bs-f-') "
         "ORDER BY id LIMIT 1 OFFSET g) f"),
        ("topic_events", "INSERT INTO topic_events (topic_id, org_id, at, from_state, to_state, action, reason, "
         "prev_hash, hash) SELECT t.id, t.org_id, t.created_at + s * interval '3 days', "
         "CASE WHEN s = 1 THEN NULL ELSE 'implementing' END, CASE WHEN s = 1 THEN 'registered' ELSE t.state END, "
         "'bench', '', repeat('0', 64), md5(t.id || '-' || s) FROM topics t, generate_series(1, 2) s"),
        ("topic_cosigners", "INSERT INTO topic_cosigners (topic_id, person_id, created_at) "
         "SELECT t.id, p.id, t.created_at FROM topics t JOIN people p ON p.home_org_id = t.org_id "
         "AND starts_with(p.openid, 'bs-m-') AND mod(p.id, 6) = 0"),
        ("polls", "INSERT INTO polls (org_id, number, kind, question, multiple, max_choices, audience, anonymous, "
         "hide_results, opens_at, closes_at, created_at) SELECT v.id, 1, 'simple', '路灯装哪边', false, 1, "
         f"'followers', true, false, %(now)s - interval '40 days', %(now)s - interval '35 days', "
         f"%(now)s - interval '40 days' FROM ({villages}) v"),
        ("poll_voters", "INSERT INTO poll_voters (poll_id, person_id, voted_at) "
         "SELECT pl.id, p.id, pl.opens_at + interval '1 hour' FROM polls pl JOIN people p ON p.home_org_id = pl.org_id "
         "AND mod(p.id, 2) = 0"),
        ("training_records", "INSERT INTO training_records (person_id, org_id, held_on, title, created_at) "
         "SELECT p.id, p.home_org_id, (%(now)s - interval '20 days')::date, '协商议事能力培训', %(now)s FROM people p "
         "WHERE starts_with(p.openid, 'bs-m-')"),
        ("six_have_entries", "INSERT INTO six_have_entries (org_id, item, present, note, created_at) "
         "SELECT v.id, i.item, mod(v.id, 4) <> 0, '已登记', %(now)s - interval '100 days' "
         f"FROM ({villages}) v, (VALUES ('rules'), ('place'), ('sign')) AS i(item) WHERE mod(v.id, 7) <> 0"),
        ("topic_evaluations", "INSERT INTO topic_evaluations (topic_id, org_id, author_id, kind, aspect, score, text, "
         "changes, created_at) SELECT t.id, t.org_id, p.id, 'resident_rating', 'overall', 1 + mod(p.id, 5), '', 0, "
         "%(now)s - interval '5 days' FROM topics t JOIN people p ON p.home_org_id = t.org_id "
         "AND starts_with(p.openid, 'bs-f-') AND mod(p.id, 3) = 0 WHERE t.state IN ('implemented', 'evaluated')"),
        ("questionnaires", "INSERT INTO questionnaires (org_id, number, title, intro, audience, anonymous, allow_changes, "
         "opens_at, closes_at, created_at) SELECT v.id, 1, '村务问卷', '', 'followers', false, false, "
         f"%(now)s - interval '60 days', %(now)s - interval '50 days', %(now)s - interval '60 days' FROM ({villages}) v"),
        ("questionnaire_responses", "INSERT INTO questionnaire_responses (questionnaire_id, person_id, started_at, "
         "submitted_at) SELECT q.id, p.id, q.opens_at + interval '1 hour', q.opens_at + interval '2 hours' "
         "FROM questionnaires q JOIN people p ON p.home_org_id = q.org_id AND mod(p.id, 2) = 1"),
    ]
    for _table, sql in steps:
        conn.execute(sql, {**p, "states": TOPIC_STATES})
    conn.execute("ANALYZE")
