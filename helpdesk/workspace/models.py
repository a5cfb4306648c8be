from django.conf import settings
from django.db import models
from django.utils import timezone

from helpdesk.accounts.models import Workspace


class Activity(models.Model):
    """Who changed what, when: the workspace's activity log, read by admins."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=80)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> list[tuple[str, object]]:
        """The detail as (name, value) pairs for the log page: changed fields first, then the rest."""
        detail = dict(self.detail or {})
        pairs = list((detail.pop("changed", None) or {}).items())
        return pairs + list(detail.items())
