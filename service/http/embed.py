"""The journalists' embeddable timeline: a widget page, oEmbed, and an embed builder.

`GET /embed/timeline` renders the events of `/v1/timeline` (same query, same data functions)
as one self-contained HTML page: its CSS and JS are served by this service under
`/embed/assets/`, nothing else is loaded. The page is rendered on the server and every value
in it goes through `html.escape` (the `el()` builder below escapes by default: only `Markup`
that it built itself passes unescaped), so event text can never become markup; the script
reads no event data at all (it only posts the page height and moves focus between events).
Only http(s) URLs become links. A strict Content-Security-Policy forbids inline script and
style; `frame-ancestors *` lets any site embed it.

Caching is that of the API (service/http/answers.py `serve_cached`): with a past `known_at` the
page is immutable, without one its ETag follows the log position. See docs/embed.md.
"""

from __future__ import annotations

import datetime as _dt
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from litestar.static_files import create_static_files_router

from events.types import Lang, Source
from projections.present.dates import display_date
from projections.present.headlines import localized
from projections.present.markup import Markup, el, join, safe_href
from projections.present.words import REGISTRATION, words
from service.errors import BadRequest, NotFound, NotImplementedHere
from service.eventlog.store import EventStore
from service.http.builder_page import STORY, chosen_names, render_builder
from service.http.moment import known_at_utc
from service.http.read_request import ReadRequest
from service.http.reads import require_registered
from service.http.timeline import (
    TimelineItem,
    TimelineQuery,
    entity_names,
    is_uncertain,
    parse_timeline_query,
    timeline_items,
)
from service.settings import Settings

__all__ = ["Markup", "el", "join", "safe_href"]  # the one escaping builder, re-exported

Theme = Literal["auto", "light", "dark"]
Group = Literal["none", "entity"]
Words = dict[str, str]

EMBED_PATH = "/embed/timeline"
ASSETS = "/embed/assets"
RENDER_VERSION = 2
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
    lang: Lang
    theme: Theme
    group: Group
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


def _title(params: EmbedParams, names: dict, w: Words) -> str:
    shown = [localized(names.get(e, {}), params.lang) or e for e in params.query.ids]
    return w["sep"].join(shown) if shown else w["timeline"]


def _name(entity: str, names: dict, lang: str) -> str:
    return localized(names.get(entity, {}), lang) or entity


def _event_date(item: TimelineItem, lang: str, w: Words) -> Markup:
    reasons = _uncertainty(item, w) if is_uncertain(item) else []
    return el(
        "p",
        {"class": "tl-date"},
        el("time", {"datetime": item.occurred}, display_date(item.occurred, item.precision, lang)),
        el("span", {"class": "tl-uncertain", "aria-hidden": "true"}, "?") if reasons else None,
        el("span", {"class": "tl-sr"}, w["paren"].format(w["sep"].join(reasons)))
        if reasons
        else None,
    )


def _source(source: Source) -> Markup:
    label = source.citation or source.publisher or source.title or source.url
    href = safe_href(source.url)
    if href is None:
        return el("li", {}, el("span", {"class": "tl-source"}, label))
    link = {"href": href, "rel": "noopener noreferrer", "target": "_blank"}
    return el("li", {}, el("a", link | {"title": source.title}, label))


def _sources(item: TimelineItem, w: Words) -> Markup | None:
    if not item.sources:
        return None
    return el(
        "div",
        {"class": "tl-sources"},
        el("span", {"class": "tl-sources-label"}, w["sources"]),
        el("ul", {}, *(_source(s) for s in item.sources)),
    )


def _text(item: TimelineItem, w: Words) -> Markup | None:
    """The event's text; one in another language than the page's (English on a Chinese page)
    carries its own `lang` and says so in words."""
    if not item.text:
        return None
    if item.text_lang is None:
        return el("p", {"class": "tl-text"}, item.text)
    return el(
        "p",
        {"class": "tl-text tl-other-lang"},
        el("span", {"class": "tl-lang-note"}, w["in_english"]),
        " ",
        el("span", {"lang": item.text_lang}, item.text),
    )


def _event(item: TimelineItem, names: dict, lang: str, w: Words, colour: int) -> Markup:
    anchor = f"ev-{item.id}"
    uncertain = bool(_uncertainty(item, w)) and is_uncertain(item)
    return el(
        "li",
        {"class": "tl-item"},
        el(
            "article",
            {
                "class": f"tl-event c{colour}" + (" tl-uncertain-event" if uncertain else ""),
                "id": anchor,
                "tabindex": "0",
                "aria-labelledby": f"{anchor}-h",
                "data-event-id": item.id,
            },
            _event_date(item, lang, w),
            el("p", {"class": f"tl-entity c{colour}"}, _name(item.entity, names, lang)),
            el("h3", {"class": "tl-headline", "id": f"{anchor}-h"}, item.headline),
            _text(item, w),
            _sources(item, w),
        ),
    )


def _colours(params: EmbedParams, items: tuple[TimelineItem, ...]) -> dict[str, int]:
    """Each entity's colour: by the order of `entities`, then of first appearance."""
    order: dict[str, int] = {}
    for entity in (*params.query.ids, *(i.entity for i in items)):
        order.setdefault(entity, len(order) % COLOURS)
    return order


def _events_list(chosen, names, params: EmbedParams, w: Words, colours, label: str) -> Markup:
    return el(
        "ol",
        {"class": "tl-events", "aria-label": label},
        *(_event(i, names, params.lang, w, colours[i.entity]) for i in chosen),
    )


def _body(params: EmbedParams, items: tuple[TimelineItem, ...], names: dict, w: Words) -> Markup:
    colours = _colours(params, items)
    if not items:
        return el("p", {"class": "tl-empty"}, w["none"])
    if params.group != "entity":
        return _events_list(items, names, params, w, colours, w["list"])
    sections = []
    for entity, colour in colours.items():
        mine = tuple(i for i in items if i.entity == entity)
        if not mine:
            continue
        name = _name(entity, names, params.lang)
        sections.append(
            el(
                "section",
                {"class": "tl-group", "aria-labelledby": f"g-{entity}"},
                el("h2", {"class": f"tl-group-name c{colour}", "id": f"g-{entity}"}, name),
                _events_list(mine, names, params, w, colours, name),
            )
        )
    return join(*sections)


def _head(title: str, oembed: str | None) -> Markup:
    discovery = (
        el(
            "link",
            {"rel": "alternate", "type": "application/json+oembed", "href": oembed, "title": title},
        )
        if oembed
        else None
    )
    return join(
        el("meta", {"charset": "utf-8"}),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("meta", {"name": "referrer", "content": "no-referrer"}),
        el("title", {}, title),
        discovery,
        el("link", {"rel": "icon", "href": "data:,"}),
        el("link", {"rel": "stylesheet", "href": f"{ASSETS}/embed.css"}),
        el("script", {"src": f"{ASSETS}/embed.js", "defer": True}),
    )


def _header(params: EmbedParams, title: str, count: int, w: Words) -> Markup:
    counted = w["one_event"] if count == 1 else w["events"].format(n=count)
    when = w["pinned"].format(k=_moment_text(params.known_at)) if params.known_at else w["latest"]
    return el(
        "header",
        {"class": "tl-header"},
        el("h1", {"id": "tl-title"}, title),
        el("p", {"class": "tl-meta"}, f"{counted} · {when}"),
        el("p", {"class": "tl-sr"}, w["keys"]),
    )


def _footer(data_url: str, w: Words) -> Markup:
    return el(
        "footer",
        {"class": "tl-footer"},
        el("p", {"class": "tl-legend"}, w["legend"]),
        el(
            "p",
            {},
            el("a", {"href": data_url, "target": "_blank", "rel": "noopener"}, w["data"]),
            " · ",
            PROVIDER,
        ),
    )


def widget_url(params: EmbedParams, origin: str = "") -> str:
    """The canonical widget URL of `params`: relative without `origin`."""
    query = params.query_string()
    return f"{origin}{EMBED_PATH}" + (f"?{query}" if query else "")


def render_page(
    params: EmbedParams,
    items: tuple[TimelineItem, ...],
    names: dict,
    public_url: str | None,
) -> bytes:
    """The widget page. Every interpolated value is escaped by `el()`. Links are relative;
    the oEmbed discovery link, which must be absolute, is there only with a public URL."""
    w = dict(words(params.lang))
    title = _title(params, names, w)
    oembed = None
    if public_url:
        target = widget_url(params, public_url)
        oembed = f"{public_url}/oembed?" + urllib.parse.urlencode({"url": target, "format": "json"})
    data_query = params.query_string(display=False)
    data_url = "/v1/timeline" + (f"?{data_query}" if data_query else "")
    main = el(
        "main",
        {"class": "tl", "aria-labelledby": "tl-title"},
        _header(params, title, len(items), w),
        _body(params, items, names, w),
        _footer(data_url, w),
    )
    document = join(
        Markup("<!doctype html>\n"),
        el(
            "html",
            {"lang": params.lang, "data-theme": params.theme, "data-message": MESSAGE_TYPE},
            el("head", {}, _head(title, oembed)),
            el("body", {}, main),
        ),
    )
    return document.encode()


def embed_params(
    query: TimelineQuery,
    lang: Lang,
    theme: Theme,
    group: Group,
    known_at: _dt.datetime | None,
) -> EmbedParams:
    """The params of a widget; BadRequest naming `entities` when it names none."""
    if not query.ids:
        raise BadRequest(
            "name at least one entity (comma-separated ids): a widget shows chosen entities, "
            "never the whole log",
            field="entities",
        )
    return EmbedParams(query=query, lang=lang, theme=theme, group=group, known_at=known_at)


def for_readers(items: tuple[TimelineItem, ...], query: TimelineQuery) -> tuple[TimelineItem, ...]:
    """The events a reader sees: first records of entities (bookkeeping) only when asked for."""
    if REGISTRATION in query.types:
        return items
    return tuple(i for i in items if i.type != REGISTRATION)


def _request_origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _page_headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, **SAFE_HEADERS}


class EmbedController(Controller):
    """`/embed/timeline`: the widget page."""

    path = EMBED_PATH
    tags = ("embed",)

    @get(
        "/",
        operation_id="embedTimeline",
        summary="The embeddable timeline widget: a self-contained HTML page (iframe it)",
        description="Same query as /v1/timeline, plus `theme` and `group`; `entities` is "
        f"required (at most 50). First records of entities ({REGISTRATION}) are shown only "
        "when `types` names them. With `known_at` in the past the page is immutable. It posts "
        f"its height to the parent page (`{{type: '{MESSAGE_TYPE}', height}}`); "
        f"{ASSETS}/resize.js resizes the iframe.",
        media_type=MediaType.HTML,
    )
    async def timeline(
        self,
        request: Request,
        read: NamedDependency[ReadRequest],
        entities: Annotated[
            str | None, Parameter(description="Comma-separated ids (required)")
        ] = None,
        from_: Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
        to: Annotated[str | None, Parameter(description="YYYY-MM-DD")] = None,
        types: Annotated[str | None, Parameter(description="Comma-separated event types")] = None,
        lang: Annotated[Lang, QueryParameter()] = "en",
        theme: Annotated[Theme, QueryParameter()] = "auto",
        group: Annotated[
            Group, QueryParameter(description="entity: one section per entity")
        ] = "none",
    ) -> Response[bytes]:
        query = parse_timeline_query(entities, from_, to, types)
        moment = read.moment
        params = embed_params(query, lang, theme, group, moment.known_at)
        store = moment.store
        public_url = read.settings.public_url

        async def render() -> bytes:
            await require_registered(store, query.ids, moment.known_at, "entities")
            items, names = await timeline_items(store, query, moment, lang)
            return render_page(params, for_readers(items, query), names, public_url)

        # The request's host is in no page and in no key: a Host header cannot fill the cache.
        key = ("embed", RENDER_VERSION, public_url, *query.key(), lang, theme, group)
        response = await read.serve(request, key, render)
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


class WidgetQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The query of a widget URL, typed as `EmbedController.timeline` takes it: a parameter
    the page does not take is not one of a widget URL either."""

    entities: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    types: str | None = None
    lang: Lang = "en"
    known_at: _dt.datetime | None = None
    theme: Theme = "auto"
    group: Group = "none"


def widget_query(query_string: str) -> WidgetQuery:
    """The typed query of a widget URL; BadRequest (no field: the URL is the input) when the
    page would refuse it: a value of the wrong type, a parameter it does not take, or one
    given twice."""
    values = urllib.parse.parse_qs(query_string, keep_blank_values=True)
    repeated = sorted(name for name, given in values.items() if len(given) > 1)
    if repeated:
        raise BadRequest(f"{repeated[0]!r} is given more than once")
    try:
        return msgspec.convert(
            {name: given[0] for name, given in values.items()}, WidgetQuery, strict=False
        )
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc)) from None


def widget_url_params(url: str, base: str) -> tuple[EmbedParams, str]:
    """The embed params of `url`, if it is a widget URL of `base` (the public URL, else the
    request's origin); NotFound otherwise. Returns the params and the origin the answer's
    links use: the public URL's, else the URL's own scheme and host (behind a TLS proxy it is
    https)."""
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
    try:
        asked = widget_query(parts.query)
        params = embed_params(
            parse_timeline_query(asked.entities, asked.from_, asked.to, asked.types),
            asked.lang,
            asked.theme,
            asked.group,
            known_at_utc(asked.known_at),
        )
    except BadRequest as exc:
        problem = f"{exc.field} {exc.detail}" if exc.field else exc.detail
        raise NotFound(f"the widget URL is not valid: {problem}", field="url") from None
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


class OEmbedController(Controller):
    """`/oembed`: oEmbed 1.0 for widget URLs."""

    path = "/oembed"
    tags = ("embed",)

    @get(
        "/",
        operation_id="oembed",
        summary="oEmbed 1.0 for widget URLs of this service (type rich: an iframe)",
        description="404 for a URL that is not a widget of this service; 501 for a format "
        "other than json. width and height never exceed maxwidth and maxheight; with maxheight "
        "the iframe keeps that height (and scrolls) instead of growing to its content.",
    )
    async def oembed(
        self,
        request: Request,
        store: NamedDependency[EventStore],
        settings: NamedDependency[Settings],
        url: Annotated[str, Parameter(max_length=4096, description="A /embed/timeline URL")],
        maxwidth: Annotated[int | None, Parameter(ge=1, le=100_000)] = None,
        maxheight: Annotated[int | None, Parameter(ge=1, le=100_000)] = None,
        format: Annotated[str, QueryParameter(max_length=20)] = "json",
    ) -> Response[OEmbed]:
        if format != "json":
            raise NotImplementedHere(f"format {format!r}: only json is served", field="format")
        public_url = settings.public_url
        params, origin = widget_url_params(url, public_url or _request_origin(request))
        names = await entity_names(store, params.query.ids, params.known_at)
        title = _title(params, names, dict(words(params.lang)))
        width, height = oembed_size(maxwidth, maxheight)
        body = OEmbed(
            version="1.0",
            type="rich",
            provider_name=PROVIDER,
            provider_url=f"{origin}/",
            title=title,
            html=iframe_html(
                widget_url(params, origin), title, width, height, origin, resize=maxheight is None
            ),
            width=width,
            height=height,
            cache_age=OEMBED_CACHE_AGE,
        )
        # Built from the request's own host, an answer is for that request only: a shared
        # cache keyed by path would hand one Host header's links to every reader.
        cache = f"public, max-age={OEMBED_CACHE_AGE}" if public_url else "no-store"
        return Response(body, headers={"Cache-Control": cache})


# ------------------------------------------------------------------------------ builder


class BuilderController(Controller):
    """`/`: the embed builder, for journalists (not part of the API document)."""

    path = "/"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def builder(
        self,
        store: NamedDependency[EventStore],
        lang: Annotated[Lang, QueryParameter()] = "en",
        entities: Annotated[str | None, Parameter(description="Comma-separated ids")] = None,
    ) -> Response[str]:
        """The embed builder in `lang`: entities (the story's by default), dates, event types
        in plain words, language, theme; a preview at phone or desktop width; the code to
        paste."""
        ids = parse_timeline_query(entities, None, None, None).ids if entities else STORY
        names = await entity_names(store, ids, None)
        chosen = chosen_names(ids, names, lang)
        page = render_builder(lang, chosen, widget_url=EMBED_PATH, assets=ASSETS)
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


ROUTES = [EmbedController, OEmbedController, BuilderController]
