"""The inbox's conversation list: filters, search, keyset pagination and each view's count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.postgres.search import SearchQuery
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Mod
from django.http import QueryDict

from helpdesk.accounts.models import Membership
from helpdesk.conversations import names
from helpdesk.conversations.models import Conversation, ConversationCount, Message

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
NAV_STATUSES = [("active", "Active"), *Conversation.Status.choices, ("all", "All")]
ASSIGNED_LABELS = [("all", "Everyone's"), ("mine", "Mine"), ("unassigned", "Unassigned")]


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

    @property
    def without_status(self) -> str:
        """The other filters, as "&name=value..." to follow a status tab's ?status=."""
        others = {k: v for k, v in self.as_query().items() if k != "status" and not (k == "assigned" and v == "all")}
        return "&" + urlencode(others) if others else ""


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
        found = (
            Q(contact__name__icontains=filters.q)
            | Q(contact__email__icontains=filters.q)
            | Q(Exists(matching_messages))
        )
        slots = names.slots_matching(filters.q)
        if slots:  # an anonymous contact, by the name the inbox shows for it
            qs = qs.alias(name_slot=Mod("contact_id", names.NAMES))
            found |= Q(contact__name="", contact__email="", name_slot__in=slots)
        qs = qs.filter(found)
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


@dataclass
class Counts:
    """How many conversations each view of the inbox holds: each status tab with the assignee
    and priority filters as they are, and each assignee filter with the status and priority
    as they are (a search narrows the list, not the counts)."""

    statuses: list[tuple[str, str, int]]  # (value, label, count), in the nav's order
    assigned: list[tuple[str, str, int]]


def _in_status(status: str, tab: str) -> bool:
    statuses = STATUS_FILTERS[tab]
    return statuses is None or status in statuses


def _in_assigned(assignee_id: int | None, tab: str, me: int) -> bool:
    return tab == "all" or (assignee_id == me if tab == "mine" else assignee_id is None)


def counts(membership: Membership, filters: Filters) -> Counts:
    """One query of a few rows (ConversationCount, kept by triggers), however many
    conversations the workspace holds."""
    rows = ConversationCount.objects.filter(workspace_id=membership.workspace_id, n__gt=0)
    if filters.priority:
        rows = rows.filter(priority=int(filters.priority))
    found = list(rows.values_list("status", "assignee_id", "n"))
    me = membership.user_id
    return Counts(
        statuses=[
            (
                tab,
                label,
                sum(
                    n
                    for status, assignee, n in found
                    if _in_status(status, tab) and _in_assigned(assignee, filters.assigned, me)
                ),
            )
            for tab, label in NAV_STATUSES
        ],
        assigned=[
            (
                tab,
                label,
                sum(
                    n
                    for status, assignee, n in found
                    if _in_status(status, filters.status) and _in_assigned(assignee, tab, me)
                ),
            )
            for tab, label in ASSIGNED_LABELS
        ],
    )
