"""Charts as SVG strings, drawn with matplotlib's Agg-free SVG backend. Pages and PDFs embed the same output."""

import io
import re
from typing import Any

import matplotlib

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
