"""A visitor's rating of an AI answer."""

from __future__ import annotations

from django.db import transaction

from helpdesk.ai.models import Feedback
from helpdesk.conversations import actions
from helpdesk.conversations.models import Message

RATINGS = ("up", "down", "solved")


def rate(message: Message, rating: str) -> None:
    """Thumbs up or down on an AI answer, or "solved": a thumbs up that also resolves the
    conversation (marked AI-resolved when the AI alone answered it). Rating again replaces
    the rating."""
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    with transaction.atomic():
        kept = Feedback.Rating.UP if rating == "solved" else rating
        Feedback.objects.update_or_create(message=message, defaults={"rating": kept})
        if rating == "solved":
            actions.resolve_by_customer(message.conversation)
