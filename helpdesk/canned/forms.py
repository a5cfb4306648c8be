from __future__ import annotations

import re

from django import forms

from helpdesk.canned.models import CannedResponse
from helpdesk.workspace.models import Workspace

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]*")


class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["shortcut", "text"]
        widgets = {
            "shortcut": forms.TextInput(attrs={"placeholder": "refund", "autocomplete": "off"}),
            "text": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "shortcut": "Letters, digits, - and _; no spaces. Type /shortcut in the reply box to insert the text."
        }

    def __init__(self, workspace: Workspace, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.workspace = workspace

    def clean_shortcut(self) -> str:
        shortcut = self.cleaned_data["shortcut"].strip().removeprefix("/").lower()
        if not SHORTCUT.fullmatch(shortcut):
            raise forms.ValidationError(
                "Use letters, digits, - and _ only, starting with a letter or digit, no spaces."
            )
        taken = CannedResponse.objects.filter(workspace=self.instance.workspace, shortcut__iexact=shortcut)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"There is already a canned response /{shortcut}.")
        return shortcut
