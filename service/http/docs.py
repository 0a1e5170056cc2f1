"""`/docs`: the API reference people read, Swagger UI over `/schema/openapi.json`.

Swagger UI 5's JS and CSS (Apache-2.0, kept in `static/swagger-ui/` with its licence: version 5
reads the OpenAPI 3.1 that Litestar writes) are served by this service under `/docs/assets/`;
its start-up script is `static/docs.js`. No CDN, no inline script: the page has the widget's
CSP rules.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from projections.present.markup import Markup, el, join

DOCS_ASSETS = "/docs/assets"
CSP_DOCS = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def render_docs() -> str:
    head = join(
        el("meta", {"charset": "utf-8"}),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("title", {}, "sanctions-timeline API reference"),
        el("link", {"rel": "icon", "href": "data:,"}),
        el("link", {"rel": "stylesheet", "href": f"{DOCS_ASSETS}/swagger-ui.css"}),
        el("script", {"src": f"{DOCS_ASSETS}/swagger-ui-bundle.js", "defer": True}),
        el("script", {"src": "/embed/assets/docs.js", "defer": True}),
    )
    body = el("body", {}, el("div", {"id": "swagger-ui", "data-url": "/schema/openapi.json"}))
    return str(
        join(Markup("<!doctype html>\n"), el("html", {"lang": "en"}, el("head", {}, head), body))
    )


@get("/docs", include_in_schema=False, media_type=MediaType.HTML)
async def docs() -> Response[str]:
    """The interactive API reference."""
    return Response(
        render_docs(),
        media_type=MediaType.HTML,
        headers={
            "Content-Security-Policy": CSP_DOCS,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=3600",
        },
    )


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=DOCS_ASSETS,
        directories=[Path(str(resources.files("service.http").joinpath("static", "swagger-ui")))],
        cache_control=CacheControlHeader(public=True, max_age=86400),
        name="docs-assets",
        include_in_schema=False,
    )


ROUTES = [docs]
