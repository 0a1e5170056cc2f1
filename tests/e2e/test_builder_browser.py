"""The journalists' builder (`/`) and the API reference (`/docs`) in a real browser.

Playwright driving Debian's Chromium against `timeline serve` on the seeded story; what these
need, and how they skip or fail without it: `tests/support/browsertools.py`. Screenshots of the
builder (en, zh-Hans, zh-Hant at 375 and 1024 px) go to screenshots/ (ignored).
"""

from __future__ import annotations

import re
import urllib.parse

import pytest

from events.types import EVENT_TYPES
from projections.present.words import REGISTRATION
from tests.support.browsertools import (
    LANGS,
    SCREENSHOTS,
    WIDTHS,
    Watched,
    browser,
    service,
    watched,
)

__all__ = ["browser", "service", "watched"]  # the fixtures these tests use

STORY_NAMES = {
    "en": ("Huawei", "YMTC"),
    "zh-Hans": ("华为", "长江存储"),
    "zh-Hant": ("華為", "長江存儲"),
}
# The written headline of a first record ("YMTC (company) first on record") in each language.
FIRST_RECORD = {"en": "first on record", "zh-Hans": "首见于记录", "zh-Hant": "首見於紀錄"}
# Not `\b`: a CJK character is a word character, so a tag right after Chinese text has no `\b`.
TYPE_TAGS = re.compile(
    r"(?<![A-Za-z0-9])(" + "|".join(sorted(EVENT_TYPES, key=len, reverse=True)) + r")(?![a-z0-9])"
)


def _open_builder(watched: Watched, service: str, lang: str) -> None:
    """The builder in `lang`, its default preview loaded."""
    page = watched.page
    page.goto(f"{service}/?lang={lang}")
    page.frame_locator("#preview").locator(".tl-event").first.wait_for()


def _preview_query(watched: Watched) -> dict[str, list[str]]:
    src = watched.page.locator("#preview").get_attribute("src") or ""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(src).query)


def _preview_text(watched: Watched) -> str:
    return watched.page.frame_locator("#preview").locator("body").inner_text()


def test_the_tag_pattern_finds_a_class_name_in_text() -> None:
    """The check below would see a tag: in text, in a sentence, next to CJK text."""
    assert TYPE_TAGS.search("Types: EntityListed, RuleIssued")
    assert TYPE_TAGS.search("事件类型EntityRegistered")
    assert not TYPE_TAGS.search("Added to a sanctions list")


@pytest.mark.parametrize("lang", LANGS)
def test_builder_shows_no_class_names_in_any_language(
    service: str, watched: Watched, lang: str
) -> None:
    _open_builder(watched, service, lang)
    page = watched.page
    assert page.locator("html").get_attribute("lang") == lang
    # Every event type is offered, each under a name a reader uses.
    offered = page.locator("#types input[name=types]").evaluate_all("els => els.map(i => i.value)")
    assert sorted(offered) == sorted(EVENT_TYPES)
    visible = page.locator("body").inner_text()
    assert TYPE_TAGS.findall(visible) == []
    assert TYPE_TAGS.findall(_preview_text(watched)) == []
    labels = page.locator("#types label").all_inner_texts()
    assert len(labels) == len(EVENT_TYPES) and all(label.strip() for label in labels)
    assert not watched.errors


@pytest.mark.parametrize("lang", LANGS)
def test_builder_starts_on_the_story_without_first_records(
    service: str, watched: Watched, lang: str
) -> None:
    _open_builder(watched, service, lang)
    page = watched.page
    huawei, ymtc = STORY_NAMES[lang]
    assert _preview_query(watched)["entities"] == ["huawei,ymtc"]
    assert page.locator("#chosen li").all_inner_texts() == [
        f"{huawei} (huawei) ×",
        f"{ymtc} (ymtc) ×",
    ]
    assert not page.locator(f"#types input[value={REGISTRATION}]").is_checked()
    frame = page.frame_locator("#preview")
    title = frame.locator("h1").inner_text()
    assert huawei in title and ymtc in title
    entities = set(frame.locator(".tl-entity").all_inner_texts())
    assert {huawei, ymtc} <= entities, entities
    headlines = frame.locator(".tl-headline").all_inner_texts()
    assert len(headlines) > 5
    assert [h for h in headlines if FIRST_RECORD[lang] in h] == []
    # Asked for, the first records are there: the default leaves them out, the story has them.
    page.locator(f"#types input[value={REGISTRATION}]").check()
    page.wait_for_function(
        "() => (document.querySelector('#preview').getAttribute('src') || '')"
        f".includes('types={REGISTRATION}')"
    )
    frame.locator(".tl-headline", has_text=FIRST_RECORD[lang]).first.wait_for()
    assert not watched.errors


def test_builder_preview_switches_between_phone_and_desktop_width(
    service: str, watched: Watched
) -> None:
    page = watched.page
    page.set_viewport_size({"width": 1600, "height": 900})  # room for 1024 beside the form
    _open_builder(watched, service, "en")
    preview = page.locator("#preview")
    assert preview.evaluate("f => f.getBoundingClientRect().width") == 375
    page.get_by_label("Desktop").check()
    page.wait_for_function("document.getElementById('preview').offsetWidth === 1024")
    page.get_by_label("Phone (375 px)").check()
    page.wait_for_function("document.getElementById('preview').offsetWidth === 375")
    assert not watched.errors


def test_docs_loads_only_from_the_service_and_breaks_no_csp_rule(
    service: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(f"{service}/docs")
    # Swagger UI has started (its root is drawn) and fetched the service's OpenAPI document.
    page.locator("#swagger-ui .swagger-ui").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert any(u.startswith(f"{service}/schema/openapi.json") for u in watched.requests)
    assert any(u.startswith(f"{service}/docs/assets/") for u in watched.requests)
    assert watched.foreign(service) == []
    assert watched.csp_violations() == []
    assert not watched.errors and not watched.dialogs


def test_docs_shows_the_operations(service: str, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{service}/docs")
    operation = page.locator(".opblock-summary-path", has_text="/v1/timeline").first
    operation.wait_for(timeout=15_000)
    # Opening an operation renders its parameters (Swagger UI's code, styles and icons at work).
    operation.click()
    page.locator(".parameters-container").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert watched.foreign(service) == []
    assert watched.csp_violations() == []
    assert not watched.errors


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", WIDTHS)
def test_builder_screenshots_fit_the_width(
    service: str, watched: Watched, lang: str, width: int
) -> None:
    page = watched.page
    page.set_viewport_size({"width": width, "height": 900})
    _open_builder(watched, service, lang)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scroll"
    # A legend sits on its fieldset's border: a second line of it would be cut by the border.
    wrapped = page.eval_on_selector_all(
        "legend",
        "els => els.filter(l => l.getBoundingClientRect().height >"
        " 1.5 * parseFloat(getComputedStyle(l).lineHeight)).map(l => l.textContent)",
    )
    assert wrapped == []
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"builder-{lang}-{width}.png"))
    assert watched.csp_violations() == []
    assert not watched.errors
