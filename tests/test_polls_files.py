"""Poll and questionnaire files: the examples load, and a bad file is refused naming its line and key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.votes.answers import format_local
from domain.votes.files import FileFormatError, load_poll, load_questionnaire
from models import Audience, QuestionKind
from tests.test_polls_support import SETTINGS, TZ

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

QUESTIONNAIRE = '''title = "村道修缮意见"
days = 7

[[questions]]
kind = "single"
text = "哪条路先修？"
options = ["东", "西"]

[[questions]]
kind = "multiple"
text = "担心什么？"
options = ["噪音"]
'''


def _poll(text):
    return load_poll(text, name="p.toml", settings=SETTINGS.polls, tz=TZ, now=NOW)


def _questionnaire(text):
    return load_questionnaire(text, name="q.toml", settings=SETTINGS.polls, tz=TZ, now=NOW)


def test_the_examples_load():
    now = datetime.now(UTC)
    poll = load_poll((EXAMPLES / "poll.toml").read_text(encoding="utf-8"), name="poll.toml", settings=SETTINGS.polls,
                     tz=TZ, now=now)
    assert len(poll.options) == 3 and poll.audience is Audience.FOLLOWERS and poll.anonymous
    assert poll.closes_at == now + timedelta(days=7)
    q = load_questionnaire((EXAMPLES / "questionnaire.toml").read_text(encoding="utf-8"), name="questionnaire.toml",
                           settings=SETTINGS.polls, tz=TZ, now=now)
    assert [x.kind for x in q.questions] == [QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RATING,
                                             QuestionKind.TEXT]
    assert q.questions[1].max_choices == 2 and q.questions[3].required is False and q.allow_changes


def test_times_are_read_in_the_local_zone():
    draft = _poll('question = "问"\noptions = ["甲", "乙"]\nopens_at = "2026-11-24 08:00"\n'
                  'closes_at = 2026-11-30T18:00:00\n')
    assert format_local(draft.opens_at, TZ) == "11月24日 08:00" and format_local(draft.closes_at, TZ) == "11月30日 18:00"
    whole_day = _poll('question = "问"\noptions = ["甲", "乙"]\ncloses_at = 2026-11-30\n')
    assert format_local(whole_day.closes_at, TZ) == "11月30日 23:59"
    default = _poll('question = "问"\noptions = ["甲", "乙"]\n')
    assert default.closes_at == NOW + timedelta(days=SETTINGS.polls.default_days)


def test_questionnaire_error_names_the_question_its_key_and_line():
    with pytest.raises(FileFormatError) as info:
        _questionnaire(QUESTIONNAIRE)
    assert info.value.reply == "q.toml 第 12 行，questions[2].options：至少需要两个选项"
    assert (info.value.line, info.value.key) == (12, "questions[2].options")


def test_toml_syntax_errors_carry_line_and_column():
    with pytest.raises(FileFormatError) as info:
        _poll('question = "问"\noptions = ["甲", "乙"\nanonymous = true\n')
    assert info.value.reply.startswith("p.toml 第 3 行") and "TOML" in info.value.reply and "\n" not in info.value.reply


@pytest.mark.parametrize(("text", "expected"), [
    ('question = "问"\noptions = ["甲"]\n', "p.toml 第 2 行，options：至少需要两个选项"),
    ('question = "问"\n', "p.toml，options：缺少这一项"),
    ('question = "问"\noptions = ["甲", "乙"]\nqestion = "x"\n', "p.toml 第 3 行，qestion：不认识的键（拼写错误？）"),
    ('question = "问"\noptions = ["甲", "乙"]\nmultiple = "yes"\n', "p.toml 第 3 行，multiple：应当是 true 或 false"),
    ('question = "问"\noptions = ["甲", "乙"]\naudience = "everyone"\n', "p.toml 第 3 行，audience：只能是 'followers' or 'members'"),
    ('question = "问"\noptions = ["甲", "乙"]\ncloses_at = "2026-11-01 08:00"\n', "p.toml 第 3 行，closes_at：截止时间已经过去了"),
    ('question = "问"\noptions = ["甲", "乙"]\ncloses_at = "明天"\n', "p.toml 第 3 行，closes_at：时间格式不对"),
    ('question = "问"\noptions = ["甲", "乙"]\ndays = 3\ncloses_at = "2026-11-30 08:00"\n', "p.toml 第 3 行，days：closes_at 和 days 只写一个"),
    ('question = "问"\noptions = ["甲", "乙"]\ndays = 90\n', "p.toml 第 3 行，days：要在 1 到 60 天之间"),
    ('question = "问"\noptions = ["甲", "乙"]\nmax_choices = 2\n', "p.toml 第 3 行，max_choices：单选投票不能设最多选几项"),
    ('question = "问"\noptions = ["甲", "乙"]\nmin_turnout = "2"\n', "p.toml 第 3 行，min_turnout：要大于 0、不超过 1"),
    ('question = "问"\noptions = ["甲", "甲"]\n', "p.toml 第 2 行，options：有两个选项是一样的"),
    ('question = ""\noptions = ["甲", "乙"]\n', "p.toml 第 1 行，question：问题不能是空的"),
    ('question = "问"\noptions = ["甲", "' + "乙" * 31 + '"]\n', "p.toml 第 2 行，options：选项太长了"),
])
def test_poll_file_errors(text, expected):
    with pytest.raises(FileFormatError) as info:
        _poll(text)
    assert info.value.reply.startswith(expected), info.value.reply


@pytest.mark.parametrize(("text", "expected"), [
    ('title = "调查"\n', "q.toml，questions：缺少这一项"),
    ('title = "调查"\nquestions = []\n', "q.toml 第 2 行，questions：至少要有一道题"),
    ('title = "调查"\n[[questions]]\nkind = "essay"\ntext = "写"\n', "q.toml 第 3 行，questions[1].kind：只能是"),
    ('title = "调查"\n[[questions]]\nkind = "rating"\n', "q.toml 第 2 行，questions[1].text：缺少这一项"),
    ('title = "调查"\n[[questions]]\nkind = "rating"\ntext = "打分"\noptions = ["a", "b"]\n',
     "q.toml 第 5 行，questions[1].options：只有单选题和多选题才有选项"),
    ('title = "调查"\n[[questions]]\nkind = "single"\ntext = "选"\noptions = ["a", "b"]\nmax_chars = 5\n',
     "q.toml 第 6 行，questions[1].max_chars：只有填写题才能设字数上限"),
    ('title = "调查"\n[[questions]]\nkind = "multiple"\ntext = "选"\noptions = ["a", "b"]\nmax_choices = 3\n',
     "q.toml 第 6 行，questions[1].max_choices：要在 1 和选项个数之间"),
    ('title = "调查"\naudience = "named"\n[[questions]]\nkind = "rating"\ntext = "打分"\n',
     "q.toml，people：audience = \"named\" 时要列出受邀的人"),
    ('title = "调查"\npeople = ["x"]\n[[questions]]\nkind = "rating"\ntext = "打分"\n',
     "q.toml 第 2 行，people：只有 audience = \"named\" 时才列出受邀的人"),
    ('title = "调查"\n[[questions]]\nkind = "rating"\ntext = "打分"\nextra = 1\n',
     "q.toml 第 5 行，questions[1].extra：不认识的键"),
])
def test_questionnaire_file_errors(text, expected):
    with pytest.raises(FileFormatError) as info:
        _questionnaire(text)
    assert info.value.reply.startswith(expected), info.value.reply


def test_too_many_questions_uses_the_setting():
    text = 'title = "调查"\n' + '[[questions]]\nkind = "rating"\ntext = "打分"\n' * 31
    with pytest.raises(FileFormatError, match="最多 30 道"):
        _questionnaire(text)
