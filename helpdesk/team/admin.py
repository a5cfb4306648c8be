from django.contrib import admin

from helpdesk.team.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are made and revoked from the Team page; operators can read them here."""

    list_display = ["email", "workspace", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name"]
    raw_id_fields = ["workspace", "invited_by", "accepted_by"]
    readonly_fields = ["created_at", "sent_at", "accepted_at", "accepted_by", "invited_by"]

    def has_add_permission(self, request) -> bool:
        return False  # an invitation needs its emailed token: use the Team page
