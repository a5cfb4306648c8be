"""conversations 0007: the address of a contact that the host page's server identified (a
signed identify) was vouched for; every other address is the customer's own word."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from helpdesk.conversations.models import Contact

BEFORE = ("conversations", "0006_conversation_counts_kept_by_triggers")


@pytest.mark.django_db(transaction=True)
def test_verified_contacts_addresses_become_verified_and_no_other(workspace):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        OldContact = executor.loader.project_state([BEFORE]).apps.get_model("conversations", "Contact")
        ids = {
            label: OldContact.objects.create(
                workspace_id=workspace.pk, verified=verified, email=email, external_id=external_id
            ).pk
            for label, verified, email, external_id in [
                ("signed, with an address", True, "ada@corp.example", "u-1"),
                ("signed, no address", True, "", "u-2"),
                ("typed", False, "bob@example.com", None),
            ]
        }
    finally:
        MigrationExecutor(connection).migrate(latest)
    verified = dict(Contact.objects.filter(pk__in=ids.values()).values_list("pk", "email_verified"))
    assert {label: verified[pk] for label, pk in ids.items()} == {
        "signed, with an address": True,
        "signed, no address": False,
        "typed": False,
    }
