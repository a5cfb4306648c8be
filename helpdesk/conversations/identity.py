"""Who a browser speaks for: visitor tokens, and the contacts they are linked to, anonymous or
verified by the host page's HMAC (`identity_hash`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from helpdesk.conversations import events
from helpdesk.conversations.models import Contact, Conversation, Visitor
from helpdesk.lib.tokens import hash_token
from helpdesk.realtime import broadcast, codes, groups
from helpdesk.workspace.models import Workspace


class IdentityRefused(Exception):
    """The host page's identity hash does not match."""


def start_visitor(workspace: Workspace, *, page_url: str = "") -> tuple[Visitor, str]:
    """A new anonymous visitor and contact. Returns the visitor and its raw token (shown once)."""
    raw = "vt_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        contact = Contact.objects.create(workspace=workspace, last_page_url=page_url, last_seen_at=timezone.now())
        visitor = Visitor.objects.create(workspace=workspace, contact=contact, token_hash=hash_token(raw))
    return visitor, raw


def start_visitor_for_contact(contact: Contact) -> tuple[Visitor, str]:
    """A new browser of an existing contact (a resume link opened on another device)."""
    raw = "vt_" + secrets.token_urlsafe(32)
    visitor = Visitor.objects.create(workspace_id=contact.workspace_id, contact=contact, token_hash=hash_token(raw))
    return visitor, raw


def visitor_for_token(workspace: Workspace, raw: str | None) -> Visitor | None:
    if not raw or len(raw) > 100:
        return None
    return (
        Visitor.objects.select_related("contact")
        .annotate(
            has_conversation=Exists(
                Conversation.objects.filter(contact_id=OuterRef("contact_id"), channel=Conversation.Channel.WIDGET)
            )
        )
        .filter(workspace=workspace, token_hash=hash_token(raw))
        .first()
    )


def identity_hash(workspace: Workspace, external_id: str) -> str:
    return hmac.new(workspace.identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def identify(
    visitor: Visitor,
    *,
    name: str = "",
    email: str = "",
    external_id: str = "",
    user_hash: str = "",
    traits: dict | None = None,
) -> Contact:
    """Attach what the host page knows about the visitor.

    With an external id and a matching HMAC the browser is linked to that verified contact.
    An anonymous contact's conversations move along (the visitor was that person all along);
    a verified contact's never do: on a shared computer, Alice identifies, then Bob does, and
    the browser is relinked to Bob and starts clean, while Alice's conversations stay hers.
    The browser's open sockets are closed whenever it is relinked, so none keeps listening to
    the previous contact. A wrong hash raises IdentityRefused and changes nothing.
    """
    workspace = visitor.workspace
    if user_hash or external_id:
        if not (external_id and user_hash) or not hmac.compare_digest(identity_hash(workspace, external_id), user_hash):
            raise IdentityRefused("identity verification failed")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=visitor.contact_id)
        if external_id:
            verified, _ = Contact.objects.get_or_create(workspace=workspace, external_id=external_id, verified=True)
            if verified.pk != contact.pk:
                if not contact.verified:
                    Conversation.objects.filter(contact=contact).update(contact=verified)
                _relink(visitor, verified)
                contact = verified
        # What an unsigned call says never overwrites what the host page's server vouched for.
        trusted = not contact.verified or bool(external_id)
        if name and trusted:
            contact.name = name[:200]
        if email and trusted:
            contact.email = email[:254]
            contact.email_verified = bool(external_id)
        if traits:
            contact.traits = {**contact.traits, **traits}
        contact.save()
        if email and trusted:
            events.contact_changed(contact)
    return contact


class AddressRefused(Exception):
    """The contact's address was vouched for by the host page's server: the widget cannot change it."""


def give_email(visitor: Visitor, email: str) -> Contact:
    """The address a visitor typed into the widget, to be answered at when they have left.
    Kept unverified; an address the host page's server vouched for is never replaced by a
    typed one (AddressRefused), though typing the same one again is fine."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=visitor.contact_id)
        if contact.email_verified:
            if contact.email.lower() != email.lower():
                raise AddressRefused("the contact's address is verified")
            return contact
        contact.email = email[:254]
        contact.save(update_fields=["email"])
        events.contact_changed(contact)
    return contact


def _relink(visitor: Visitor, contact: Contact) -> None:
    visitor.contact = contact
    visitor.save(update_fields=["contact"])
    broadcast.close_group(groups.visitor(visitor.pk), code=codes.VISITOR_CHANGED)


def forget_visitor(visitor: Visitor) -> None:
    """The host page's user logged out (`Helpdesk("reset")`): this browser's token stops
    working at once and its sockets close. The contact and its conversations stay."""
    with transaction.atomic():
        Visitor.objects.filter(pk=visitor.pk).delete()
        broadcast.close_group(groups.visitor(visitor.pk), code=codes.VISITOR_CHANGED)
