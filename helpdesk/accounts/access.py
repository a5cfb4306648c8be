"""Who may see what. Every agent view starts with one of these."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from helpdesk.accounts.models import Membership, User


class AuthenticatedHttpRequest(HttpRequest):
    """The request type of an agent view: behind login_required, so its user is signed in (a
    User, never an AnonymousUser), and behind django-htmx's middleware, which sets `htmx`."""

    user: User
    htmx: HtmxDetails


def membership_for_user(user) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Membership.objects.select_related("workspace").filter(user=user, is_active=True).order_by("id").first()


def agent(request: HttpRequest) -> Membership:
    """The active membership of the signed-in agent; 404 for anyone else.

    Views are also wrapped in login_required, so anonymous users are redirected to sign in.
    """
    membership = membership_for_user(request.user)
    if membership is None:
        raise Http404("No workspace")
    return membership


def admin(request: HttpRequest) -> Membership:
    membership = agent(request)
    if not membership.is_admin:
        raise PermissionDenied("Only owners and admins can do this")
    return membership
