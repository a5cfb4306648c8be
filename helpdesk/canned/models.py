"""Canned responses: saved replies an agent inserts by typing /shortcut in the reply box."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from helpdesk.workspace.models import Workspace


class CannedResponse(models.Model):
    """A saved reply an agent inserts by typing /shortcut in the reply box."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="canned_responses")
    shortcut = models.CharField(max_length=40, help_text="Type /shortcut in the reply box to insert the text.")
    text = models.TextField(max_length=5000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut"]
        db_table = "team_cannedresponse"  # made in the team app, whose table it keeps
        constraints = [
            models.UniqueConstraint(
                "workspace",
                Lower("shortcut"),
                name="canned_unique_shortcut",
                violation_error_message="There is already a canned response with this shortcut.",
            )
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"
