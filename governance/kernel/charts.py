"""Charts as SVG strings, drawn with matplotlib's Agg-free SVG backend. Pages and PDFs embed the same output."""

import functools
import hashlib
import io
import re
from collections.abc import Callable
from typing import Any

import matplotlib
from django.core.cache import cache

from governance.kernel.canonical import content_hash

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

PALETTE = {"ink": "#1d2430", "muted": "#5b6575", "line": "#d9dee6", "accent": "#2b6cb0", "pass": "#1e7a46",
           "fail": "#b42318", "warn": "#8a5a00"}

plt.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": 9, "axes.edgecolor": PALETTE["line"],
    "axes.labelcolor": PALETTE["ink"], "xtick.color": PALETTE["muted"], "ytick.color": PALETTE["muted"],
    "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none", "svg.hashsalt": "gatehouse",
    # Labels are user data (group names, metric names): a "$" must be a dollar sign, never mathtext, which
    # would fail to parse "a$x^$b" and take the page down with it.
    "text.parse_math": False,
})


CHART_CACHE_SECONDS = 24 * 3600


def cached_chart(draw: Callable[..., str]) -> Callable[..., str]:
    """Keep a chart's SVG in the cache, keyed by what it is drawn from: the function, its code, and a hash of its
    arguments. Drawing with matplotlib costs tens of milliseconds a chart, most of it laying out axes and ticks;
    a page with a long history draws several. The SVG is a pure function of the arguments (fixed hash salt, no
    dates), so an entry is never stale: new data is a new key, changed drawing code a new function hash. Arguments
    that are not plain data (canonical JSON refuses them) are drawn every time."""
    code = hashlib.sha256(draw.__code__.co_code + repr(draw.__code__.co_consts).encode()).hexdigest()[:16]
    prefix = f"chart:{draw.__module__}.{draw.__qualname__}:{code}:"

    @functools.wraps(draw)
    def wrapper(*args: object, **kwargs: object) -> str:
        try:
            key = prefix + content_hash([list(args), kwargs])
        except (TypeError, ValueError):
            return draw(*args, **kwargs)
        svg: str | None = cache.get(key)
        if svg is None:
            svg = draw(*args, **kwargs)
            cache.set(key, svg, CHART_CACHE_SECONDS)
        return svg

    wrapper.uncached = draw  # type: ignore[attr-defined]  # the drawing itself, for tests that time or inspect it
    return wrapper


def figure(width_in: float = 6.0, height_in: float = 2.6) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=100)
    return fig, ax


def to_svg(fig: Any, *, title: str = "") -> str:
    """Serialise and close the figure; the SVG is deterministic (fixed hash salt, no date metadata)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = _without_inline_styles(svg[svg.index("<svg"):])
    if title:
        svg = re.sub(r"<svg ", f'<svg role="img" aria-label="{_escape(title)}" ', svg, count=1)
    return svg


_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"(?=[^<>]*>)')  # inside a tag, never in text content
_STYLE_ELEMENT = re.compile(r"\s*<style[^>]*>\*\{([^}]*)\}</style>")


def _attributes(declarations: str) -> str:
    pairs = (part.split(":", 1) for part in declarations.split(";") if ":" in part)
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)


def _without_inline_styles(svg: str) -> str:
    """The page's Content-Security-Policy allows no inline styles, and charts are inline SVG: matplotlib's
    ``style`` attributes become the equivalent SVG presentation attributes, and its one ``*{...}`` rule moves to
    the root element, from which those properties inherit. The drawing is the same on pages and in PDFs."""
    rule = _STYLE_ELEMENT.search(svg)
    if rule:
        svg = svg[:rule.start()] + svg[rule.end():]
        svg = svg.replace("<svg ", f"<svg{_attributes(rule.group(1))} ", 1)
    svg = svg.replace("<defs>\n </defs>", "").replace("<defs>\n  </defs>", "")
    return _STYLE_ATTRIBUTE.sub(lambda m: _attributes(m.group(1)), svg)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
