"""Mail in through an email provider's inbound webhook (django-anymail parses each provider's
format and checks its signature): Mailgun (a route that forwards the raw MIME to
`/mail/inbound/mailgun/`) and Postmark (`/mail/inbound/postmark/`, with "include raw email").

Off until INBOUND_WEBHOOK_SECRET is set: anymail then also requires HTTP basic auth with it
(`https://user:password@your.host/mail/inbound/mailgun/`), and Mailgun's signature with
MAILGUN_WEBHOOK_SIGNING_KEY. Each mail goes through helpdesk.mail.incoming like one the
receiving SMTP server took.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from anymail.signals import AnymailInboundEvent, inbound
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from helpdesk.lib.bodylimit import accepts_mail
from helpdesk.mail import incoming
from helpdesk.mail.models import InboundEmail

logger = logging.getLogger(__name__)


def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    message = event.message
    if message is None:
        return
    raw = message.as_bytes()
    recipients = [message.envelope_recipient] if message.envelope_recipient else []
    try:
        incoming.receive(
            raw,
            source=InboundEmail.Source.WEBHOOK,
            envelope_from=message.envelope_sender or "",
            recipients=recipients,
        )
    except incoming.TooLarge:
        incoming.keep_refused(raw, InboundEmail.Source.WEBHOOK, recipients)


def register() -> None:
    inbound.connect(on_inbound, dispatch_uid="helpdesk.mail.webhooks")


def _when_configured(view: Callable) -> Callable:
    """The provider's view, or 404 while INBOUND_WEBHOOK_SECRET is not set."""

    @csrf_exempt
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.INBOUND_WEBHOOK_SECRET:
            raise Http404("Inbound webhooks are off")
        return view(request, *args, **kwargs)

    return accepts_mail(guarded)


app_name = "mail_webhooks"
urlpatterns = [
    path("mail/inbound/mailgun/", _when_configured(MailgunInboundWebhookView.as_view()), name="mailgun"),
    path("mail/inbound/postmark/", _when_configured(PostmarkInboundWebhookView.as_view()), name="postmark"),
]
