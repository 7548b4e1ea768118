"""Reading typed answers: digits, letters, full-width (after normalise), Chinese numerals, ratings, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.votes.answers import (
    cn_number,
    parse_choices,
    parse_deadline,
    parse_local_time,
    parse_rating,
    parse_text,
)
from handlers.normalize import normalise

LABELS = ["村东主路", "学校门口", "机耕路"]
FOUR = ["出行", "噪音", "农田", "费用"]
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 local


@pytest.mark.parametrize("typed", ["2", "２", "B", "b", "二", "第二个", "第2项", "选2", "2。", "学校门口", "②", " 2 "])
def test_single_choice_forms(typed):
    assert parse_choices(normalise(typed), LABELS, multiple=False) == [2]


@pytest.mark.parametrize("typed", ["1,3", "1，3", "1、3", "1 3", "1和3", "13", "AC", "a c", "一三", "一、三", "3 1", "1 3 1",
                                   "１，３", "第一个和第三个"])
def test_multiple_choice_forms(typed):
    assert parse_choices(normalise(typed), FOUR, multiple=True) == [1, 3]


@pytest.mark.parametrize(("typed", "message"), [
    ("5", "没有第 5 项"), ("0", "没有第 0 项"), ("1 2", "只能选一项"), ("好的", "没看懂"), ("", "请回复"), ("十三", "没有第 13 项"),
])
def test_bad_single_choices_explain_what_to_send(typed, message):
    with pytest.raises(InvalidInput, match=message) as info:
        parse_choices(normalise(typed), LABELS, multiple=False)
    assert "例如" in info.value.reply


def test_multiple_choice_limit_and_digit_runs_with_many_options():
    with pytest.raises(InvalidInput, match="最多只能选 2 项"):
        parse_choices("1 2 3", FOUR, multiple=True, max_choices=2)
    ten = [f"选项{i}" for i in range(1, 12)]
    assert parse_choices("11", ten, multiple=True) == [11]  # with 10+ options, 11 means eleven
    assert parse_choices("1 10", ten, multiple=True) == [1, 10]


@pytest.mark.parametrize(("typed", "score"), [("5", 5), ("五", 5), ("4分", 4), ("三星", 3), ("★★", 2), ("１", 1), ("5。", 5)])
def test_ratings(typed, score):
    assert parse_rating(normalise(typed)) == score


@pytest.mark.parametrize("typed", ["6", "0", "很好", "4.5", ""])
def test_bad_ratings_are_refused_with_the_scale(typed):
    with pytest.raises(InvalidInput, match="1 到 5"):
        parse_rating(typed)


def test_free_text_length_limit():
    assert parse_text(" 路灯要亮一点 ", 10) == "路灯要亮一点"
    with pytest.raises(InvalidInput, match="精简到 10 字"):
        parse_text("很" * 11, 10)
    with pytest.raises(InvalidInput):
        parse_text("  ", 10)


def test_chinese_numbers():
    assert [cn_number(t) for t in ("一", "十", "十二", "二十", "九十九", "两", "7")] == [1, 10, 12, 20, 99, 2, 7]
    assert cn_number("一百") is None and cn_number("abc") is None


@pytest.mark.parametrize(("typed", "expected"), [
    ("3天", NOW + timedelta(days=3)),
    ("5", NOW + timedelta(days=5)),
    ("三天", NOW + timedelta(days=3)),
    ("12小时", NOW + timedelta(hours=12)),
    ("明天", datetime(2026, 11, 24, 23, 59, tzinfo=TZ)),
    ("11月30日", datetime(2026, 11, 30, 23, 59, tzinfo=TZ)),
    ("11月30日 18:00", datetime(2026, 11, 30, 18, 0, tzinfo=TZ)),
    ("11月30号18点半", datetime(2026, 11, 30, 18, 30, tzinfo=TZ)),
    ("2026-12-01 08:00", datetime(2026, 12, 1, 8, 0, tzinfo=TZ)),
    ("1月5日", datetime(2027, 1, 5, 23, 59, tzinfo=TZ)),
])
def test_deadlines(typed, expected):
    assert parse_deadline(typed, NOW, TZ, max_days=60) == expected


@pytest.mark.parametrize(("typed", "message"), [("11月20日", "已经过去"), ("100天", "最长 60 天"), ("下周", "没看懂"),
                                                ("99999999999天", "最长 60 天"), ("99999999999", "最长 60 天"),
                                                ("13月1日", "不对"), ("0", "已经过去")])
def test_bad_deadlines(typed, message):
    with pytest.raises(InvalidInput, match=message):
        parse_deadline(typed, NOW, TZ, max_days=60)


def test_local_times_without_offset_are_read_in_the_zone():
    assert parse_local_time("2026-12-01 08:00", TZ) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert parse_local_time("2026-12-01T08:00+00:00", TZ) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_local_time("明天早上", TZ)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789一二三十两百第个项号选和与,/;: .。月日号点半分星★天小时-年AaBbZz")), max_size=24))
def test_typed_text_never_breaks_the_parsers(typed):
    for parse in (lambda t: parse_choices(t, FOUR, multiple=True), lambda t: parse_choices(t, LABELS, multiple=False),
                  parse_rating, lambda t: parse_deadline(t, NOW, TZ, max_days=60)):
        try:
            parse(normalise(typed))
        except InvalidInput:
            pass
