from django.contrib import admin

from helpdesk.workspace.models import Activity


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
