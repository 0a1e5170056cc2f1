"""Hostile events for the embed tests: markup, event handlers and javascript: URLs in every
text field an event has (names, headlines, texts, source labels and URLs)."""

from __future__ import annotations

import html.parser

# Each payload, if it ever ran, would set window.__pwned (the browser test reads it).
SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "<img src=x onerror=\"window.__pwned = 'onerror'\">"
JS_URL = "javascript:window.__pwned='href'"
HOSTILE = f"{SCRIPT}{IMG} {JS_URL}"
QUOTE_BREAK = "https://example.org/a?x=\"><script>window.__pwned='attr'</script>"

HOSTILE_ENTITY = "hostile-co"


def hostile_events() -> list[dict]:
    """A registration and a listing of `hostile-co` whose every text is hostile."""
    names = {"en": f"Evil {HOSTILE}", "zh-Hans": f"恶意{HOSTILE}", "zh-Hant": f"惡意{HOSTILE}"}
    sources = [
        {"url": QUOTE_BREAK, "citation": HOSTILE, "title": HOSTILE},
        {"url": "https://example.org/b", "publisher": f"{IMG}pub"},
    ]
    return [
        {
            "type": "EntityRegistered",
            "entity": HOSTILE_ENTITY,
            "occurred": "2020-03",
            "kind": "company",
            "names": names,
            "sources": sources,
        },
        {
            "type": "EntityListed",
            "entity": HOSTILE_ENTITY,
            "occurred": "2021-04-05",
            "list": "us-entity-list",
            "authority": "BIS",
            "headline": {"en": HOSTILE, "zh-Hans": HOSTILE, "zh-Hant": HOSTILE},
            "text": {"en": HOSTILE, "zh-Hans": HOSTILE, "zh-Hant": HOSTILE},
            "sources": sources,
            "confidence": "medium",
        },
    ]


class Markup(html.parser.HTMLParser):
    """What a page's markup contains: elements, their attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]


def parse(page: str) -> Markup:
    parser = Markup()
    parser.feed(page)
    parser.close()
    return parser
