"""Messages as HTML: Markdown from agents and the AI, text with links from customers, both
through the one sanitizer; and the cache that renders each message once."""

from __future__ import annotations

import pytest

from helpdesk.lib import markdown
from helpdesk.lib.markdown import linkify, render_markdown, render_message

REL = 'target="_blank" rel="noopener noreferrer nofollow"'


def test_an_answer_quoting_an_article_is_rendered_not_shown_raw():
    html = render_message(
        "ai", "**Reset it** in Settings:\n- open Account\n- click Reset\n\n[Learn more](https://example.com/reset)"
    )
    assert "<strong>Reset it</strong>" in html
    assert "<ul>\n<li>open Account</li>\n<li>click Reset</li>\n</ul>" in html
    assert f'<a href="https://example.com/reset" {REL}>Learn more</a>' in html
    assert "**" not in html and "](" not in html


def test_an_agents_lines_stay_lines_and_bare_addresses_become_links():
    html = render_message("agent", "Hi Ada,\nsee https://example.com/help_centre/a_(b).")
    assert "Hi Ada,<br" in html
    assert f'<a href="https://example.com/help_centre/a_(b)" {REL}>https://example.com/help_centre/a_(b)</a>.' in html


def test_an_address_inside_a_link_or_code_is_not_linked_again():
    html = render_message("ai", "[https://a.example](https://b.example) and `https://c.example`")
    assert html.count("<a ") == 1 and "<code>https://c.example</code>" in html


@pytest.mark.parametrize("kind", ["ai", "agent"])
@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:alert(1)'>x</a>",
        '<div onclick="alert(1)">x</div>',
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
    ],
)
def test_html_inside_markdown_from_an_agent_or_the_ai_is_shown_as_text(kind, attack):
    html = render_message(kind, f"Look: {attack}")
    assert "<" + attack[1:] not in html
    for tag in ("<script", "<img", "<iframe", "<style", "<div", '<a href="javascript'):
        assert tag not in html
    assert "&lt;" in html  # shown, as typed


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
    ],
)
def test_a_dangerous_link_in_markdown_loses_its_address(link):
    html = render_message("ai", link)
    assert "href" not in html  # a link without an address, or text


def test_images_are_not_shown_from_anywhere():
    html = render_message("ai", "![tracker](https://evil.example/pixel.png) ![x](data:image/png;base64,AAAA)")
    assert "<img" not in html and "evil.example" not in html and "data:" not in html


def test_a_customers_message_is_text_with_its_web_addresses_as_links():
    html = render_message("customer", "**not bold** <b>nor this</b>\nmy order: https://shop.example/o?id=1&x=2, thanks")
    assert html.startswith("**not bold** &lt;b&gt;nor this&lt;/b&gt;\nmy order: ")
    assert (
        f'<a href="https://shop.example/o?id=1&amp;x=2" {REL}>https://shop.example/o?id=1&amp;x=2</a>, thanks' in html
    )


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "click javascript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        'https://x.example/"onmouseover="alert(1)',
        "https://x.example/<script>alert(1)</script>",
        "ftp://files.example/x",
    ],
)
def test_a_customers_hostile_address_is_never_a_live_link(text):
    html = linkify(text)
    assert "<script" not in html and 'href="javascript' not in html and 'href="data' not in html
    assert 'href="ftp' not in html
    assert '"onmouseover' not in html  # the quote ends the address and is escaped
    for href in html.split('href="')[1:]:
        assert href.startswith("https://")


def test_articles_go_through_the_same_rules():
    html = render_markdown("[Returns](https://shop.example/returns) <script>x</script> ![i](https://e.example/i.png)")
    assert f'<a href="https://shop.example/returns" {REL}>Returns</a>' in html
    assert "<script" not in html and "<img" not in html


def test_a_message_is_rendered_once_however_often_it_is_shown(monkeypatch):
    calls = []
    convert = markdown._convert
    monkeypatch.setattr(markdown, "_convert", lambda text, chat: calls.append(text) or convert(text, chat=chat))
    markdown._cached.cache_clear()
    first = render_message("agent", "**once** only")
    assert [render_message("agent", "**once** only") for _ in range(5)] == [first] * 5
    assert calls == ["**once** only"]
    # a long message is not kept, but renders the same
    long = "word " * 1000
    assert render_message("agent", long) == render_message("agent", long)
    assert calls.count(long) == 2
