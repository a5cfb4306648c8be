"""The inbox's conversation list: filters, search and keyset pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchQuery
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict

from helpdesk.accounts.models import Membership
from helpdesk.conversations.models import Conversation, Message

PAGE_SIZE = 25
STATUS_FILTERS = {
    "active": [
        Conversation.Status.NEW,
        Conversation.Status.OPEN,
        Conversation.Status.PENDING,
        Conversation.Status.ON_HOLD,
    ],
    **{value: [value] for value in Conversation.Status.values},
    "all": None,
}
ASSIGNED_FILTERS = ("all", "mine", "unassigned")


@dataclass
class Filters:
    status: str = "active"
    assigned: str = "all"
    priority: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> Filters:
        status = query.get("status", "active")
        assigned = query.get("assigned", "all")
        priority = query.get("priority", "")
        return cls(
            status=status if status in STATUS_FILTERS else "active",
            assigned=assigned if assigned in ASSIGNED_FILTERS else "all",
            priority=priority if priority in {str(v) for v in Conversation.Priority.values} else "",
            q=query.get("q", "").strip()[:200],
        )

    def as_query(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}


def _cursor(raw: str) -> tuple[datetime, int] | None:
    try:
        stamp, pk = raw.rsplit("_", 1)
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, AttributeError):
        return None


def cursor_of(conversation: Conversation) -> str:
    return f"{conversation.last_message_at.isoformat()}_{conversation.pk}"


def conversations(membership: Membership, filters: Filters) -> QuerySet[Conversation]:
    qs = Conversation.objects.filter(workspace_id=membership.workspace_id)
    statuses = STATUS_FILTERS[filters.status]
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    if filters.assigned == "mine":
        qs = qs.filter(assignee_id=membership.user_id)
    elif filters.assigned == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if filters.priority:
        qs = qs.filter(priority=int(filters.priority))
    if filters.q:
        matching_messages = Message.objects.filter(
            conversation=OuterRef("pk"), search=SearchQuery(filters.q, config="simple", search_type="plain")
        )
        qs = qs.filter(
            Q(contact__name__icontains=filters.q) | Q(contact__email__icontains=filters.q) | Exists(matching_messages)
        )
    return qs.select_related("contact", "assignee").order_by("-last_message_at", "-id")


def page(membership: Membership, filters: Filters, before: str = "") -> tuple[list[Conversation], str]:
    """One page of conversations and the cursor of the next page ("" at the end)."""
    qs = conversations(membership, filters)
    cursor = _cursor(before) if before else None
    if cursor is not None:
        stamp, pk = cursor
        qs = qs.filter(Q(last_message_at__lt=stamp) | Q(last_message_at=stamp, id__lt=pk))
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (cursor_of(rows[-1]) if more and rows else "")
