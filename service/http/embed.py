"""The journalists' embeddable timeline: a widget page, oEmbed, and an embed builder.

`GET /embed/timeline` renders the events of `/v1/timeline` (same query, same data functions)
as one self-contained HTML page: its CSS and JS are served by this service under
`/embed/assets/`, nothing else is loaded. The page is rendered on the server and every value
in it goes through `html.escape` (the `el()` builder below escapes by default: only `Markup`
that it built itself passes unescaped), so event text can never become markup; the script
reads no event data at all (it only posts the page height and moves focus between events).
Only http(s) URLs become links. A strict Content-Security-Policy forbids inline script and
style; `frame-ancestors *` lets any site embed it.

Caching is that of the API (service/api_reads.py `cached_answer`): with a past `known_at` the
page is immutable, without one its ETag follows the log position. See docs/embed.md.
"""

from __future__ import annotations

import datetime as _dt
import html
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader, State
from litestar.params import Parameter, QueryParameter
from litestar.static_files import create_static_files_router

from events import EVENT_TYPES
from projections.present.headlines import localized
from service.errors import BadRequest, NotFound, NotImplementedHere
from service.eventlog.store import EventStore
from service.http.reads import cached_answer, parse_known_at, resolve_moment
from service.http.timeline import (
    TimelineItem,
    TimelineQuery,
    display_date,
    entity_names,
    is_uncertain,
    parse_timeline_query,
    timeline_items,
)

Lang = Literal["en", "zh-Hans", "zh-Hant"]
Theme = Literal["auto", "light", "dark"]
Group = Literal["none", "entity"]

EMBED_PATH = "/embed/timeline"
ASSETS = "/embed/assets"
RENDER_VERSION = 1
"""Part of every embed page's cache key and ETag: bump it when the page's markup changes."""

CSP_EMBED = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'none'"
)
CSP_BUILDER = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

# oEmbed sizes (docs/embed.md): the widget is responsive from 320 px.
DEFAULT_WIDTH = 640
DEFAULT_HEIGHT = 720
MIN_WIDTH = 320
OEMBED_CACHE_AGE = 3600

PROVIDER = "sanctions-timeline"
MESSAGE_TYPE = "sanctions-timeline:resize"

# ------------------------------------------------------------------------------ escaping


class Markup(str):
    """HTML built by `el()`: already escaped. Any other str is text and gets escaped."""

    __slots__ = ()


def _text(value: object) -> str:
    return value if isinstance(value, Markup) else html.escape(str(value), quote=True)


def el(tag: str, attrs: dict[str, object] | None = None, *children: object) -> Markup:
    """`<tag attrs>children</tag>`; attribute values and text children are escaped; None and
    False attributes are left out; True gives a bare attribute."""
    parts = [tag]
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        parts.append(name if value is True else f'{name}="{html.escape(str(value), quote=True)}"')
    opening = "<" + " ".join(parts) + ">"
    if tag in {"meta", "link", "br"}:
        return Markup(opening)
    return Markup(opening + "".join(_text(c) for c in children if c is not None) + f"</{tag}>")


def join(*parts: object) -> Markup:
    return Markup("".join(_text(p) for p in parts if p is not None))


def safe_href(url: str) -> str | None:
    """`url` if it is an absolute http(s) URL with a host, else None (it is shown as text)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url.strip()


# ------------------------------------------------------------------------------ words

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "timeline": "Timeline",
        "events": "{n} events",
        "one_event": "1 event",
        "pinned": "As recorded by {k}",
        "latest": "Latest record",
        "sources": "Sources: ",
        "paren": " ({})",
        "none": "No events match.",
        "legend": "? marks a date known only to the month or year, or sources of less than "
        "high confidence.",
        "year": "date known only to the year",
        "month": "date known only to the month",
        "medium": "medium confidence",
        "low": "low confidence",
        "list": "Events",
        "data": "Data (JSON)",
        "sep": ", ",
        "keys": "Tab or the arrow keys move between events.",
    },
    "zh-Hans": {
        "timeline": "时间线",
        "events": "共 {n} 个事件",
        "one_event": "共 1 个事件",
        "pinned": "截至 {k} 的记录",
        "latest": "最新记录",
        "sources": "来源：",
        "paren": "（{}）",
        "none": "没有符合条件的事件。",
        "legend": "？表示日期仅精确到月或年，或来源可信度不高。",
        "year": "日期仅精确到年",
        "month": "日期仅精确到月",
        "medium": "可信度中等",
        "low": "可信度较低",
        "list": "事件",
        "data": "数据（JSON）",
        "sep": "、",
        "keys": "按 Tab 键或方向键在事件之间移动。",
    },
    "zh-Hant": {
        "timeline": "時間線",
        "events": "共 {n} 個事件",
        "one_event": "共 1 個事件",
        "pinned": "截至 {k} 的記錄",
        "latest": "最新記錄",
        "sources": "來源：",
        "paren": "（{}）",
        "none": "沒有符合條件的事件。",
        "legend": "？表示日期僅精確到月或年，或來源可信度不高。",
        "year": "日期僅精確到年",
        "month": "日期僅精確到月",
        "medium": "可信度中等",
        "low": "可信度較低",
        "list": "事件",
        "data": "資料（JSON）",
        "sep": "、",
        "keys": "按 Tab 鍵或方向鍵在事件之間移動。",
    },
}
COLOURS = 8


def _uncertainty(item: TimelineItem, words: dict[str, str]) -> list[str]:
    reasons = []
    if item.precision in {"year", "month"}:
        reasons.append(words[item.precision])
    if item.confidence in {"medium", "low"}:
        reasons.append(words[item.confidence])
    return reasons


def _moment_text(known_at: _dt.datetime) -> str:
    return known_at.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# ------------------------------------------------------------------------------ page


class EmbedParams(msgspec.Struct, frozen=True):
    query: TimelineQuery
    lang: str
    theme: str
    group: str
    known_at: _dt.datetime | None

    def query_string(self, display: bool = True) -> str:
        """The canonical query of this embed; without `display`, that of its JSON data."""
        q = self.query
        pairs = [
            ("entities", ",".join(q.ids)),
            ("from", q.start.isoformat() if q.start else ""),
            ("to", q.end.isoformat() if q.end else ""),
            ("types", ",".join(q.types)),
            ("lang", self.lang),
            ("known_at", _iso(self.known_at) if self.known_at else ""),
        ]
        if display:
            pairs += [
                ("theme", self.theme if self.theme != "auto" else ""),
                ("group", self.group if self.group != "none" else ""),
            ]
        return urllib.parse.urlencode([(k, v) for k, v in pairs if v], safe=",:")


def _iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")


def _title(params: EmbedParams, names: dict, words: dict[str, str]) -> str:
    shown = [localized(names.get(e, {}), params.lang) or e for e in params.query.ids]
    return words["sep"].join(shown) if shown else words["timeline"]


def _event(item: TimelineItem, names: dict, lang: str, words: dict, colour: int) -> Markup:
    anchor = f"ev-{item.id}"
    reasons = _uncertainty(item, words) if is_uncertain(item) else []
    date = el(
        "p",
        {"class": "tl-date"},
        el("time", {"datetime": item.occurred}, display_date(item.occurred, item.precision, lang)),
        el("span", {"class": "tl-uncertain", "aria-hidden": "true"}, "?") if reasons else None,
        el("span", {"class": "tl-sr"}, words["paren"].format(words["sep"].join(reasons)))
        if reasons
        else None,
    )
    entity = el(
        "p",
        {"class": f"tl-entity c{colour}"},
        localized(names.get(item.entity, {}), lang) or item.entity,
    )
    links = []
    for source in item.sources:
        label = source.citation or source.publisher or source.title or source.url
        href = safe_href(source.url)
        if href is None:
            links.append(el("li", {}, el("span", {"class": "tl-source"}, label)))
        else:
            links.append(
                el(
                    "li",
                    {},
                    el(
                        "a",
                        {
                            "href": href,
                            "rel": "noopener noreferrer",
                            "target": "_blank",
                            "title": source.title,
                        },
                        label,
                    ),
                )
            )
    sources = (
        el(
            "div",
            {"class": "tl-sources"},
            el("span", {"class": "tl-sources-label"}, words["sources"]),
            el("ul", {}, *links),
        )
        if links
        else None
    )
    return el(
        "li",
        {"class": "tl-item"},
        el(
            "article",
            {
                "class": f"tl-event c{colour}" + (" tl-uncertain-event" if reasons else ""),
                "id": anchor,
                "tabindex": "0",
                "aria-labelledby": f"{anchor}-h",
                "data-event-id": item.id,
            },
            date,
            entity,
            el("h3", {"class": "tl-headline", "id": f"{anchor}-h"}, item.headline),
            el("p", {"class": "tl-text"}, item.text) if item.text else None,
            sources,
        ),
    )


def render_page(
    params: EmbedParams,
    items: tuple[TimelineItem, ...],
    names: dict,
    base: str,
) -> bytes:
    """The widget page. Every interpolated value is escaped by `el()`."""
    lang = params.lang
    words = _WORDS[lang]
    title = _title(params, names, words)
    query = params.query_string()
    page_url = f"{base}{EMBED_PATH}" + (f"?{query}" if query else "")
    oembed = f"{base}/oembed?" + urllib.parse.urlencode({"url": page_url, "format": "json"})
    data_query = params.query_string(display=False)
    data_url = f"{base}/v1/timeline" + (f"?{data_query}" if data_query else "")

    order: dict[str, int] = {}
    for entity in params.query.ids:
        order.setdefault(entity, len(order))
    for item in items:
        order.setdefault(item.entity, len(order))

    def events_list(chosen: tuple[TimelineItem, ...], label: str) -> Markup:
        return el(
            "ol",
            {"class": "tl-events", "aria-label": label},
            *(_event(i, names, lang, words, order[i.entity] % COLOURS) for i in chosen),
        )

    if not items:
        body = el("p", {"class": "tl-empty"}, words["none"])
    elif params.group == "entity":
        sections = []
        for entity in order:
            mine = tuple(i for i in items if i.entity == entity)
            if not mine:
                continue
            name = localized(names.get(entity, {}), lang) or entity
            sections.append(
                el(
                    "section",
                    {"class": "tl-group", "aria-labelledby": f"g-{entity}"},
                    el(
                        "h2",
                        {"class": f"tl-group-name c{order[entity] % COLOURS}", "id": f"g-{entity}"},
                        name,
                    ),
                    events_list(mine, name),
                )
            )
        body = join(*sections)
    else:
        body = events_list(items, words["list"])

    count = words["one_event"] if len(items) == 1 else words["events"].format(n=len(items))
    when = (
        words["pinned"].format(k=_moment_text(params.known_at))
        if params.known_at
        else words["latest"]
    )
    head = join(
        el("meta", {"charset": "utf-8"}),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("meta", {"name": "referrer", "content": "no-referrer"}),
        el("title", {}, title),
        el(
            "link",
            {
                "rel": "alternate",
                "type": "application/json+oembed",
                "href": oembed,
                "title": title,
            },
        ),
        el("link", {"rel": "icon", "href": "data:,"}),
        el("link", {"rel": "stylesheet", "href": f"{ASSETS}/embed.css"}),
        el("script", {"src": f"{ASSETS}/embed.js", "defer": True}),
    )
    main = el(
        "main",
        {"class": "tl", "aria-labelledby": "tl-title"},
        el(
            "header",
            {"class": "tl-header"},
            el("h1", {"id": "tl-title"}, title),
            el("p", {"class": "tl-meta"}, f"{count} · {when}"),
            el("p", {"class": "tl-sr"}, words["keys"]),
        ),
        body,
        el(
            "footer",
            {"class": "tl-footer"},
            el("p", {"class": "tl-legend"}, words["legend"]),
            el(
                "p",
                {},
                el("a", {"href": data_url, "target": "_blank", "rel": "noopener"}, words["data"]),
                " · ",
                PROVIDER,
            ),
        ),
    )
    document = join(
        Markup("<!doctype html>\n"),
        el(
            "html",
            {"lang": lang, "data-theme": params.theme, "data-message": MESSAGE_TYPE},
            el("head", {}, head),
            el("body", {}, main),
        ),
    )
    return document.encode()


def _embed_params(
    entities: str | None,
    from_: str | None,
    to: str | None,
    types: str | None,
    lang: str,
    known_at: str | None,
    theme: str,
    group: str,
) -> EmbedParams:
    return EmbedParams(
        query=parse_timeline_query(entities, from_, to, types),
        lang=lang,
        theme=theme,
        group=group,
        known_at=parse_known_at(known_at),
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _page_headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, **SAFE_HEADERS}


@get(
    EMBED_PATH,
    operation_id="embedTimeline",
    summary="The embeddable timeline widget: a self-contained HTML page (iframe it)",
    description="Same query as /v1/timeline, plus `theme` and `group`. With `known_at` in the "
    "past the page is immutable. It posts its height to the parent page "
    f"(`{{type: '{MESSAGE_TYPE}', height}}`); {ASSETS}/resize.js resizes the iframe.",
    tags=["embed"],
    media_type=MediaType.HTML,
)
async def embed_timeline(
    request: Request,
    state: State,
    entities: Annotated[str | None, Parameter(description="Comma-separated ids; none: all")] = None,
    from_: Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
    to: Annotated[str | None, Parameter(description="YYYY-MM-DD")] = None,
    types: Annotated[str | None, Parameter(description="Comma-separated event types")] = None,
    lang: Annotated[Lang, QueryParameter()] = "en",
    known_at: Annotated[str | None, Parameter(description="ISO 8601 date-time with zone")] = None,
    theme: Annotated[Theme, QueryParameter()] = "auto",
    group: Annotated[Group, QueryParameter(description="entity: one section per entity")] = "none",
) -> Response[bytes]:
    params = _embed_params(entities, from_, to, types, lang, known_at, theme, group)
    moment = await resolve_moment(state, params.known_at)
    store = moment.store
    base = _base(request)

    async def render() -> bytes:
        items, names = await timeline_items(store, params.query, moment, lang)
        return render_page(params, items, names, base)

    key = ("embed", RENDER_VERSION, base, *params.query.key(), lang, theme, group)
    response = await cached_answer(request, state, key, moment, render)
    response.media_type = MediaType.HTML
    response.headers.update(_page_headers(CSP_EMBED))
    return response


# ------------------------------------------------------------------------------ oEmbed


class OEmbed(msgspec.Struct, frozen=True):
    """An oEmbed 1.0 `rich` response."""

    version: str
    type: str
    provider_name: str
    provider_url: str
    title: str
    html: str
    width: int
    height: int
    cache_age: int


def _embed_url_params(url: str, base: str) -> tuple[EmbedParams, str]:
    """The embed params of `url`, if it is a widget URL of this service; NotFound otherwise.
    Returns the params and the URL's scheme-and-host (kept: behind a TLS proxy it is https)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise NotFound("not a URL of this service", field="url") from None
    ours = urllib.parse.urlsplit(base)
    if (
        parts.scheme not in {"http", "https"}
        or parts.netloc.lower() != ours.netloc.lower()
        or parts.path.rstrip("/") != EMBED_PATH
    ):
        raise NotFound(f"not a widget URL of this service ({base}{EMBED_PATH}?...)", field="url")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)

    def one(name: str, default: str | None = None) -> str | None:
        values = query.get(name)
        return values[-1] if values else default

    lang, theme, group = one("lang", "en"), one("theme", "auto"), one("group", "none")
    try:
        if lang not in _WORDS:
            raise BadRequest("must be en, zh-Hans or zh-Hant", field="lang")
        if theme not in {"auto", "light", "dark"}:
            raise BadRequest("must be auto, light or dark", field="theme")
        if group not in {"none", "entity"}:
            raise BadRequest("must be none or entity", field="group")
        params = _embed_params(
            one("entities"),
            one("from"),
            one("to"),
            one("types"),
            lang,  # type: ignore[arg-type]
            one("known_at"),
            theme,  # type: ignore[arg-type]
            group,  # type: ignore[arg-type]
        )
    except BadRequest as exc:
        raise NotFound(
            f"the widget URL is not valid: {exc.field} {exc.detail}", field="url"
        ) from None
    return params, f"{parts.scheme}://{parts.netloc}"


def oembed_size(maxwidth: int | None, maxheight: int | None) -> tuple[int, int]:
    """Width and height of the iframe: the defaults, never above maxwidth/maxheight."""
    width = DEFAULT_WIDTH if maxwidth is None else min(DEFAULT_WIDTH, maxwidth)
    height = DEFAULT_HEIGHT if maxheight is None else min(DEFAULT_HEIGHT, maxheight)
    return width, height


def iframe_html(src: str, title: str, width: int, height: int, origin: str, resize: bool) -> str:
    """The code a host page pastes: a responsive iframe and, unless its height is bounded by
    the host, the few lines that let the widget set its own height."""
    frame = el(
        "iframe",
        {
            "src": src,
            "title": title,
            "width": str(width),
            "height": str(height),
            "style": f"width:100%;max-width:{width}px;border:0",
            "loading": "lazy",
            "referrerpolicy": "no-referrer",
        },
    )
    if not resize:
        return str(frame)
    return str(join(frame, el("script", {"src": f"{origin}{ASSETS}/resize.js", "async": True})))


@get(
    "/oembed",
    operation_id="oembed",
    summary="oEmbed 1.0 for widget URLs of this service (type rich: an iframe)",
    description="404 for a URL that is not a widget of this service; 501 for a format other "
    "than json. width and height never exceed maxwidth and maxheight; with maxheight the "
    "iframe keeps that height (and scrolls) instead of growing to its content.",
    tags=["embed"],
)
async def oembed(
    request: Request,
    state: State,
    url: Annotated[str, Parameter(max_length=4096, description="A /embed/timeline URL")],
    maxwidth: Annotated[int | None, Parameter(ge=1, le=100_000)] = None,
    maxheight: Annotated[int | None, Parameter(ge=1, le=100_000)] = None,
    format: Annotated[str, QueryParameter(max_length=20)] = "json",
) -> Response[OEmbed]:
    if format != "json":
        raise NotImplementedHere(f"format {format!r}: only json is served", field="format")
    params, origin = _embed_url_params(url, _base(request))
    store: EventStore = state.store
    names = await entity_names(store, params.query.ids, params.known_at)
    title = _title(params, names, _WORDS[params.lang])
    query = params.query_string()
    src = f"{origin}{EMBED_PATH}" + (f"?{query}" if query else "")
    width, height = oembed_size(maxwidth, maxheight)
    body = OEmbed(
        version="1.0",
        type="rich",
        provider_name=PROVIDER,
        provider_url=f"{origin}/",
        title=title,
        html=iframe_html(src, title, width, height, origin, resize=maxheight is None),
        width=width,
        height=height,
        cache_age=OEMBED_CACHE_AGE,
    )
    return Response(body, headers={"Cache-Control": f"public, max-age={OEMBED_CACHE_AGE}"})


# ------------------------------------------------------------------------------ builder


def _static(name: str) -> str:
    return resources.files("service.http").joinpath("static", name).read_text(encoding="utf-8")


@get("/", include_in_schema=False, media_type=MediaType.HTML)
async def builder() -> Response[str]:
    """The embed builder: search entities, pick range, types, language, theme; preview; copy."""
    boxes = join(
        *(
            el(
                "label",
                {"class": "b-type"},
                el("input", {"type": "checkbox", "name": "types", "value": name}),
                " " + name,
            )
            for name in sorted(EVENT_TYPES)
        )
    )
    page = _static("builder.html").replace("<!--TYPES-->", boxes)
    return Response(
        page,
        media_type=MediaType.HTML,
        headers={**_page_headers(CSP_BUILDER), "Cache-Control": "public, no-cache"},
    )


def assets_router() -> Router:
    """`/embed/assets/*`: the widget's and the builder's JS and CSS, and the host snippet."""
    directory = Path(str(resources.files("service.http").joinpath("static")))
    return create_static_files_router(
        path=ASSETS,
        directories=[directory],
        cache_control=CacheControlHeader(public=True, max_age=3600),
        name="embed-assets",
        include_in_schema=False,
    )


ROUTES = [embed_timeline, oembed, builder]
