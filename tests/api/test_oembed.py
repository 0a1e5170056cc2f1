"""oEmbed 1.0 for the widget: discovery, sizes under maxwidth/maxheight, foreign URLs."""

from __future__ import annotations

import urllib.parse

import pytest
from litestar.testing import AsyncTestClient

from service.http.embed import DEFAULT_HEIGHT, DEFAULT_WIDTH
from tests.support.apitools import assert_problem, listing, registration
from tests.support.embedtools import parse

NAMES = {"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"}


@pytest.fixture
async def story(writer: AsyncTestClient) -> AsyncTestClient:
    response = await writer.post(
        "/v1/events",
        json=[registration("ymtc") | {"names": NAMES}, listing("ymtc", "2022-12-16")],
    )
    assert response.status_code == 201, response.text
    return writer


def _widget(client: AsyncTestClient, query: str = "entities=ymtc&lang=zh-Hant") -> str:
    return f"{client.base_url}/embed/timeline?{query}"


async def _oembed(client: AsyncTestClient, url: str, **params: object):
    return await client.get("/oembed", params={"url": url, **params})


async def test_embed_page_advertises_its_oembed_url_and_that_url_describes_the_page(
    story: AsyncTestClient,
) -> None:
    page = parse((await story.get("/embed/timeline?entities=ymtc&lang=zh-Hant")).text)
    (link,) = [
        attrs for attrs in page.all("link") if attrs.get("type") == "application/json+oembed"
    ]
    assert link["rel"] == "alternate" and link["title"] == "長江存儲"
    href = urllib.parse.urlsplit(link["href"])
    assert f"{href.scheme}://{href.netloc}" == str(story.base_url)
    assert href.path == "/oembed"
    asked = urllib.parse.parse_qs(href.query)
    assert asked["format"] == ["json"] and asked["url"] == [_widget(story)]

    response = await story.get(f"{href.path}?{href.query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["version"] == "1.0" and body["type"] == "rich"
    assert body["provider_name"] and body["provider_url"] == f"{story.base_url}/"
    assert body["title"] == "長江存儲"
    assert (body["width"], body["height"]) == (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    markup = parse(body["html"])
    (frame,) = markup.all("iframe")
    assert frame["src"] == _widget(story) and frame["title"] == "長江存儲"
    assert (frame["width"], frame["height"]) == (str(DEFAULT_WIDTH), str(DEFAULT_HEIGHT))
    # Unbounded height: the host gets the resize snippet, served by the service itself.
    assert [s["src"] for s in markup.all("script")] == [f"{story.base_url}/embed/assets/resize.js"]


@pytest.mark.parametrize(
    ("maxwidth", "maxheight", "width", "height"),
    [
        (None, None, DEFAULT_WIDTH, DEFAULT_HEIGHT),
        (400, None, 400, DEFAULT_HEIGHT),
        (None, 300, DEFAULT_WIDTH, 300),
        (360, 200, 360, 200),
        (5000, 5000, DEFAULT_WIDTH, DEFAULT_HEIGHT),
        (100, 50, 100, 50),
    ],
)
async def test_width_and_height_never_exceed_maxwidth_and_maxheight(
    story: AsyncTestClient,
    maxwidth: int | None,
    maxheight: int | None,
    width: int,
    height: int,
) -> None:
    params = {k: v for k, v in {"maxwidth": maxwidth, "maxheight": maxheight}.items() if v}
    body = (await _oembed(story, _widget(story), **params)).json()
    assert (body["width"], body["height"]) == (width, height)
    (frame,) = parse(body["html"]).all("iframe")
    assert (frame["width"], frame["height"]) == (str(width), str(height))
    assert f"max-width:{width}px" in frame["style"]
    # A host that bounds the height keeps it: no snippet that would grow the iframe.
    assert bool(parse(body["html"]).all("script")) == (maxheight is None)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/embed/timeline?entities=ymtc",
        "http://testserver.local.evil.example/embed/timeline",
        "http://testserver.local/v1/timeline?entities=ymtc",
        "http://testserver.local/embed/timeline/../../v1/events",
        "javascript:alert(1)//testserver.local/embed/timeline",
        "ftp://testserver.local/embed/timeline",
        "/embed/timeline?entities=ymtc",
        "not a url",
        "http://testserver.local/embed/timeline?entities=Bad%20Id",
        "http://testserver.local/embed/timeline?lang=fr",
        "http://testserver.local/embed/timeline?from=2020-99-01",
    ],
)
async def test_urls_that_are_not_widgets_of_this_service_are_404(
    story: AsyncTestClient, url: str
) -> None:
    assert str(story.base_url) == "http://testserver.local"
    assert_problem(await _oembed(story, url), 404, "url")


async def test_the_https_form_of_a_widget_url_is_kept_behind_a_tls_proxy(
    story: AsyncTestClient,
) -> None:
    secure = _widget(story).replace("http://", "https://")
    body = (await _oembed(story, secure)).json()
    (frame,) = parse(body["html"]).all("iframe")
    assert frame["src"] == secure


async def test_a_format_other_than_json_is_501(story: AsyncTestClient) -> None:
    assert_problem(await _oembed(story, _widget(story), format="xml"), 501, "format")


@pytest.mark.parametrize(("name", "value"), [("maxwidth", "0"), ("maxheight", "tall")])
async def test_bad_max_sizes_are_problems_naming_the_field(
    story: AsyncTestClient, name: str, value: str
) -> None:
    assert_problem(await _oembed(story, _widget(story), **{name: value}), 400, name)


async def test_a_missing_url_is_a_problem_naming_it(story: AsyncTestClient) -> None:
    assert_problem(await story.get("/oembed"), 400, "url")
