"""The embed page through the test client: headers, escaping, languages, caching, errors."""

from __future__ import annotations

import datetime as _dt

import pytest
from litestar.testing import AsyncTestClient

import events as ev
from projections.present.words import type_label, words
from service.http.builder_page import STORY
from service.http.embed import CSP_BUILDER, CSP_EMBED, EmbedParams, el, render_page, safe_href
from service.http.timeline import TimelineItem, TimelineQuery
from tests.support.apitools import assert_problem, listing, registration
from tests.support.embedtools import HOSTILE, HOSTILE_ENTITY, JS_URL, hostile_events, parse

NAMES = {"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"}


@pytest.fixture
async def story(writer: AsyncTestClient) -> AsyncTestClient:
    response = await writer.post(
        "/v1/events",
        json=[
            registration("ymtc") | {"names": NAMES},
            listing("ymtc", "2022-12-16"),
            listing("huawei", "2019-05"),
            *hostile_events(),
        ],
    )
    assert response.status_code == 201, response.text
    return writer


async def test_embed_page_is_html_with_a_strict_csp_that_any_site_may_frame(
    story: AsyncTestClient,
) -> None:
    response = await story.get("/embed/timeline", params={"entities": "ymtc"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert csp == CSP_EMBED
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "*"
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    page = parse(response.text)
    # Only the service's own script and stylesheet: nothing inline, nothing from elsewhere.
    assert [s.get("src") for s in page.all("script")] == ["/embed/assets/embed.js"]
    assert [link["href"] for link in page.all("link") if link.get("rel") == "stylesheet"] == [
        "/embed/assets/embed.css"
    ]
    assert not page.all("style") and not any("style" in attrs for _, attrs in page.elements)


async def test_hostile_text_is_escaped_and_only_http_urls_become_links(
    story: AsyncTestClient,
) -> None:
    for lang in ("en", "zh-Hans", "zh-Hant"):
        response = await story.get(
            "/embed/timeline", params={"entities": HOSTILE_ENTITY, "lang": lang}
        )
        page = parse(response.text)
        assert [s.get("src") for s in page.all("script")] == ["/embed/assets/embed.js"]
        assert not page.all("img")
        assert not any(name.startswith("on") for _, attrs in page.elements for name in attrs), (
            "no event-handler attribute"
        )
        hrefs = [a["href"] for a in page.all("a")]
        assert hrefs and all(
            h and (h.startswith(("https://", "http://")) or h.startswith("/")) for h in hrefs
        ), hrefs
        text = "".join(page.text)
        # The hostile strings show literally, as text: in the name, headline, text and sources.
        assert text.count(HOSTILE) >= 5, text
        assert response.text.count("&lt;script&gt;") >= 5


async def test_a_javascript_url_source_is_refused_by_the_log_and_shown_as_text_by_the_page(
    story: AsyncTestClient,
) -> None:
    refused = await story.post(
        "/v1/events",
        json=listing("ymtc", "2023-01-01", sources=[{"url": JS_URL, "citation": "x"}]),
    )
    assert refused.status_code == 422
    # The page does not rely on that: a source that is not http(s) is text, not a link.
    item = TimelineItem(
        id="00000000-0000-0000-0000-000000000001",
        entity="ymtc",
        type="EntityListed",
        occurred="2023-01",
        precision="month",
        headline="h",
        sources=(ev.Source(url=JS_URL, citation="click me"), ev.Source(url="data:text/html,x")),
        position=1,
        recorded_at=_dt.datetime(2024, 1, 1, tzinfo=_dt.UTC),
    )
    params = EmbedParams(
        query=TimelineQuery(ids=("ymtc",), start=None, end=None, types=()),
        lang="en",
        theme="auto",
        group="none",
        known_at=None,
    )
    page = parse(render_page(params, (item,), {}, "http://svc").decode())
    assert all(not a["href"].startswith(("javascript", "data")) for a in page.all("a"))
    assert "click me" in "".join(page.text)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "//example.org/a",
        "https:no-host",
        "/relative",
    ],
)
def test_safe_href_refuses_anything_but_absolute_http_urls(url: str) -> None:
    assert safe_href(url) is None


def test_safe_href_keeps_http_and_https_urls() -> None:
    assert safe_href("https://example.org/a?b=1&c=2") == "https://example.org/a?b=1&c=2"
    assert safe_href("HTTP://example.org/") == "HTTP://example.org/"


def test_the_html_builder_escapes_text_and_attribute_values() -> None:
    built = el("a", {"href": '"><script>', "title": None, "hidden": True}, "<b>&")
    assert built == '<a href="&quot;&gt;&lt;script&gt;" hidden>&lt;b&gt;&amp;</a>'
    assert el("p", {}, el("b", {}, "x")) == "<p><b>x</b></p>", "built markup nests unescaped"


@pytest.mark.parametrize(
    ("lang", "name", "day", "month", "legend"),
    [
        ("en", "YMTC", "16 Dec 2022", "May 2019", "? marks"),
        ("zh-Hans", "长江存储", "2022年12月16日", "2019年5月", "表示日期仅精确到月"),
        ("zh-Hant", "長江存儲", "2022年12月16日", "2019年5月", "表示日期僅精確到月"),
    ],
)
async def test_names_headlines_dates_and_words_are_in_the_asked_language(
    story: AsyncTestClient, lang: str, name: str, day: str, month: str, legend: str
) -> None:
    response = await story.get(
        "/embed/timeline",
        params={"entities": "ymtc,huawei", "types": "EntityListed", "lang": lang},
    )
    page = parse(response.text)
    assert page.elements[0] == (
        "html",
        {"lang": lang, "data-theme": "auto", "data-message": "sanctions-timeline:resize"},
    )
    text = "".join(page.text)
    assert name in text and day in text and month in text and legend in text
    times = [a["datetime"] for a in page.all("time")]
    assert times == ["2019-05", "2022-12-16"], "world order"
    # The month-precision listing has the certainty marker; the dated one has none.
    articles = page.all("article")
    assert ["tl-uncertain-event" in a["class"] for a in articles] == [True, False]
    assert all(a["tabindex"] == "0" for a in articles)


async def test_group_by_entity_gives_a_section_per_entity_and_theme_is_on_the_root(
    story: AsyncTestClient,
) -> None:
    response = await story.get(
        "/embed/timeline",
        params={"entities": "ymtc,huawei", "group": "entity", "theme": "dark"},
    )
    page = parse(response.text)
    assert page.elements[0][1]["data-theme"] == "dark"
    assert [s["aria-labelledby"] for s in page.all("section")] == ["g-huawei", "g-ymtc"]


async def test_pinned_embed_is_immutable_and_answers_304_to_its_etag(
    story: AsyncTestClient,
) -> None:
    past = (await story.get("/v1/events")).json()["events"][-1]["recorded_at"]
    params = {"entities": "ymtc", "known_at": past}
    first = await story.get("/embed/timeline", params=params)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = first.headers["etag"]
    assert etag.startswith('"')
    # The log moves on: the pinned page does not change.
    await story.post("/v1/events", json=listing("ymtc", "2024-12-02", list="other-list"))
    again = await story.get("/embed/timeline", params=params)
    assert again.headers["etag"] == etag and again.content == first.content
    not_modified = await story.get(
        "/embed/timeline", params=params, headers={"If-None-Match": etag}
    )
    assert not_modified.status_code == 304 and not_modified.content == b""


async def test_latest_embed_revalidates_and_its_etag_moves_with_the_log(
    story: AsyncTestClient,
) -> None:
    first = await story.get("/embed/timeline", params={"entities": "ymtc"})
    assert first.headers["cache-control"] == "public, no-cache"
    etag = first.headers["etag"]
    same = await story.get(
        "/embed/timeline", params={"entities": "ymtc"}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304
    appended = await story.post("/v1/events", json=listing("ymtc", "2024-12-02"))
    assert appended.status_code == 201
    moved = await story.get(
        "/embed/timeline", params={"entities": "ymtc"}, headers={"If-None-Match": etag}
    )
    assert moved.status_code == 200 and moved.headers["etag"] != etag
    assert "2 Dec 2024" in moved.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"entities": "Bad Id"}, "entities"),
        ({"types": "Nope"}, "types"),
        ({"from": "2020-13-01"}, "from"),
        ({"from": "2020-01-01", "to": "2019-01-01"}, "from"),
        ({"lang": "fr"}, "lang"),
        ({"theme": "neon"}, "theme"),
        ({"group": "year"}, "group"),
        ({"known_at": "yesterday"}, "known_at"),
        ({"known_at": "2024-01-01T00:00:00"}, "known_at"),
    ],
)
async def test_bad_embed_parameters_are_problems_naming_the_field(
    story: AsyncTestClient, params: dict, field: str
) -> None:
    params = {"entities": "ymtc"} | params
    assert_problem(await story.get("/embed/timeline", params=params), 400, field)


@pytest.mark.parametrize("entities", [None, "", ","])
async def test_a_widget_without_entities_is_a_400_naming_entities_not_the_whole_log(
    story: AsyncTestClient, entities: str | None
) -> None:
    params = {} if entities is None else {"entities": entities}
    problem = assert_problem(await story.get("/embed/timeline", params=params), 400, "entities")
    assert "whole log" in problem["detail"]


async def test_builder_page_frames_only_the_service_and_offers_every_event_type(
    client: AsyncTestClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP_BUILDER
    assert "frame-src 'self'" in CSP_BUILDER and "frame-ancestors 'none'" in CSP_BUILDER
    page = parse(response.text)
    offered = {i["value"] for i in page.all("input") if i.get("name") == "types"}
    assert offered == set(ev.EVENT_TYPES)
    assert {s.get("src") for s in page.all("script")} == {
        "/embed/assets/builder.js",
        "/embed/assets/resize.js",
    }


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("embed.js", "text/javascript"),
        ("embed.css", "text/css"),
        ("resize.js", "text/javascript"),
        ("builder.js", "text/javascript"),
        ("builder.css", "text/css"),
    ],
)
async def test_assets_are_served_by_the_service_itself(
    client: AsyncTestClient, name: str, media: str
) -> None:
    response = await client.get(f"/embed/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert "http://" not in response.text and "https://" not in response.text, "no external URL"


async def test_timelinejs_group_names_stay_text_after_timelinejs_decodes_them(
    story: AsyncTestClient,
) -> None:
    body = (
        await story.get("/v1/timeline", params={"entities": HOSTILE_ENTITY, "format": "timelinejs"})
    ).json()
    for slide in body["events"]:
        # TimelineJS takes the group's text content (entities decoded) and uses it as HTML.
        decoded = "".join(parse(slide["group"]).text)
        assert "<" not in decoded and "".join(parse(decoded).text).startswith("Evil <script>")


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
async def test_builder_speaks_each_language_names_no_class_and_starts_on_the_story(
    writer: AsyncTestClient, lang: str
) -> None:
    response = await writer.get("/", params={"lang": lang})
    assert response.status_code == 200
    page = parse(response.text)
    (html_el,) = page.all("html")
    assert html_el["lang"] == lang
    text = "".join(page.text)
    for tag in ev.EVENT_TYPES:
        assert tag not in text, f"class name {tag} shown"
        assert type_label(tag, lang) in text
    assert words(lang)["b_dates"] in text
    boxes = [i for i in page.all("input") if i.get("name") == "types"]
    assert not any("checked" in box for box in boxes), "no type ticked: readers' events only"
    chosen = [li["data-id"] for name, li in page.elements if name == "li" and "data-id" in li]
    assert chosen == list(STORY)


async def test_a_widget_hides_first_records_unless_types_asks_for_them(
    story: AsyncTestClient,
) -> None:
    default = parse((await story.get("/embed/timeline", params={"entities": "ymtc"})).text)
    assert len(default.all("article")) == 1, "the listing only, not the registrations"
    asked = parse(
        (
            await story.get(
                "/embed/timeline", params={"entities": "ymtc", "types": "EntityRegistered"}
            )
        ).text
    )
    # The fixtures register ymtc twice: both records, and nothing else.
    assert len(asked.all("article")) == 2
    assert "".join(asked.text).count("first on record") == 2


async def test_english_text_on_a_chinese_page_is_marked_as_english(
    writer: AsyncTestClient,
) -> None:
    only_english = listing("ymtc", "2023-02-02") | {"text": {"en": "Only in English."}}
    assert (await writer.post("/v1/events", json=only_english)).status_code == 201
    for lang in ("zh-Hans", "zh-Hant"):
        response = await writer.get("/embed/timeline", params={"entities": "ymtc", "lang": lang})
        page = parse(response.text)
        assert [a["lang"] for a in page.all("span") if a.get("lang")] == ["en"]
        assert "（英文） Only in English." in "".join(page.text)
    english = parse((await writer.get("/embed/timeline", params={"entities": "ymtc"})).text)
    assert not [a for a in english.all("span") if a.get("lang")]


async def test_docs_page_is_swagger_ui_served_by_the_service_itself(
    client: AsyncTestClient,
) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = parse(response.text)
    local = [s["src"] for s in page.all("script")] + [
        link["href"] for link in page.all("link") if link.get("rel") == "stylesheet"
    ]
    assert local and all(u.startswith("/") for u in local), local
    for url in local:
        asset = await client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/v1/timeline" in schema.json()["paths"]
