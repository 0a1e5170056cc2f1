"""oEmbed 1.0 for the widget: discovery, sizes under maxwidth/maxheight, foreign URLs."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from service.http.app import create_app
from service.http.embed import DEFAULT_HEIGHT, DEFAULT_WIDTH, OEMBED_CACHE_AGE
from service.settings import Settings
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


PUBLIC = "https://news.example"


@pytest.fixture
async def public(database_url: str, tmp_path: Path, token: str) -> AsyncIterator[AsyncTestClient]:
    """The service with TIMELINE_PUBLIC_URL set, on the story of `story`."""
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path, public_url=PUBLIC))
    async with AsyncTestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        response = await client.post(
            "/v1/events",
            json=[
                registration("us-entity-list", "list"),
                registration("ymtc") | {"names": NAMES},
                listing("ymtc", "2022-12-16"),
            ],
        )
        assert response.status_code == 201, response.text
        yield client


async def test_with_a_public_url_the_page_advertises_its_oembed_url_and_that_url_describes_it(
    public: AsyncTestClient,
) -> None:
    page = parse((await public.get("/embed/timeline?entities=ymtc&lang=zh-Hant")).text)
    (link,) = [
        attrs for attrs in page.all("link") if attrs.get("type") == "application/json+oembed"
    ]
    assert link["rel"] == "alternate" and link["title"] == "長江存儲"
    href = urllib.parse.urlsplit(link["href"])
    assert f"{href.scheme}://{href.netloc}" == PUBLIC
    assert href.path == "/oembed"
    asked = urllib.parse.parse_qs(href.query)
    widget = f"{PUBLIC}/embed/timeline?entities=ymtc&lang=zh-Hant"
    assert asked["format"] == ["json"] and asked["url"] == [widget]

    response = await public.get(f"{href.path}?{href.query}", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == f"public, max-age={OEMBED_CACHE_AGE}"
    body = response.json()
    assert body["version"] == "1.0" and body["type"] == "rich"
    assert body["provider_name"] and body["provider_url"] == f"{PUBLIC}/"
    assert body["title"] == "長江存儲"
    assert (body["width"], body["height"]) == (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    assert "evil.example" not in response.text
    markup = parse(body["html"])
    (frame,) = markup.all("iframe")
    assert frame["src"] == widget and frame["title"] == "長江存儲"
    assert (frame["width"], frame["height"]) == (str(DEFAULT_WIDTH), str(DEFAULT_HEIGHT))
    # Unbounded height: the host gets the resize snippet, served by the service itself.
    assert [s["src"] for s in markup.all("script")] == [f"{PUBLIC}/embed/assets/resize.js"]


async def test_with_a_public_url_a_widget_url_of_the_request_host_is_not_ours(
    public: AsyncTestClient,
) -> None:
    assert_problem(await _oembed(public, _widget(public)), 404, "url")


async def test_without_a_public_url_pages_carry_no_absolute_link_and_no_host(
    story: AsyncTestClient,
) -> None:
    pinned = {"entities": "ymtc", "known_at": "2030-01-01T00:00:00Z"}
    spoofed = await story.get("/embed/timeline", params=pinned, headers={"Host": "evil.example"})
    assert spoofed.status_code == 200
    assert "evil.example" not in spoofed.text and "testserver" not in spoofed.text
    page = parse(spoofed.text)
    assert not [a for a in page.all("link") if a.get("type") == "application/json+oembed"]
    sources = {a["href"] for a in page.all("a") if a.get("rel") == "noopener noreferrer"}
    ours = [a["href"] for a in page.all("a") + page.all("link") if a["href"] not in sources]
    assert ours and all(h.startswith(("/", "data:")) for h in ours), ours
    # The same page, whatever the Host: one cache entry, one ETag.
    plain = await story.get("/embed/timeline", params=pinned)
    assert plain.text == spoofed.text and plain.headers["etag"] == spoofed.headers["etag"]


async def test_without_a_public_url_oembed_is_built_from_the_request_and_never_cached(
    story: AsyncTestClient,
) -> None:
    response = await _oembed(story, _widget(story))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["provider_url"] == f"{story.base_url}/"
    (frame,) = parse(body["html"]).all("iframe")
    assert frame["src"] == _widget(story)


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
        "http://testserver.local/embed/timeline?lang=en",
        "http://testserver.local/embed/timeline?entities=ymtc&asof=2020-01-01",
        "http://testserver.local/embed/timeline?entities=ymtc&entities=huawei",
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
