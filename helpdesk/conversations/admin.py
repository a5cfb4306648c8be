from django.contrib import admin

from helpdesk.conversations.models import Contact, Conversation, Message, Visitor


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "workspace", "verified", "created_at"]
    list_filter = ["verified"]
    search_fields = ["name", "email", "external_id"]
    raw_id_fields = ["workspace"]


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["pk", "contact", "workspace", "created_at"]
    readonly_fields = ["token_hash", "created_at"]
    raw_id_fields = ["workspace", "contact"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["pk", "contact", "workspace", "status", "priority", "assignee", "last_message_at"]
    list_filter = ["status", "priority", "channel", "ai_resolved"]
    search_fields = ["contact__name", "contact__email"]
    raw_id_fields = ["workspace", "contact", "assignee"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "conversation", "author_kind", "private", "created_at"]
    list_filter = ["author_kind", "private"]
    search_fields = ["body"]
    raw_id_fields = ["workspace", "conversation", "author"]

    def get_readonly_fields(self, request, obj=None):
        # Messages are immutable once written.
        if obj is not None:
            return [f.name for f in self.model._meta.fields]
        return []
