"""Markdown and plain text to safe HTML, for articles and for messages.

Articles and what agents and the AI write are Markdown: rendered with Python-Markdown, then
sanitized with nh3 (one set of rules: the tags below, links with `rel="noopener noreferrer
nofollow" target="_blank"`, no images, no `javascript:` or `data:` URLs). In a message, HTML
typed into the Markdown is shown as text, as the customer's is, and bare web addresses become
links. What customers and the system write is plain text: escaped, its http(s) addresses made
links with the same attributes.

A message is rendered each time it is shown (the page, the HTMX answer, each push and replay),
so `render_message` keeps the HTML of recent messages in a small in-process cache: the HTML is
a pure function of the kind and the text, so the cache can never disagree with the database.

The template filters (`{% load markup %}`):

    {{ message|message_html }}   a message's body, by who wrote it
    {{ text|markdown_html }}     Markdown (the AI's answer while it streams)
"""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as etree
from functools import lru_cache

import markdown as _markdown
import nh3
from django import template
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import AtomicString

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
LINK_REL = "noopener noreferrer nofollow"
URL_SCHEMES = {"http", "https", "mailto"}
# Kinds of author whose messages are Markdown; the others' are plain text.
MARKDOWN_AUTHORS = frozenset({"ai", "agent"})
# Longer texts are rendered every time rather than kept: the cache stays small (1,024 entries
# of at most this many characters, about 10 MB at worst).
CACHE_MAX_CHARS = 4000

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes={"a": {"href", "title"}},
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=URL_SCHEMES,
)

# An http(s) address in running text: up to a space, a quote or an angle bracket (and, in
# Markdown, the placeholders Python-Markdown puts in place of what it has already parsed).
URL = r"https?://[^\s<>\"'`\x02\x03]+"
_url = re.compile(URL, re.IGNORECASE)
TRAILING = ".,;:!?"


def _trim(url: str) -> str:
    """The address without the punctuation that ends its sentence, nor a closing bracket that
    opened before it ("(see https://example.com/x)")."""
    while url and (url[-1] in TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


class _BareUrl(InlineProcessor):
    """https://example.com in Markdown text becomes a link (never inside another link)."""

    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # type: ignore[override]
        url = _trim(m.group(0))
        element = etree.Element("a", {"href": url})
        element.text = AtomicString(url)
        return element, m.start(0), m.start(0) + len(url)


LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|1[.)])\s+\S")
CONTINUED = re.compile(r"^ {0,3}(?:[-*+]|\d+[.)])\s|^\s")


class _ListsInterrupt(Preprocessor):
    """A list may start right under a line of text ("Here is how:\n- one\n- two"), as in
    CommonMark and as models write it; Python-Markdown wants a blank line first."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            if out and out[-1].strip() and LIST_ITEM.match(line) and not CONTINUED.match(out[-1]):
                out.append("")
            out.append(line)
        return out


class _ChatMarkdown(Extension):
    """Markdown as people write it in a chat: a new line is a line break, a list needs no blank
    line before it, HTML is text, and a bare address is a link."""

    def extendMarkdown(self, md: _markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.preprocessors.register(_ListsInterrupt(md), "lists_interrupt", 20)  # after fenced code
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.register(_BareUrl(URL, md), "bare_url", 115)


_local = threading.local()


def _converter(chat: bool) -> _markdown.Markdown:
    """One Markdown instance per thread and flavour: building one costs more than converting a
    short text, and an instance is not safe to share between threads."""
    name = "chat" if chat else "article"
    md = getattr(_local, name, None)
    if md is None:
        extensions: list = ["fenced_code", "tables"]
        if chat:
            extensions += ["nl2br", _ChatMarkdown()]
        md = _markdown.Markdown(extensions=extensions)
        setattr(_local, name, md)
    return md


def _convert(text: str, *, chat: bool) -> str:
    md = _converter(chat)
    try:
        return _cleaner.clean(md.convert(text or ""))
    finally:
        md.reset()


def render_markdown(text: str) -> str:
    """An article (or any Markdown whose HTML the sanitizer may keep) as safe HTML."""
    return _convert(text, chat=False)


def linkify(text: str) -> str:
    """Plain text as HTML: escaped, with its http(s) addresses as links."""
    out: list[str] = []
    last = 0
    for m in _url.finditer(text or ""):
        url = _trim(m.group(0))
        if len(url) <= len("https://"):
            continue
        end = m.start() + len(url)
        out.append(escape(text[last : m.start()]))
        href = escape(url)
        out.append(f'<a href="{href}" target="_blank" rel="{LINK_REL}">{href}</a>')
        last = end
    out.append(escape((text or "")[last:]))
    return "".join(out)


@lru_cache(maxsize=1024)
def _cached(markdown: bool, body: str) -> str:
    return _convert(body, chat=True) if markdown else linkify(body)


def render_message(author_kind: str, body: str) -> str:
    """A message's body as safe HTML: Markdown from agents and the AI, text from the others."""
    markdown = author_kind in MARKDOWN_AUTHORS
    if len(body) > CACHE_MAX_CHARS:
        return _convert(body, chat=True) if markdown else linkify(body)
    return _cached(markdown, body)


def plain_text(author_kind: str, body: str) -> str:
    """What a reader sees of the message, without its markup (for one-line previews)."""
    if author_kind not in MARKDOWN_AUTHORS:
        return body
    return html.unescape(strip_tags(render_message(author_kind, body)))


register = template.Library()


@register.filter(is_safe=True)
def message_html(message) -> SafeString:
    return mark_safe(render_message(message.author_kind, message.body))


@register.filter(is_safe=True)
def markdown_html(text: str) -> SafeString:
    return mark_safe(render_message("ai", text or ""))
