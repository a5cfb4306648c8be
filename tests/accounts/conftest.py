import pytest
from django.urls import reverse

from helpdesk.accounts.tasks import send_password_reset

RESET = reverse("accounts:password_reset")


@pytest.fixture
def ask_for_reset(django_capture_on_commit_callbacks):
    """POST the "forgot your password" form, as the web process answers it (tasks are queued
    on commit)."""

    def ask(client, email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(RESET, {"email": email})

    return ask


@pytest.fixture
def deliver_resets(enqueued):
    """Play the worker: run the queued reset emails. Returns how many ran."""

    def deliver() -> int:
        ran = 0
        for name, args in enqueued:
            assert name == send_password_reset.name
            send_password_reset.call(*args)
            ran += 1
        enqueued.clear()
        return ran

    return deliver
