"""The hand-written statements of a customer's message (helpdesk.conversations.hotpath) save and
read exactly what the ORM would: every field, read back through the ORM, is what the code set."""

from __future__ import annotations

from helpdesk.ai.models import AISettings
from helpdesk.ai.tasks import answer
from helpdesk.conversations import actions, hooks, hotpath
from helpdesk.conversations.models import Contact, Conversation, Message


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_first_message_saves_its_conversation_and_itself_as_the_orm_reads_them(visitor):
    v, _ = visitor
    message = actions.post_customer_message(
        v, "First words", client_id="0b8f2b51-7c1e-4c1e-9a3e-7c8c8f1b2a10", page_url="https://acme.test/a"
    )
    assert _fields(Message.objects.get(pk=message.pk)) == _fields(message)
    assert _fields(Conversation.objects.get(pk=message.conversation_id)) == _fields(message.conversation)


def test_a_later_message_updates_what_it_moves_and_reads_back_the_same(visitor):
    v, _ = visitor
    first = actions.post_customer_message(v, "First words")
    second = actions.post_customer_message(v, "Second words", page_url="https://acme.test/b")
    assert second.conversation_id == first.conversation_id
    assert _fields(Message.objects.get(pk=second.pk)) == _fields(second)
    assert _fields(Conversation.objects.get(pk=second.conversation_id)) == _fields(second.conversation)
    assert _fields(Contact.objects.get(pk=v.contact_id)) == _fields(second.conversation.contact)


def test_the_current_conversation_comes_with_the_saved_message_and_the_workspace_facts(visitor, workspace):
    v, _ = visitor
    client_id = "5a0e6c3e-7a7c-4b0f-9a43-2c3d1e5f6a7b"
    message = actions.post_customer_message(v, "Hello", client_id=client_id)
    AISettings.objects.update_or_create(workspace=workspace, defaults={"enabled": False})
    current = hotpath.current_for_post(v.contact_id, client_id)
    assert current.conversation.pk == message.conversation_id and current.saved_id == message.pk
    assert current.facts == {"ai_enabled": False}  # registered by the AI app (helpdesk.ai.triggers)
    assert "ai_enabled" in hooks.workspace_facts()
    contact, facts, again = hotpath.locked_contact_and_current(v.contact_id, None)
    assert contact.pk == v.contact_id and facts == {"ai_enabled": False} and again.saved_id is None


def test_without_ai_settings_the_fact_is_none_and_the_ai_answers_with_the_defaults(visitor, workspace, enqueued):
    v, _ = visitor
    assert not AISettings.objects.filter(workspace=workspace).exists()
    _contact, facts, current = hotpath.locked_contact_and_current(v.contact_id, None)
    assert facts == {"ai_enabled": None} and current is None
    message = actions.post_customer_message(v, "Hello")
    assert enqueued == [(answer.name, (message.pk,))]
    assert AISettings.objects.get(workspace=workspace).enabled  # made with the defaults, AI on
