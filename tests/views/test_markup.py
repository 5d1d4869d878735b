"""join_html, the fast format_html_join of the long lists: the same markup."""

from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from backup_console.lists import join_html

ROWS = [
    ("/clusters/1/", "<script>alert(1)</script>", 3, 1.5),
    ("/clusters/2/?a=1&b=2", 'tenant "x" & \'y\'', None, datetime(2026, 12, 1, 8, 5)),
    ("/c/3/", format_html("<b>{}</b>", "safe & sound"), gettext_lazy("Full"), SafeString("<i>kept</i>")),
]
TEMPLATE = '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>'


def test_join_html_writes_what_format_html_join_writes():
    assert join_html("", TEMPLATE, ROWS) == format_html_join("", TEMPLATE, ROWS)
    assert join_html(" → ", "<a>{}</a>", [("<x>",), (1,)]) == format_html_join(" → ", "<a>{}</a>", [("<x>",), (1,)])


def test_join_html_escapes_text_and_keeps_markup():
    out = join_html("", TEMPLATE, ROWS)
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert "&amp;b=2" in out and "&quot;x&quot; &amp; &#x27;y&#x27;" in out
    assert "<b>safe &amp; sound</b>" in out and "<i>kept</i>" in out
    assert hasattr(out, "__html__")
