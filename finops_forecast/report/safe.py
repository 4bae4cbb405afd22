"""Show user strings in reports as text, never as markup.

Team names, tags, model names, regions, instance types, price sources and file names come from users' bills
and files. The report and the analyst notebooks display them through two kinds of output, each escaped here
and only here:

- Markdown (``IPython.display.Markdown``): :func:`md_text`. nbconvert's Markdown renderer passes raw HTML
  through, so the text is HTML-escaped as well as Markdown-escaped (no tag, link, image, emphasis or heading can
  come from it).
- Tables (pandas ``Styler``, which does not escape by default): :func:`safe_style`.

:func:`live_markup` lists what in a rendered page would run code (``<script>``, ``on*=`` handlers,
``javascript:`` URLs, frames); :func:`finops_forecast.report.render.notebook_to_html` refuses a page with any.
"""
from __future__ import annotations

import html as _html
import re
from html.parser import HTMLParser

# ASCII punctuation that Markdown (CommonMark, GFM, MathJax's $) can give a meaning to; '<', '>', '&' and
# quotes are HTML-escaped instead (a backslash before '&lt;' would show the entity's letters).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^%@/])")


def md_text(value) -> str:
    """Escape a user string for Markdown output: it renders as exactly its text (line breaks as spaces).

    Parameters
    ----------
    value : object
        The string (or anything ``str()`` can show) to display, e.g. a team name from a bill's tag.

    Returns
    -------
    str
        Markdown source that renders as the text, with no HTML element, link, image, emphasis or heading.
    """
    text = " ".join(str(value).split())
    return _html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True)


def safe_style(frame, formats: dict | None = None, *, na_rep: str = "-", hide_index: bool = True):
    """A pandas Styler of ``frame`` whose cells, column labels and index labels are HTML-escaped.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to show; any column may hold user strings.
    formats : dict of str -> str, optional
        Format strings per column (``{"cost [USD]": "{:,.0f}"}``); names absent from ``frame`` are ignored.
    na_rep : str, default "-"
        How a missing value is shown.
    hide_index : bool, default True
        Hide the row index.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    style = frame.style.format(na_rep=na_rep, escape="html")
    if formats:
        style = style.format({k: v for k, v in formats.items() if k in frame.columns}, na_rep=na_rep,
                             escape="html")
    style = style.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    return style.hide(axis="index") if hide_index else style


_LIVE_TAGS = frozenset({"script", "iframe", "frame", "object", "embed", "base", "form", "meta"})
_URL_ATTRS = frozenset({"href", "src", "xlink:href", "action", "formaction", "data", "srcdoc"})
_SAFE_DATA = ("data:image/svg+xml", "data:image/png", "data:image/jpeg", "data:image/gif")


class _LiveMarkup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _LIVE_TAGS and not (tag == "meta" and _harmless_meta(attrs)):
            self.found.append(f"<{tag}> element")
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> handler")
            elif name in _URL_ATTRS and value and _unsafe_url(value):
                self.found.append(f"<{tag} {name}={value[:40]!r}> URL")

    handle_startendtag = handle_starttag


def _harmless_meta(attrs) -> bool:
    names = {k.lower() for k, _ in attrs}
    return names <= {"charset", "name", "content"}


def _unsafe_url(value: str) -> bool:
    url = re.sub(r"[\s\x00-\x1f]", "", value).lower()
    if url.startswith("data:"):
        return not url.startswith(_SAFE_DATA)
    return url.startswith(("javascript:", "vbscript:"))


def live_markup(html: str) -> list[str]:
    """What in an HTML page would run code: script-like elements, ``on*=`` handlers, script or HTML URLs.

    Parameters
    ----------
    html : str
        A rendered page.

    Returns
    -------
    list of str
        One short description per finding; empty for a page that only shows text, tables and images.
    """
    parser = _LiveMarkup()
    parser.feed(html)
    parser.close()
    return parser.found
