"""The embed builder's page, rendered on the server in the journalist's language with `el()`.

Every word comes from `projections/present/words.py` (the widget's table); event types are
shown as a reader names them, in groups, never by class name. The page starts on the seed
story's main entities (`STORY`), so its first preview is the story, not the whole log; first
records of entities (registrations) are not offered ticked. `builder.js` builds the URLs and
code from the form, and puts text from the API in the page with `textContent` only.
"""

from __future__ import annotations

from events.types import Lang
from projections.present.headlines import localized
from projections.present.markup import Markup, el, join
from projections.present.words import LANGUAGE_NAMES, LANGUAGES, type_groups, words

STORY = ("huawei", "ymtc")
"""The seed story's main entities: the builder's default choice."""

PREVIEW_WIDTHS = (("mobile", 375), ("desktop", 1024))


def _option(value: str, label: str, selected: bool) -> Markup:
    return el("option", {"value": value, "selected": selected}, label)


def _select(id_: str, label: str, options: list[tuple[str, str]], chosen: str) -> Markup:
    return el(
        "label",
        {},
        label + " ",
        el("select", {"id": id_}, *(_option(v, t, v == chosen) for v, t in options)),
    )


def _entities(w: dict, chosen: list[tuple[str, str]]) -> Markup:
    items = [
        el(
            "li",
            {"data-id": entity, "data-name": name},
            f"{name} ({entity})",
            el(
                "button",
                {
                    "type": "button",
                    "class": "b-small b-remove",
                    "aria-label": w["b_remove"].format(name=name),
                },
                "×",
            ),
        )
        for entity, name in chosen
    ]
    return el(
        "fieldset",
        {},
        el("legend", {}, w["b_entities"]),
        el("label", {"for": "q"}, w["b_search"]),
        el(
            "input",
            {
                "id": "q",
                "type": "search",
                "autocomplete": "off",
                "spellcheck": "false",
                "maxlength": "200",
                "aria-controls": "results",
            },
        ),
        el(
            "ul",
            {
                "id": "results",
                "class": "b-results",
                "aria-live": "polite",
                "aria-label": w["b_search_results"],
            },
        ),
        el("ul", {"id": "chosen", "class": "b-chosen", "aria-label": w["b_chosen"]}, *items),
        el("p", {"id": "need-one", "class": "b-warn", "hidden": bool(chosen)}, w["b_need_one"]),
    )


def _dates(w: dict) -> Markup:
    return el(
        "fieldset",
        {},
        el("legend", {}, w["b_dates"]),
        el(
            "div",
            {"class": "b-row"},
            el("label", {}, w["b_from"] + " ", el("input", {"id": "from", "type": "date"})),
            el("label", {}, w["b_to"] + " ", el("input", {"id": "to", "type": "date"})),
        ),
    )


def _types(lang: Lang, w: dict) -> Markup:
    groups = [
        el(
            "div",
            {"class": "b-type-group", "role": "group", "aria-label": group},
            el("p", {"class": "b-type-group-name"}, group),
            *(
                el(
                    "label",
                    {"class": "b-type"},
                    el("input", {"type": "checkbox", "name": "types", "value": tag}),
                    " " + label,
                )
                for tag, label in members
            ),
        )
        for group, members in type_groups(lang)
    ]
    return el(
        "fieldset",
        {},
        el("legend", {}, w["b_types"]),
        el("p", {"class": "b-help"}, w["b_types_help"]),
        el("div", {"class": "b-types", "id": "types"}, *groups),
    )


def _display(lang: Lang, w: dict) -> Markup:
    return el(
        "fieldset",
        {},
        el("legend", {}, w["b_display"]),
        el(
            "div",
            {"class": "b-row"},
            _select("lang", w["b_language"], [(x, LANGUAGE_NAMES[x]) for x in LANGUAGES], lang),
            _select(
                "theme",
                w["b_theme"],
                [
                    ("auto", w["b_theme_auto"]),
                    ("light", w["b_theme_light"]),
                    ("dark", w["b_theme_dark"]),
                ],
                "auto",
            ),
            _select(
                "group",
                w["b_layout"],
                [("none", w["b_layout_none"]), ("entity", w["b_layout_entity"])],
                "none",
            ),
        ),
        el(
            "label",
            {"class": "b-check"},
            el("input", {"id": "pin", "type": "checkbox", "checked": True}),
            " " + w["b_pin"] + " (",
            el("code", {}, "known_at"),
            ")",
        ),
    )


def _code(w: dict, widget_url: str) -> Markup:
    return el(
        "fieldset",
        {},
        el("legend", {}, w["b_code"]),
        el("label", {"for": "code"}, w["b_iframe"]),
        el("textarea", {"id": "code", "rows": "5", "readonly": True}),
        el("button", {"type": "button", "id": "copy-code", "data-copy": "code"}, w["b_copy_code"]),
        el("label", {"for": "oembed"}, w["b_oembed"]),
        el("input", {"id": "oembed", "type": "text", "readonly": True}),
        el(
            "button",
            {"type": "button", "id": "copy-oembed", "data-copy": "oembed"},
            w["b_copy_oembed"],
        ),
        el("label", {"for": "url"}, w["b_url"]),
        el("input", {"id": "url", "type": "text", "readonly": True}),
        el("button", {"type": "button", "id": "copy-url", "data-copy": "url"}, w["b_copy_url"]),
        el(
            "p",
            {"class": "b-help"},
            el("a", {"id": "open", "href": widget_url, "target": "_blank", "rel": "noopener"}, "↗"),
        ),
        el("p", {"id": "status", "class": "b-status", "role": "status", "aria-live": "polite"}),
    )


def _preview(w: dict) -> Markup:
    toggles = [
        el(
            "label",
            {"class": "b-width"},
            el(
                "input",
                {
                    "type": "radio",
                    "name": "width",
                    "value": name,
                    "checked": name == "mobile",
                },
            ),
            " " + w[f"b_{name}"],
        )
        for name, _ in PREVIEW_WIDTHS
    ]
    return el(
        "section",
        {"class": "b-preview", "aria-label": w["b_preview"]},
        el("h2", {}, w["b_preview"]),
        el("div", {"class": "b-row", "role": "group", "aria-label": w["b_width"]}, *toggles),
        el(
            "div",
            {"class": "b-frame b-frame-mobile", "id": "frame"},
            el("iframe", {"id": "preview", "title": w["b_preview_title"], "src": "about:blank"}),
        ),
    )


def render_builder(
    lang: Lang,
    chosen: list[tuple[str, str]],
    *,
    widget_url: str,
    assets: str,
) -> str:
    """The builder page in `lang`, starting with `chosen` ([(entity id, name in `lang`)])."""
    w = dict(words(lang))
    head = join(
        el("meta", {"charset": "utf-8"}),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("meta", {"name": "referrer", "content": "no-referrer"}),
        el("link", {"rel": "icon", "href": "data:,"}),
        el("title", {}, w["b_title"]),
        el("link", {"rel": "stylesheet", "href": f"{assets}/builder.css"}),
        el("script", {"src": f"{assets}/builder.js", "defer": True}),
        el("script", {"src": f"{assets}/resize.js", "async": True}),
    )
    top = el(
        "header",
        {"class": "b-top"},
        el("h1", {}, w["b_title"]),
        el("p", {}, w["b_intro"], " ", el("a", {"href": "/docs"}, w["b_api"])),
    )
    form = el(
        "form",
        {"class": "b-form", "id": "builder", "novalidate": True},
        _entities(w, chosen),
        _dates(w),
        _types(lang, w),
        _display(lang, w),
        _code(w, widget_url),
    )
    body = el(
        "body",
        {"data-copied": w["b_copied"], "data-remove": w["b_remove"], "data-widget": widget_url},
        top,
        el("div", {"class": "b-layout"}, form, _preview(w)),
    )
    document = join(
        Markup("<!doctype html>\n"), el("html", {"lang": lang}, el("head", {}, head), body)
    )
    return str(document)


def chosen_names(ids: tuple[str, ...], names: dict, lang: Lang) -> list[tuple[str, str]]:
    """[(entity id, its name in `lang`)] for the builder's chosen list."""
    return [(entity, localized(names.get(entity, {}), lang) or entity) for entity in ids]
