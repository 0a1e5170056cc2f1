"""HTML built on the server, escaped by default: the one builder of the widget and the builder.

`el(tag, attrs, *children)` escapes every attribute value and every text child
(`html.escape(quote=True)`); only `Markup` that `el()` itself produced passes unescaped, so
text from an event can never become markup. `safe_href` lets only http(s) URLs be links.
Pure: no I/O.
"""

from __future__ import annotations

import html
import urllib.parse

VOID = frozenset({"meta", "link", "br", "input"})


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
    if tag in VOID:
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
