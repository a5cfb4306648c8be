"""Changes to a workspace's team: each one saved and recorded in the
activity log in one transaction; emails are sent and sockets closed after the commit.

The team rules, checked here so that no code path skips them:
- owners and admins manage the team; only an owner may make someone an owner or change an owner;
- nobody changes their own role or deactivates themselves;
- a workspace always keeps an active owner.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.accounts import presence
from helpdesk.accounts.models import Membership, User
from helpdesk.lib.tokens import hash_token
from helpdesk.realtime import broadcast, codes, groups
from helpdesk.team.models import Invitation, invitation_expiry
from helpdesk.team.tasks import send_invitation
from helpdesk.workspace import activity
from helpdesk.workspace.models import Workspace

CLOSE_DEACTIVATED = codes.FORBIDDEN


class NotAllowed(Exception):
    """A change the team rules forbid. The message says why, to the person who tried."""


class CannotAccept(Exception):
    """An invitation that cannot be accepted (any more), with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 410):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- invitations


class NewLink(NamedTuple):
    """An invitation that has just been given a link, and the link's token: the inviter sees it
    once (the email carries the same one); it is never stored, nor passed to the worker."""

    invitation: Invitation
    token: str


def _send_on_commit(invitation: Invitation, base_url: str) -> None:
    invitation_id = invitation.pk
    transaction.on_commit(lambda: send_invitation.enqueue(invitation_id, base_url))


def invite(workspace: Workspace, actor: User, email: str, role: str, base_url: str) -> NewLink:
    """Create an invitation with its link, to be emailed by the worker. An expired invitation
    to the same address is replaced."""
    if role not in dict(Invitation.ROLES):
        raise NotAllowed("Invitations are for agents and admins.")
    email = email.lower()
    with transaction.atomic():
        Invitation.objects.open().filter(
            workspace=workspace, email__iexact=email, expires_at__lte=timezone.now()
        ).update(revoked_at=timezone.now())
        invitation = Invitation(workspace=workspace, email=email, role=role, invited_by=actor)
        token = invitation.new_link()
        try:
            with transaction.atomic():
                invitation.save(force_insert=True)
        except IntegrityError:
            raise NotAllowed(f"{email} already has a pending invitation.") from None
        activity.record(workspace, actor, "team.invited", email=email, role=role)
        _send_on_commit(invitation, base_url)
    return NewLink(invitation, token)


def _locked_invitation(invitation: Invitation) -> Invitation:
    return Invitation.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=invitation.pk)


def resend_invitation(invitation: Invitation, actor: User, base_url: str) -> NewLink:
    """A new link, valid for another full lifetime, to be emailed; the old link stops working
    at once."""
    with transaction.atomic():
        invitation = _locked_invitation(invitation)
        if invitation.accepted_at or invitation.revoked_at:
            raise NotAllowed(f"The invitation to {invitation.email} was already accepted or revoked.")
        token = invitation.new_link()
        invitation.sent_at = None
        invitation.expires_at = invitation_expiry()
        invitation.save(update_fields=["token_hash", "token_nonce", "sent_at", "expires_at"])
        activity.record(invitation.workspace, actor, "team.invitation_resent", email=invitation.email)
        _send_on_commit(invitation, base_url)
    return NewLink(invitation, token)


def revoke_invitation(invitation: Invitation, actor: User) -> Invitation:
    with transaction.atomic():
        invitation = _locked_invitation(invitation)
        if invitation.accepted_at:
            raise NotAllowed(f"{invitation.email} has already accepted the invitation.")
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            activity.record(invitation.workspace, actor, "team.invitation_revoked", email=invitation.email)
    return invitation


def find_invitation(raw_token: str) -> Invitation:
    """The invitation a link's token opens, if it can still be accepted."""
    invitation = Invitation.objects.select_related("workspace").filter(token_hash=hash_token(raw_token)).first()
    _check_acceptable(invitation)
    assert invitation is not None  # _check_acceptable refuses None
    return invitation


def _check_acceptable(invitation: Invitation | None) -> None:
    if invitation is None:
        raise CannotAccept(
            "This invitation link is not valid. It may have been replaced by a newer one: check your email.", 404
        )
    if invitation.accepted_at:
        raise CannotAccept("This invitation has already been used. Sign in to open the inbox.")
    if invitation.revoked_at:
        raise CannotAccept("This invitation was withdrawn. Ask your team for a new one if you still need to join.")
    if invitation.is_expired:
        raise CannotAccept("This invitation has expired. Ask your team to send it again.")


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """The user joins the workspace with the invited role; the link works once."""
    with transaction.atomic():
        invitation = _locked_invitation(invitation)
        _check_acceptable(invitation)
        if user.email.lower() != invitation.email.lower():
            raise CannotAccept(f"This invitation is for {invitation.email}.", 403)
        memberships = Membership.objects.filter(user=user)
        if memberships.filter(workspace=invitation.workspace).exists():
            raise CannotAccept(f"You are already a member of {invitation.workspace.name}.", 409)
        if memberships.filter(is_active=True).exists():
            raise CannotAccept(
                "Your account already works in another workspace, and an account can be in only one. "
                "Ask your team to invite another email address.",
                409,
            )
        membership = Membership.objects.create(user=user, workspace=invitation.workspace, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        activity.record(invitation.workspace, user, "team.joined", email=user.email, role=invitation.role)
        presence.publish(invitation.workspace)
    return membership


def accept_invitation_as_new_user(invitation: Invitation, name: str, password: str) -> User:
    """A new account for the invited address, joined to the workspace, at most once: the
    invitation is locked first, so concurrent accepts of one link queue up, and every one after
    the first finds it used."""
    exists = CannotAccept("An account with this email address already exists: sign in to accept.", 409)
    with transaction.atomic():
        invitation = _locked_invitation(invitation)
        _check_acceptable(invitation)
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise exists
        try:
            with transaction.atomic():
                user = User.objects.create_user(invitation.email, password, name=name)
        except IntegrityError:  # made meanwhile another way (another workspace's invitation to it)
            raise exists from None
        accept_invitation(invitation, user)
    return user


# ---------------------------------------------------------------- members


def _locked(actor: Membership, target: Membership) -> tuple[Membership, Membership]:
    """Both memberships re-read and row-locked (in id order, so two changes queue up)."""
    rows = Membership.objects.select_for_update(of=("self",)).select_related("user", "workspace")
    found = {m.pk: m for m in rows.filter(pk__in=[actor.pk, target.pk], workspace_id=actor.workspace_id).order_by("pk")}
    locked_actor, locked_target = found.get(actor.pk), found.get(target.pk)
    if locked_actor is None or locked_target is None or not locked_actor.is_active or not locked_actor.is_admin:
        raise NotAllowed("Only owners and admins manage the team.")
    return locked_actor, locked_target


def _check(actor: Membership, target: Membership, new_role: str | None = None) -> None:
    if actor.pk == target.pk:
        raise NotAllowed("You can't change your own role or deactivate yourself: ask another owner.")
    if actor.role != Membership.Role.OWNER and Membership.Role.OWNER in (target.role, new_role):
        raise NotAllowed("Only an owner can make someone an owner or change an owner.")


def _check_keeps_an_owner(target: Membership) -> None:
    if target.role != Membership.Role.OWNER or not target.is_active:
        return
    others = Membership.objects.filter(workspace_id=target.workspace_id, role=Membership.Role.OWNER, is_active=True)
    if not others.exclude(pk=target.pk).exists():
        raise NotAllowed(f"{target.user.email} is the last owner: make someone else an owner first.")


def set_role(actor: Membership, target: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise NotAllowed("Unknown role.")
    with transaction.atomic():
        actor, target = _locked(actor, target)
        _check(actor, target, role)
        if target.role == role:
            return target
        if role != Membership.Role.OWNER:
            _check_keeps_an_owner(target)
        previous, target.role = target.role, role
        target.save(update_fields=["role"])
        activity.record(
            target.workspace, actor.user, "team.role_changed", member=target.user.email, role=role, previous=previous
        )
        # Their inbox sockets reconnect, to be authorized with the new role.
        broadcast.close_group(groups.agent(target.user_id), code=codes.REAUTHORIZE)
    return target


def deactivate(actor: Membership, target: Membership) -> Membership:
    """The member loses access at once: the next request is refused and their inbox sockets close."""
    with transaction.atomic():
        actor, target = _locked(actor, target)
        _check(actor, target)
        if not target.is_active:
            return target
        _check_keeps_an_owner(target)
        target.is_active = False
        target.save(update_fields=["is_active"])
        activity.record(target.workspace, actor.user, "team.deactivated", member=target.user.email)
        broadcast.close_group(groups.agent(target.user_id), code=CLOSE_DEACTIVATED)
        presence.publish(target.workspace)
    return target


def reactivate(actor: Membership, target: Membership) -> Membership:
    with transaction.atomic():
        actor, target = _locked(actor, target)
        _check(actor, target)
        if target.is_active:
            return target
        if Membership.objects.filter(user_id=target.user_id, is_active=True).exists():
            raise NotAllowed(f"{target.user.email} now works in another workspace.")
        target.is_active = True
        target.save(update_fields=["is_active"])
        activity.record(target.workspace, actor.user, "team.reactivated", member=target.user.email)
        presence.publish(target.workspace)
    return target
