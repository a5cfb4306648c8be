from __future__ import annotations

from django import forms

from helpdesk.lib import outbound
from helpdesk.mail.models import RESERVED, Mailbox, MailSettings


class AddressForm(forms.ModelForm):
    class Meta:
        model = MailSettings
        fields = ["slug"]
        labels = {"slug": "Address"}
        help_texts = {"slug": "Letters, digits and hyphens. The old address stops working when you change it."}

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED:
            raise forms.ValidationError("That address belongs to the mail system. Choose another.")
        if MailSettings.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("That address is taken. Choose another.")
        return slug


class MailboxForm(forms.ModelForm):
    """A workspace's own mailbox. The password is write-only: blank keeps the saved one."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="An app password (Gmail, Outlook: made in the account's security settings). Stored encrypted; "
        "leave blank to keep the saved one.",
    )

    class Meta:
        model = Mailbox
        fields = ["enabled", "email_address", "host", "port", "security", "username", "folder"]
        labels = {"enabled": "Fetch mail from this mailbox", "email_address": "Address", "host": "IMAP server"}

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        host, port = cleaned.get("host"), cleaned.get("port")
        if host and port:
            try:
                outbound.check_host(host, port)
            except outbound.Refused as exc:
                self.add_error("host", str(exc))
            except (outbound.Unresolvable, ValueError):
                pass  # not resolvable now: Test connection says so, and every connection is checked anyway
        if not self.cleaned_data.get("password") and not (self.instance.pk and self.instance.password_encrypted):
            self.add_error("password", "Enter the mailbox's password.")
        return cleaned

    def apply_password(self, mailbox: Mailbox) -> None:
        if self.cleaned_data.get("password"):
            mailbox.password = self.cleaned_data["password"]
