"""Markdown for narrative fields, sanitised with nh3 so stored text can never inject markup.

Building a ``Markdown`` object (its extensions, their processors and patterns) costs more than converting a short
card with it, so each thread keeps one and resets it between texts; and the sanitised HTML is cached by the
sha256 of the text, so a page listing the same cards again renders none of them.
"""

import hashlib
import threading

import markdown as md
import nh3
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "del", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
# The key names the renderer's settings as well as the text: a change to the allow-list or the extensions
# changes the version and so never serves HTML rendered under the old rules.
CACHE_VERSION = hashlib.sha256(repr((sorted(ALLOWED_TAGS), sorted(ALLOWED_ATTRIBUTES.items()),
                                     EXTENSIONS)).encode()).hexdigest()[:12]
CACHE_SECONDS = 7 * 24 * 3600

_local = threading.local()


def _renderer() -> md.Markdown:
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = _local.renderer = md.Markdown(extensions=EXTENSIONS, output_format="html")
    return renderer


def _render(text: str) -> str:
    renderer = _renderer()
    try:
        html = renderer.convert(text)
    finally:
        renderer.reset()  # nothing of one text (footnotes, references) may reach the next
    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> SafeString:
    text = text or ""
    if not text.strip():
        return mark_safe("")  # noqa: S308 - empty
    key = f"markdown:{CACHE_VERSION}:{hashlib.sha256(text.encode()).hexdigest()}"
    clean: str | None = cache.get(key)
    if clean is None:
        clean = _render(text)
        cache.set(key, clean, CACHE_SECONDS)
    return mark_safe(clean)  # noqa: S308 - nh3 has removed everything outside the allow-list
