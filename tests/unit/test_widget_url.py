"""Widget URLs, pure: the URL the builder and oEmbed hand out is read back by oEmbed as the
very widget it names, and no query string makes oEmbed's reader fail other than by a
BadRequest (a 404 problem naming `url`)."""

from __future__ import annotations

import datetime as dt
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import EVENT_TYPES
from events.types import Lang
from service.errors import BadRequest, NotFound
from service.http.embed import (
    EmbedParams,
    Group,
    Theme,
    widget_query,
    widget_url,
    widget_url_params,
)
from service.http.timeline import TimelineQuery

ORIGIN = "https://news.example"

entity_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
moments = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)


@st.composite
def widgets(draw: st.DrawFn) -> EmbedParams:
    start, end = sorted(draw(st.lists(days, min_size=2, max_size=2)))
    query = TimelineQuery(
        ids=tuple(sorted(draw(st.sets(entity_ids, min_size=1, max_size=5)))),
        start=draw(st.sampled_from([None, start])),
        end=draw(st.sampled_from([None, end])),
        types=tuple(sorted(draw(st.sets(st.sampled_from(sorted(EVENT_TYPES)), max_size=3)))),
    )
    return EmbedParams(
        query=query,
        lang=draw(st.sampled_from(typing.get_args(Lang))),
        theme=draw(st.sampled_from(typing.get_args(Theme))),
        group=draw(st.sampled_from(typing.get_args(Group))),
        known_at=draw(st.none() | moments),
    )


@given(widgets())
def test_a_widget_url_is_read_back_as_the_widget_it_names(params: EmbedParams) -> None:
    url = widget_url(params, ORIGIN)
    assert widget_url_params(url, ORIGIN) == (params, ORIGIN)


@given(st.text(max_size=60))
def test_any_query_string_is_a_typed_widget_query_or_a_bad_request(query: str) -> None:
    try:
        asked = widget_query(query)
    except BadRequest:
        return
    assert asked.lang in typing.get_args(Lang)
    assert asked.theme in typing.get_args(Theme) and asked.group in typing.get_args(Group)
    assert asked.known_at is None or isinstance(asked.known_at, dt.datetime)


@pytest.mark.parametrize(
    "query",
    [
        "entities=ymtc&asof=2020-01-01",  # a parameter the page does not take
        "entities=ymtc&entities=huawei",  # one the page takes once
        "entities=ymtc&lang=",
        "entities=ymtc&theme=neon",
        "entities=ymtc&known_at=2024-01-01T00:00:00",  # no zone
        "entities=",
    ],
)
def test_a_url_the_page_would_refuse_is_no_widget_url(query: str) -> None:
    with pytest.raises(NotFound) as raised:
        widget_url_params(f"{ORIGIN}/embed/timeline?{query}", ORIGIN)
    assert raised.value.field == "url"
