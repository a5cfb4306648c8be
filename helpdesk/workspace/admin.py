from django.contrib import admin

from helpdesk.accounts.models import Membership
from helpdesk.workspace.models import Activity, Workspace


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """The activity log is evidence: operators can read and search it, nobody edits it."""

    list_display = ["created_at", "workspace", "actor", "action"]
    list_filter = ["action"]
    search_fields = ["action", "actor__email", "workspace__name"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "public_token", "widget_enabled", "business_hours_enabled", "created_at"]
    list_filter = ["widget_enabled", "business_hours_enabled"]
    search_fields = ["name", "public_token"]
    readonly_fields = ["public_token", "created_at"]
    exclude = ["identity_secret"]  # shown once, in the settings page, when regenerated
    inlines = [MembershipInline]
