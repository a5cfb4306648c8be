"""Team settings (members, invitations): owners and admins only, agents get 403.
Accepting an invitation is the one page here open to anonymous visitors: the token is the key.

Inviting (and resending) shows the inviter the invitation's link once, in that answer only,
with a copy button, for a teammate who cannot find the email (or a server with no email set
up); it is the same link as the email's. Later pages never show it: a lost link is replaced
with Resend, which stops the old one. So the link is seen only by the admin who made it, at the
moment they made it, and never kept anywhere (see Invitation), like the identity secret."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.accounts import access
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.accounts.models import Membership, User
from helpdesk.team import actions
from helpdesk.team.forms import AcceptForm, InviteForm
from helpdesk.team.models import Invitation, invitation_url

ROLE_ORDER: dict[str, int] = {Membership.Role.OWNER: 0, Membership.Role.ADMIN: 1, Membership.Role.AGENT: 2}


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


# ---------------------------------------------------------------- members and invitations


def _team_context(membership: Membership, form: InviteForm | None, error: str, new_link: dict | None) -> dict:
    """Every member with what the signed-in person may do to them; the open invitations."""
    is_owner = membership.role == Membership.Role.OWNER
    role_choices = (
        Membership.Role.choices if is_owner else [c for c in Membership.Role.choices if c[0] != Membership.Role.OWNER]
    )
    members = sorted(
        membership.workspace.memberships.select_related("user"),
        key=lambda m: (not m.is_active, ROLE_ORDER.get(m.role, 9), m.user.email),
    )
    rows = [
        {
            "m": m,
            "is_me": m.pk == membership.pk,
            "manageable": m.pk != membership.pk and (is_owner or m.role != Membership.Role.OWNER),
        }
        for m in members
    ]
    invitations = Invitation.objects.open().filter(workspace=membership.workspace).select_related("invited_by")
    return {
        "membership": membership,
        "section": "team",
        "form": form or InviteForm(membership.workspace),
        "rows": rows,
        "role_choices": role_choices,
        "invitations": invitations,
        "error": error,
        "new_link": new_link,
    }


def _team(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    form: InviteForm | None = None,
    error: str = "",
    status: int = 200,
    new_link: actions.NewLink | None = None,
) -> HttpResponse:
    template = "team/members.html" + ("#team" if request.htmx else "")
    shown = None
    if new_link is not None:
        shown = {"invitation_id": new_link.invitation.pk, "url": invitation_url(_base_url(request), new_link.token)}
    response = render(request, template, _team_context(membership, form, error, shown), status=status)
    if shown is not None:
        add_never_cache_headers(response)  # the link opens the invitation: no cache keeps it
    return response


def _member(membership: Membership, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, workspace=membership.workspace)


def _invitation(membership: Membership, pk: int) -> Invitation:
    return get_object_or_404(Invitation, pk=pk, workspace=membership.workspace)


@login_required
@require_GET
def members(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    return _team(request, membership)


@login_required
@require_POST
def invite(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    form = InviteForm(membership.workspace, request.POST)
    if form.is_valid():
        try:
            new_link = actions.invite(
                membership.workspace,
                request.user,
                form.cleaned_data["email"],
                form.cleaned_data["role"],
                _base_url(request),
            )
        except actions.NotAllowed as e:
            form.add_error("email", str(e))
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}. The link works for 7 days.")
            return _team(request, membership, new_link=new_link)
    return _team(request, membership, form, status=422)


@login_required
@require_POST
def resend_invitation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    invitation = _invitation(membership, pk)
    try:
        new_link = actions.resend_invitation(invitation, request.user, _base_url(request))
    except actions.NotAllowed as e:
        return _team(request, membership, error=str(e), status=422)
    messages.success(request, f"A new link is on its way to {invitation.email}; the previous one no longer works.")
    return _team(request, membership, new_link=new_link)


@login_required
@require_POST
def revoke_invitation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    invitation = _invitation(membership, pk)
    try:
        actions.revoke_invitation(invitation, request.user)
    except actions.NotAllowed as e:
        return _team(request, membership, error=str(e), status=422)
    messages.success(request, f"The invitation to {invitation.email} is withdrawn.")
    return _team(request, membership)


@login_required
@require_POST
def set_role(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    target = _member(membership, pk)
    try:
        target = actions.set_role(membership, target, request.POST.get("role", ""))
    except actions.NotAllowed as e:
        return _team(request, membership, error=str(e), status=422)
    messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return _team(request, membership)


@login_required
@require_POST
def deactivate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    target = _member(membership, pk)
    try:
        actions.deactivate(membership, target)
    except actions.NotAllowed as e:
        return _team(request, membership, error=str(e), status=422)
    messages.success(request, f"{target.user.email} is deactivated and can no longer open the inbox.")
    return _team(request, membership)


@login_required
@require_POST
def reactivate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    target = _member(membership, pk)
    try:
        actions.reactivate(membership, target)
    except actions.NotAllowed as e:
        return _team(request, membership, error=str(e), status=422)
    messages.success(request, f"{target.user.email} is active again.")
    return _team(request, membership)


# ---------------------------------------------------------------- accepting an invitation


@require_http_methods(["GET", "POST"])
def accept_invite(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone with the link: a new person chooses a name and password; someone who already has
    an account signs in first, then joins. Either way they land in the inbox."""
    try:
        invitation = actions.find_invitation(token)
        existing = User.objects.filter(email__iexact=invitation.email).first()
        if existing is not None:
            # The account may be the one that another accept of this same link has just made:
            # read the invitation again after the account (the two are committed together).
            invitation = actions.find_invitation(token)
    except actions.CannotAccept as e:
        return _cannot_accept(request, e)
    context = {"invitation": invitation, "workspace": invitation.workspace}
    signed_in = request.user if request.user.is_authenticated else None

    if signed_in is not None and signed_in != existing:
        return render(request, "team/accept.html", {**context, "mode": "other_user"})
    if existing is not None and signed_in is None:
        return render(request, "team/accept.html", {**context, "mode": "sign_in"})
    if existing is not None:
        if request.method == "POST":
            try:
                actions.accept_invitation(invitation, existing)
            except actions.CannotAccept as e:
                return _cannot_accept(request, e)
            return redirect("inbox:index")
        return render(request, "team/accept.html", {**context, "mode": "join"})

    form = AcceptForm(invitation, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.accept_invitation_as_new_user(
                invitation, form.cleaned_data["name"], form.cleaned_data["password"]
            )
        except actions.CannotAccept as e:
            return _cannot_accept(request, e)
        login(request, user)
        return redirect("inbox:index")
    return render(
        request, "team/accept.html", {**context, "mode": "new", "form": form}, status=422 if form.is_bound else 200
    )


def _cannot_accept(request: HttpRequest, error: actions.CannotAccept) -> HttpResponse:
    return render(request, "team/invite_problem.html", {"message": str(error)}, status=error.status)
