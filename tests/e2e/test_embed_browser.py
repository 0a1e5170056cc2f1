"""The widget in a real browser: Playwright driving Debian's Chromium against `timeline serve`.

What these need, and how they skip or fail without it: `tests/support/browsertools.py`. The
TimelineJS test also needs the npm package `@knight-lab/timelinejs` in .cache/npm (`npm install
--prefix .cache/npm @knight-lab/timelinejs`). The builder and `/docs` have their own module,
`test_builder_browser.py`.

Screenshots (en, zh-Hans and zh-Hant, light and dark, 375 and 1024 px) go to screenshots/
(ignored).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import httpx
import pytest

from projections.present.words import REGISTRATION
from tests.support.browsertools import (
    LANGS,
    REQUIRED,
    SCREENSHOTS,
    STORY,
    TIMELINEJS,
    WIDTHS,
    Watched,
    browser,
    host,
    service,
    timeline_events,
    watched,
)
from tests.support.embedtools import HOSTILE, HOSTILE_ENTITY

__all__ = ["browser", "host", "service", "watched"]  # the fixtures these tests use

MESSAGE = "sanctions-timeline:resize"


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize(
    ("lang", "ymtc", "listed"),
    [
        ("en", "YMTC", "16 Dec 2022"),
        ("zh-Hans", "长江存储", "2022年12月16日"),
        ("zh-Hant", "長江存儲", "2022年12月16日"),
    ],
)
def test_widget_renders_the_seeded_story_in_each_language(
    service: str, watched: Watched, lang: str, ymtc: str, listed: str
) -> None:
    page = watched.page
    page.goto(f"{service}/embed/timeline?{STORY}&lang={lang}")
    # The widget leaves out first records of entities unless `types` asks for them.
    expected = [e for e in timeline_events(service, STORY, lang=lang) if e["type"] != REGISTRATION]
    assert len(expected) > 5
    assert page.locator("html").get_attribute("lang") == lang
    assert ymtc in page.get_by_role("heading", level=1).inner_text()
    articles = page.get_by_role("article")
    assert articles.count() == len(expected)
    # World order, each event named by its headline (what a screen reader announces).
    assert [a.get_attribute("data-event-id") for a in articles.all()] == [e["id"] for e in expected]
    for event in expected[:5]:
        assert page.get_by_role("article", name=event["headline"], exact=True).count() >= 1
    assert listed in page.locator(".tl-date").all_inner_texts()
    # Imprecise dates carry the marker, and its meaning is there for a screen reader.
    imprecise = [
        e for e in expected if e["precision"] != "day" or e.get("confidence", "high") != "high"
    ]
    assert page.locator(".tl-uncertain").count() == len(imprecise) > 0
    assert not watched.errors and not watched.dialogs


@pytest.mark.parametrize("lang", LANGS)
def test_hostile_text_never_executes_and_shows_as_text(
    service: str, watched: Watched, lang: str
) -> None:
    page = watched.page
    page.goto(f"{service}/embed/timeline?entities={HOSTILE_ENTITY}&lang={lang}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not watched.dialogs
    assert HOSTILE in page.get_by_role("heading", level=1).inner_text()
    headlines = page.locator(".tl-headline").all_text_contents()
    assert HOSTILE in headlines
    assert HOSTILE in page.locator(".tl-text").all_text_contents()
    sources = " ".join(page.locator(".tl-sources").all_text_contents())
    assert HOSTILE in sources and "<img src=x onerror=" in sources
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1, "only the widget's own script"
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert not watched.errors


def test_the_widget_and_the_builder_make_no_request_to_any_other_host(
    service: str, watched: Watched
) -> None:
    page = watched.page
    for url in (
        f"{service}/embed/timeline?{STORY}&lang=zh-Hant&theme=dark",
        f"{service}/embed/timeline?entities={HOSTILE_ENTITY}",
        f"{service}/",
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    # The builder starts on the story (Huawei and YMTC): take Huawei away, then search YMTC
    # by its Chinese name and add it again, so the search and the preview both ran.
    page.get_by_role("button", name="Remove Huawei").click()
    page.get_by_role("button", name="Remove YMTC").click()
    page.locator("#q").fill("長江存儲")
    page.get_by_role("button", name="+ YMTC (ymtc)").click()
    # The click changes no document, so there is no new load state to wait for: wait until
    # the preview shows YMTC's events (its page, styles and script have loaded by then).
    page.wait_for_function(
        "() => (document.querySelector('#preview').getAttribute('src') || '')"
        ".includes('entities=ymtc&')"
    )
    page.frame_locator("#preview").locator(".tl-event").first.wait_for()
    assert len(watched.requests) > 8
    assert watched.foreign(service) == []
    assert not watched.errors, (watched.errors, watched.failed)


def test_builder_builds_iframe_code_and_oembed_url_for_the_chosen_embed(
    service: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(f"{service}/")
    # Choosing a language reloads the builder in it, keeping the entities.
    page.locator("#lang").select_option("zh-Hans")
    page.wait_for_function("document.documentElement.lang === 'zh-Hans'")
    assert page.locator("#chosen li").all_inner_texts() == ["华为 (huawei) ×", "长江存储 (ymtc) ×"]
    page.get_by_role("button", name="移除长江存储").click()
    page.get_by_role("button", name="移除华为").click()
    page.locator("#q").fill("华为")
    page.get_by_role("button", name="+ 华为 (huawei)").click()
    page.locator("#theme").select_option("dark")
    page.locator("#types input[value=EntityListed]").check()
    code = page.locator("#code").input_value()
    assert code.startswith("<iframe src=") and "/embed/assets/resize.js" in code
    src = page.locator("#preview").get_attribute("src") or ""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(src).query)
    assert query["entities"] == ["huawei"] and query["lang"] == ["zh-Hans"]
    assert query["theme"] == ["dark"] and query["types"] == ["EntityListed"]
    assert "known_at" in query, "pinned by default"
    assert page.locator("#url").input_value() == f"{service}{src}", "the link is the preview's"
    frame = page.frame_locator("#preview")
    frame.locator("h1").wait_for()
    assert "华为" in frame.locator("h1").inner_text()
    oembed = page.locator("#oembed").input_value()
    body = httpx.get(oembed, timeout=30).json()
    assert body["type"] == "rich" and "华为" in body["title"]
    assert not watched.errors


def test_the_height_message_arrives_and_resizes_the_iframe_on_another_site(
    service: str, host: tuple[str, Path], watched: Watched
) -> None:
    origin, folder = host
    (folder / "article.html").write_text(
        "<!doctype html><meta charset=utf-8><title>article</title>"
        '<link rel="icon" href="data:,">'
        "<script>window.heights = []; addEventListener('message', function (e) {"
        f" if (e.data && e.data.type === '{MESSAGE}')"
        " window.heights.push([e.origin, e.data.height]);"
        "});</script><p>Text before.</p>"
        f'<iframe id="w" src="{service}/embed/timeline?{STORY}&amp;lang=en" title="t"'
        ' style="width:100%;border:0" height="150"></iframe>'
        f'<script src="{service}/embed/assets/resize.js" async></script><p>Text after.</p>',
        encoding="utf-8",
    )
    page = watched.page
    page.goto(f"{origin}/article.html")
    page.wait_for_function("window.heights.length > 0", timeout=15_000)
    page.wait_for_function("document.getElementById('w').style.height !== ''", timeout=15_000)
    sender, height = page.evaluate("window.heights[window.heights.length - 1]")
    assert sender == service
    assert height > 1000, "the seeded story is long"
    assert page.evaluate("document.getElementById('w').style.height") == f"{height}px"
    inner = page.frame_locator("#w").locator("body")
    rendered = page.evaluate("document.getElementById('w').contentWindow === null ? 0 : 1")
    assert rendered == 1 and inner.locator("article").count() > 5
    assert not watched.errors


def test_keyboard_navigation_reaches_every_event(service: str, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{service}/embed/timeline?{STORY}")
    ids = page.eval_on_selector_all(".tl-event", "els => els.map(e => e.dataset.eventId)")
    stops = page.locator("a[href], [tabindex='0']").count()
    reached: list[str] = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.dataset.eventId || null")
        if focused:
            reached.append(focused)
    assert reached == ids, "Tab reaches every event, in world order"
    # The arrow keys move between events too.
    page.locator(".tl-event").first.focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.eventId") == ids[1]
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.eventId") == ids[-1]
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.dataset.eventId") == ids[0]
    assert not watched.errors


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_fit_the_width_in_both_themes(
    service: str, watched: Watched, lang: str, theme: str, width: int
) -> None:
    page = watched.page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(
        f"{service}/embed/timeline?{STORY}&lang={lang}&theme={theme}&types=EntityListed,"
        "RuleIssued,ProductMassProduced,ProductLaunched,ProductAnalyzed"
    )
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scroll"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (theme == "light"), background
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"embed-{lang}-{theme}-{width}.png"))
    assert not watched.errors


def test_timelinejs3_renders_one_marker_per_event_of_the_service_output(
    service: str, host: tuple[str, Path], watched: Watched
) -> None:
    if not TIMELINEJS.exists():
        if REQUIRED:
            pytest.fail(f"no TimelineJS at {TIMELINEJS}", pytrace=False)
        pytest.skip(
            f"no TimelineJS at {TIMELINEJS} (npm install --prefix .cache/npm "
            "@knight-lab/timelinejs)"
        )
    origin, folder = host
    query = f"{STORY},{HOSTILE_ENTITY}"
    expected = timeline_events(service, query)
    source = f"{service}/v1/timeline?{query}&format=timelinejs"
    # script_path: TimelineJS loads its locale and CSS from its CDN unless told where it is;
    # font null: its default font CSS pulls web fonts from a font host.
    (folder / "timelinejs.html").write_text(
        "<!doctype html><meta charset=utf-8><title>TimelineJS</title>"
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/tl/css/timeline.css">'
        '<script src="/tl/js/timeline.js"></script>'
        '<div id="timeline-embed" style="width:100%;height:600px"></div>'
        "<script>window.tl = new TL.Timeline('timeline-embed', "
        f"{json.dumps(source)}, {{script_path: location.origin + '/tl/js/', font: null}});"
        "window.tl.on('loaded', function () { window.tlLoaded = true; });"
        "</script>",
        encoding="utf-8",
    )
    page = watched.page
    page.goto(f"{origin}/timelinejs.html")
    page.wait_for_function("window.tlLoaded === true", timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert page.locator(".tl-timemarker").count() == len(expected) > 5
    assert page.evaluate("typeof window.__pwned") == "undefined" and not watched.dialogs
    # TimelineJS decodes a group name before using it as HTML: the name still shows literally.
    groups = page.locator(".tl-timegroup-message").all_text_contents()
    assert any(HOSTILE in g for g in groups), groups
    assert not watched.errors, watched.errors
    foreign = [u for u in watched.requests if not u.startswith((origin, service))]
    assert foreign == [], foreign
