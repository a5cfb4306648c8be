"""Toasts: Django's messages ("Saved.", "“Returns” is deleted.") shown in one region fixed to a
corner of the window, `#toasts` in templates/base.html, so that they are seen however far down
the page the person has scrolled.

One mechanism for every page, two deliveries of the same `templates/toasts.html` partials:
- a whole page renders the messages waiting for it into the region (`{% toasts %}`, this
  module's template tag);
- the answer to an htmx write (a settings form, a list's button) gets them appended as an
  out-of-band swap into that region (`ToastMiddleware`), so no view or form partial has to
  render them itself.

static/js/ui.js makes them dismissible (a button, or Esc) and lets successes fade after a while;
errors stay until dismissed.
"""

from __future__ import annotations

from collections.abc import Callable

from django import template
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

register = template.Library()

# htmx follows these headers instead of swapping the answer: the messages wait for the next page.
NAVIGATES = ("HX-Redirect", "HX-Location", "HX-Refresh")


@register.inclusion_tag("toasts.html#region", takes_context=True)
def toasts(context: template.Context) -> dict:
    """The region, with the messages waiting for this page (which are then used up)."""
    request = context.get("request")
    return {"toasts": list(messages.get_messages(request)) if request is not None else []}


def _swapped_by_htmx(request: HttpRequest, response: HttpResponse) -> bool:
    """Is this the answer to an htmx write that htmx will swap into the page (see the
    responseHandling in templates/base.html: 2xx except 204, and 422)? Reads (GET) are left
    alone: a list polling for its rows must not take the message meant for the page that a
    redirect is about to open."""
    return (
        bool(getattr(request, "htmx", False))
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and not response.streaming
        and ((200 <= response.status_code < 300 and response.status_code != 204) or response.status_code == 422)
        and response.get("Content-Type", "").startswith("text/html")
        and not any(response.has_header(h) for h in NAVIGATES)
    )


class ToastMiddleware:
    """Appends the request's messages to an htmx answer, as an out-of-band swap into `#toasts`.
    Must come after MessageMiddleware (whose response half then keeps only what was not shown)
    and after django-htmx's HtmxMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _swapped_by_htmx(request, response):
            return response
        waiting = messages.get_messages(request)
        if not len(waiting):
            return response
        html = render_to_string("toasts.html#oob", {"toasts": list(waiting)})
        response.content = response.content + html.encode(response.charset)
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
