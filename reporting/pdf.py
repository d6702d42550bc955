"""The one PDF service: a Django template from templates/pdf/ laid out by WeasyPrint.

Every report gets the same frame (templates/pdf/_base.html): the page size from settings.PDF_PAGE_SIZE, a
running header with the report's title and classification on every page, "page X of Y" in the footer, a
cover, and a table of contents whose page numbers WeasyPrint fills in. Fonts come from Debian's packages
through file:// URLs; nothing is fetched from the network.
"""

import base64
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string

PAGE_SIZES = {"A4": "A4", "LETTER": "letter"}
# Every report is a tagged PDF (PDF/UA-1: structure tree, marked content, document language) so that screen
# readers can read it; the archival option writes PDF/A-3b, also tagged, for records kept for years.
TAGGED = "pdf/ua-1"
ARCHIVAL = "pdf/a-3b"
# Font files may be read from these directories only; every other URL is refused.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation2"))


# WeasyPrint logs every layout step at INFO; a worker's log would fill with them.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class FetchRefused(ValueError):
    pass


@dataclass(frozen=True)
class Pdf:
    content: bytes
    page_count: int
    layout_seconds: float  # WeasyPrint's share: document render plus write_pdf
    variant: str = TAGGED




def page_size() -> str:
    value = str(getattr(settings, "PDF_PAGE_SIZE", "A4")).strip().upper()
    if value not in PAGE_SIZES:
        raise ImproperlyConfigured(f"PDF_PAGE_SIZE must be A4 or Letter, not {value!r}.")
    return PAGE_SIZES[value]


def svg_image(svg: str) -> str:
    """An SVG chart as a data: URL for an <img>. As an image each chart is its own document: its ids cannot
    collide with another chart's, and its SVG styling is not read as the page's CSS."""
    if not svg:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, for the running header's ``content``."""
    out = []
    for char in str(text):
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 32 or char in "\x7f<>&":  # also keeps the text inert inside <style>
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _local_fetcher():
    """WeasyPrint's resource loader, limited to font files on this machine and inline data: URLs."""
    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            scheme = parsed.scheme.lower()
            if scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not any(path.is_relative_to(root) for root in FONT_DIRS):
                    raise FetchRefused(f"reports read fonts only, not {path}")
            elif scheme != "data":
                raise FetchRefused(f"reports do not load {scheme or 'relative'} resources: {url[:120]}")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


def build_html(template_name: str, context: dict, *, title: str, classification: str) -> str:
    """The report's HTML: our part of the work (template rendering), separate from the layout."""
    return render_to_string(template_name, {
        **context,
        "doc_title": title,
        "classification": classification,
        "page_size": page_size(),
        "header_title_css": css_string(title if len(title) <= 90 else title[:88].rstrip() + " …"),
        "classification_css": css_string(classification),
    })


def layout(html: str, *, archival: bool = False, attachments: list[tuple[str, bytes, str]] | None = None) -> Pdf:
    """Lay the HTML out into pages and write the PDF (WeasyPrint's part): tagged PDF/UA-1, or PDF/A-3b (tagged
    too) when ``archival``. ``attachments`` (name, content, description) are embedded files, as PDF/A-3 allows:
    the source data travels inside the archived document."""
    from weasyprint import HTML, Attachment
    from weasyprint.text.fonts import FontConfiguration

    started = time.perf_counter()
    document = HTML(string=html, url_fetcher=_local_fetcher(), base_url="file:///nonexistent/").render(
        font_config=FontConfiguration())
    variant = ARCHIVAL if archival else TAGGED
    embedded = [Attachment(string=content, name=name, description=description, relationship="Source")
                for name, content, description in attachments or ()]
    content = document.write_pdf(pdf_variant=variant, pdf_tags=True, attachments=embedded or None)
    return Pdf(content=content, page_count=len(document.pages), layout_seconds=time.perf_counter() - started,
               variant=variant)


def render_pdf(template_name: str, context: dict, *, title: str, classification: str, archival: bool = False,
               attachments: list[tuple[str, bytes, str]] | None = None) -> Pdf:
    """Render ``templates/pdf/<template_name>`` into a PDF; returns the bytes and the page count."""
    return layout(build_html(template_name, context, title=title, classification=classification), archival=archival,
                  attachments=attachments)
