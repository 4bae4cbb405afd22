"""User strings (teams, tags, models, pools, file names) shown in the report cannot create markup: the escaping
helpers, checked through the real renderers (nbconvert's Markdown renderer, pandas' Styler, html.parser)."""
from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest

from finops_forecast.report.safe import live_markup, md_text, safe_style

ATTACKS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
           "![x](javascript:alert(1))", "<https://evil.example>", "**bold** _it_ `code` # h", "a\n\n# heading",
           "&lt;script&gt;", "$x^2$", "<a href='javascript:alert(1)'>y</a>"]


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict]]:
    p = _Elements()
    p.feed(html)
    return p.tags


def _text(html: str) -> str:
    import html as _html
    import re
    return _html.unescape(re.sub(r"<[^>]+>", "", html)).strip()


@pytest.mark.parametrize("attack", ATTACKS)
def test_md_text_renders_as_the_literal_text_with_no_markup(attack):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    html = markdown2html_mistune(f"Team {md_text(attack)} costs 5 USD.")
    assert [t for t, _ in _elements(html)] == ["p"], html
    assert _text(html) == f"Team {' '.join(attack.split())} costs 5 USD."


def test_md_text_keeps_plain_sentences_readable():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    text = "Team ml_platform's llama-3 model costs 1,234 USD/month (12 GPU-h, 2.50 USD/GPU-h)."
    assert _text(markdown2html_mistune(md_text(text))) == text


def test_safe_style_escapes_cells_and_labels_and_keeps_number_formats():
    frame = pd.DataFrame({"team": ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"],
                          "cost [USD]": [1234.5, float("nan")], "<b>col</b>": ["a", "b"]})
    html = safe_style(frame, {"cost [USD]": "{:,.0f}", "not a column": "{:.1f}"}).to_html()
    assert {t for t, _ in _elements(html)} <= {"style", "table", "thead", "tbody", "tr", "th", "td"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;col&lt;/b&gt;" in html
    assert "1,234" in html and ">-<" in html.replace(" ", "")


def test_live_markup_finds_scripts_handlers_and_script_urls():
    page = ('<p>ok</p><img src="data:image/svg+xml;base64,AAAA"><script>x()</script><img src=x onerror=y()>'
            '<a href=" JavaScript:alert(1)">l</a><iframe src="data:text/html,hi"></iframe>')
    found = live_markup(page)
    assert len(found) == 5, found  # the iframe counts twice: the element and its HTML URL
    assert live_markup('<p>ok &lt;script&gt;</p><img src="data:image/svg+xml;base64,AAAA" alt="x">') == []
