"""Reading a person's topics (我的议题): proposals and co-signatures in one query, newest first, within the limit."""

from __future__ import annotations

import pytest

from domain.topics import operations as topics
from domain.topics import queries as topic_queries
from tests.topic_world import NOW, build, new_topic, who


@pytest.fixture
def world(db):
    return build(db)


def test_my_topics_lists_proposals_and_cosignatures_newest_first(db, services, world):
    first = new_topic(db, services, "修一下村东头的路", openid="u-zhang")
    others = new_topic(db, services, "村口装路灯", openid="u-li")
    second = new_topic(db, services, "修补村里的水渠", openid="u-zhang")
    topics.cosign(db, others, who(db, "u-zhang"), NOW)
    new_topic(db, services, "红旗村修桥", openid="u-wang")  # not his: neither proposed nor signed
    db.commit()
    mine = topic_queries.my_topics(db, who(db, "u-zhang"), 10)
    assert [(m.topic.id, m.relation) for m in mine] == [(second.id, "提议"), (others.id, "联名"), (first.id, "提议")]
    assert all(m.agent is None for m in mine)
    assert [(m.topic.id, m.relation) for m in topic_queries.my_topics(db, who(db, "u-li"), 10)] == [(others.id, "提议")]


def test_my_topics_keeps_to_the_limit_and_is_empty_for_a_newcomer(db, services, world):
    made = [new_topic(db, services, f"第{n}件事：修村里第{n}条路", openid="u-zhang") for n in range(1, 5)]
    db.commit()
    mine = topic_queries.my_topics(db, who(db, "u-zhang"), 2)
    assert [m.topic.id for m in mine] == [made[3].id, made[2].id]
    assert topic_queries.my_topics(db, who(db, "u-wang"), 5) == []
