"""Email in the operators' admin: addresses, threads, and every mail in and out. Mail is a
record (read-only): the inbound list is where operators find what could not be placed."""

from django.contrib import admin

from helpdesk.mail.models import EmailThread, InboundEmail, Mailbox, MailSettings, OutboundEmail


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MailSettings)
class MailSettingsAdmin(admin.ModelAdmin):
    list_display = ["slug", "workspace"]
    search_fields = ["slug", "workspace__name"]
    raw_id_fields = ["workspace"]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """The password is never shown (nor its encrypted form); it is set in Settings → Email."""

    list_display = ["workspace", "username", "host", "enabled", "last_checked_at", "last_error"]
    list_filter = ["enabled", "security"]
    search_fields = ["workspace__name", "username", "host", "email_address"]
    raw_id_fields = ["workspace"]
    exclude = ["password_encrypted"]
    readonly_fields = ["uid_validity", "last_uid", "last_checked_at", "last_error", "updated_at"]


@admin.register(EmailThread)
class EmailThreadAdmin(_ReadOnly):
    list_display = ["conversation", "subject", "emailed_up_to", "created_at"]
    search_fields = ["subject", "token"]
    raw_id_fields = ["conversation"]


@admin.register(InboundEmail)
class InboundEmailAdmin(_ReadOnly):
    list_display = ["received_at", "status", "from_address", "subject", "workspace", "source", "reason"]
    list_filter = ["status", "source", "workspace"]
    search_fields = ["from_address", "subject", "message_id_header", "recipients"]
    raw_id_fields = ["workspace", "conversation", "message"]
    exclude = ["raw"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(_ReadOnly):
    list_display = ["created_at", "to", "subject", "kind", "sent_at", "attempts", "error"]
    list_filter = ["kind", "workspace"]
    search_fields = ["to", "subject", "message_id"]
    raw_id_fields = ["workspace", "conversation"]
