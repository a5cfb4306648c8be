from django.contrib import admin

from helpdesk.canned.models import CannedResponse


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "workspace", "updated_at"]
    search_fields = ["shortcut", "text", "workspace__name"]
    list_filter = ["workspace"]
    raw_id_fields = ["workspace", "created_by"]
    readonly_fields = ["created_at", "updated_at"]
