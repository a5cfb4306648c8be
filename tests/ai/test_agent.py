"""The AI agent against the OpenAI-compatible stub, through the real client."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from helpdesk.accounts import presence
from helpdesk.accounts.models import Membership
from helpdesk.ai import agent as ai_agent
from helpdesk.ai import decision
from helpdesk.ai.models import AIRun, AISettings, GuidanceRule
from helpdesk.asgi import application
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Conversation, Message
from helpdesk.workspace import hours
from tests.ai.conftest import add_article, add_faq

SHIPPING = (
    "We ship to every country in the European Union. Orders leave our warehouse within two working days. "
    "Delivery to Norway takes five to seven days."
)


@pytest.fixture
def knowledge(workspace):
    return {
        "article": add_article(workspace, "Shipping and delivery", f"# Shipping\n\n{SHIPPING}"),
        "faq": add_faq(workspace, "How do I reset my password?", "Click 'Forgot password' on the sign-in page."),
    }


def ask(visitor, text: str) -> Message:
    v, _raw = visitor
    return actions.post_customer_message(v, text)


def ai_messages(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.filter(author_kind=Message.Author.AI))


def test_it_answers_from_the_knowledge_base_with_its_source(db, stub, knowledge, visitor):
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    [reply] = ai_messages(question.conversation)
    assert "European Union" in reply.body  # the stub quotes the first passage it was given
    assert reply.sources[0]["kind"] == "article"
    assert reply.sources[0]["id"] == knowledge["article"].pk
    assert reply.sources[0]["url"] == f"/help/{knowledge['article'].public_id}/"
    assert "Shipping" in stub.chat_requests()[-1]["messages"][0]["content"]
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert conversation.status == Conversation.Status.PENDING
    assert AIRun.objects.get(trigger=question).status == AIRun.Status.ANSWERED


def test_the_widget_shows_the_sources_as_links(db, stub, knowledge, visitor, client):
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    v, raw = visitor
    html = client.get(
        "/chat/api/thread", HTTP_X_WIDGET_TOKEN=v.workspace.public_token, HTTP_X_VISITOR_TOKEN=raw
    ).content.decode()
    assert f'href="/help/{knowledge["article"].public_id}/"' in html
    assert "Shipping and delivery" in html
    page = client.get(f"/help/{knowledge['article'].public_id}/")
    assert page.status_code == 200 and "Norway" in page.content.decode()


def test_a_confident_faq_match_answers_without_the_model(db, stub, knowledge, visitor):
    question = ask(visitor, "How do I reset my password?")
    ai_agent.answer(question.pk)
    [reply] = ai_messages(question.conversation)
    assert reply.body == "Click 'Forgot password' on the sign-in page."
    assert reply.sources[0]["kind"] == "faq"
    assert stub.chat_requests() == []


def test_knowledge_only_mode_quotes_a_confident_passage(db, no_model, knowledge, visitor):
    question = ask(visitor, "delivery to Norway")
    ai_agent.answer(question.pk)
    [reply] = ai_messages(question.conversation)
    assert "Shipping and delivery" in reply.body and "Norway" in reply.body
    assert reply.sources[0]["id"] == knowledge["article"].pk


def test_knowledge_only_mode_hands_over_when_not_confident(db, no_model, knowledge, visitor):
    question = ask(visitor, "Can I pay for delivery with bitcoin in Norway next winter?")
    ai_agent.answer(question.pk)
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert ai_messages(conversation) == []
    assert conversation.ai_paused and conversation.status == Conversation.Status.OPEN
    assert conversation.escalation_reason


def assert_handed_over(question: Message, reason_part: str) -> Conversation:
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert ai_messages(conversation) == []
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.assignee_id is None
    assert conversation.ai_paused
    assert reason_part.lower() in conversation.escalation_reason.lower()
    told = conversation.messages.filter(author_kind=Message.Author.SYSTEM, private=False)
    assert told.exists(), "the visitor gets a clear message"
    assert Message.objects.filter(pk=question.pk).exists(), "the customer's message is kept"
    return conversation


def test_it_hands_over_when_the_visitor_asks_for_a_person(db, stub, knowledge, visitor):
    question = ask(visitor, "Can I talk to a real person please?")
    ai_agent.answer(question.pk)
    assert_handed_over(question, "asked for a person")
    assert stub.chat_requests() == []


def test_it_hands_over_when_an_escalation_rule_matches(db, stub, knowledge, visitor, workspace):
    GuidanceRule.objects.create(
        workspace=workspace, kind="escalation", name="Refunds", content="Refund requests.\nkeywords: refund, money back"
    )
    question = ask(visitor, "I want my money back for the Norway delivery")
    ai_agent.answer(question.pk)
    assert_handed_over(question, "Refunds")


def test_rules_for_another_channel_do_not_apply(db, stub, knowledge, visitor, workspace):
    GuidanceRule.objects.create(
        workspace=workspace, kind="escalation", name="Email Norway", content="keywords: norway", channels=["email"]
    )
    GuidanceRule.objects.create(
        workspace=workspace, kind="tone", name="Formal email", content="Sign as The Team.", channels=["email"]
    )
    GuidanceRule.objects.create(workspace=workspace, kind="tone", name="Everywhere", content="Be brief.", channels=[])
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert not conversation.escalation_reason and len(ai_messages(conversation)) == 1
    system = stub.chat_requests()[0]["messages"][0]["content"]
    assert "Be brief." in system and "Sign as The Team." not in system


def test_it_hands_over_when_nothing_relevant_is_found(db, stub, knowledge, visitor):
    question = ask(visitor, "Quantum chromodynamics lattice simulations")
    ai_agent.answer(question.pk)
    assert_handed_over(question, "No relevant knowledge")
    assert stub.chat_requests() == []


def test_it_hands_over_when_the_model_cannot_answer(db, stub, knowledge, visitor):
    stub.reply = "[HANDOFF]"
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    assert_handed_over(question, "could not answer")


def test_the_model_can_name_the_escalation_rule(db, stub, knowledge, visitor, workspace):
    GuidanceRule.objects.create(
        workspace=workspace, kind="escalation", name="Angry customers", content="The customer is upset."
    )
    stub.reply = "[HANDOFF: Angry customers]"
    question = ask(visitor, "Delivery to Norway is taking forever, this is unacceptable")
    ai_agent.answer(question.pk)
    assert_handed_over(question, "Angry customers")
    assert "Angry customers" in stub.chat_requests()[-1]["messages"][0]["content"]


@pytest.mark.parametrize("mode", ["fail", "garbage", "cut", "slow", "stall"])
def test_provider_failures_fall_back_and_hand_over(db, stub, knowledge, visitor, workspace, mode):
    AISettings.objects.update_or_create(workspace=workspace, defaults={"timeout": 0.5, "retries": 1})
    if mode == "stall":  # the first tokens come, then the provider goes silent past the timeout
        stub.token_delay = 1.5
    else:
        stub.mode, stub.slow_seconds = mode, 1.5
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    conversation = assert_handed_over(question, "provider failed")
    fallback = AISettings.objects.get(workspace=workspace).fallback_message
    assert conversation.messages.filter(
        author_kind=Message.Author.SYSTEM, private=False, body__startswith=fallback
    ).exists()


def test_the_ai_stays_quiet_after_a_handover_until_handed_back(db, stub, knowledge, visitor, agent):
    first = ask(visitor, "I need a human")
    ai_agent.answer(first.pk)
    second = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(second.pk)
    assert ai_messages(first.conversation) == []
    assert AIRun.objects.get(trigger=second).status == AIRun.Status.SKIPPED
    actions.hand_back(first.conversation, agent)
    third = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(third.pk)
    assert len(ai_messages(first.conversation)) == 1


def told_the_visitor(conversation: Conversation) -> list[str]:
    """What the visitor was told besides answers: the public system messages."""
    return list(
        conversation.messages.filter(author_kind=Message.Author.SYSTEM, private=False).values_list("body", flat=True)
    )


def test_after_a_handover_the_visitor_is_told_once_what_to_expect_and_the_ai_stays_quiet(
    db, stub, knowledge, visitor, workspace
):
    first = ask(visitor, "I need a human")
    ai_agent.answer(first.pk)
    # Then even the FAQ's exact question gets no AI answer, and no second message: the visitor
    # knows already.
    for text in ("How do I reset my password?", "Hello? Anyone there?"):
        later = ask(visitor, text)
        ai_agent.answer(later.pk)
        assert AIRun.objects.get(trigger=later).reason == "handed over to a person"
    conversation = first.conversation
    assert ai_messages(conversation) == [] and stub.chat_requests() == []
    [told] = told_the_visitor(conversation)
    assert told == f"{ai_agent.HANDOFF_MESSAGE} {workspace.away_message}"  # nobody online


def test_with_an_agent_online_the_handover_says_someone_will_reply_here(db, stub, knowledge, visitor, agent):
    presence.touch(Membership.objects.get(user=agent))
    question = ask(visitor, "Can I talk to a real person please?")
    ai_agent.answer(question.pk)
    [told] = told_the_visitor(question.conversation)
    assert told == f"{ai_agent.HANDOFF_MESSAGE} {presence.ONLINE_EXPECTATION}"
    assert "away" not in told


def test_outside_business_hours_the_handover_says_when_the_team_is_back(
    db, stub, knowledge, visitor, workspace, agent, monkeypatch
):
    workspace.business_hours_enabled = True
    workspace.timezone = "Europe/Berlin"
    workspace.business_hours = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    workspace.save()
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    monkeypatch.setattr(hours, "timezone", SimpleNamespace(now=lambda: saturday))
    presence.touch(Membership.objects.get(user=agent))  # online, but the office is closed
    question = ask(visitor, "I need a human")
    ai_agent.answer(question.pk)
    [told] = told_the_visitor(question.conversation)
    assert told.startswith(ai_agent.HANDOFF_MESSAGE)
    assert told.endswith("We're back Monday at 9:00 (Europe/Berlin).")


def test_handed_back_and_handed_over_again_the_visitor_is_told_again(db, stub, knowledge, visitor, agent):
    first = ask(visitor, "I need a human")
    ai_agent.answer(first.pk)
    actions.hand_back(first.conversation, agent)
    again = ask(visitor, "Let me speak to a representative")
    ai_agent.answer(again.pk)
    assert len(told_the_visitor(first.conversation)) == 2


def test_it_never_answers_over_an_assigned_agent_who_is_online(db, stub, knowledge, visitor, agent):
    from helpdesk.accounts import presence
    from helpdesk.accounts.models import Membership

    question = ask(visitor, "How long does delivery to Norway take?")
    actions.assign(question.conversation, agent, agent)
    presence.touch(Membership.objects.get(user=agent))
    ai_agent.answer(question.pk)
    assert ai_messages(question.conversation) == []
    assert AIRun.objects.get(trigger=question).reason == "an assigned agent is online"


def test_answering_twice_posts_one_reply(db, stub, knowledge, visitor):
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    AIRun.objects.filter(trigger=question).update(status=AIRun.Status.RUNNING)  # as if the worker died after posting
    ai_agent.answer(question.pk)
    assert len(ai_messages(question.conversation)) == 1


def test_a_customer_message_enqueues_the_ai_after_commit(
    db, stub, knowledge, visitor, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        question = ask(visitor, "How long does delivery to Norway take?")
    queued = DBTaskResult.objects.get(task_path="helpdesk.ai.tasks.answer")
    assert queued.args_kwargs["args"] == [question.pk]


@pytest.mark.django_db(transaction=True)
def test_the_answer_streams_to_the_visitor_websocket(stub, knowledge, visitor, workspace):
    stub.reply = "Delivery to Norway takes five to seven days [1] and orders leave within two days [1]."
    stub.token_delay = 0.06
    v, raw = visitor
    question = actions.post_customer_message(v, "How long does delivery to Norway take?")

    async def scenario():
        comm = WebsocketCommunicator(
            application,
            f"/ws/chat/?token={workspace.public_token}&visitor={raw}",
            headers=[(b"origin", b"http://localhost")],
        )
        assert (await comm.connect())[0]
        await database_sync_to_async(ai_agent.answer)(question.pk)
        frames = []
        while not await comm.receive_nothing(timeout=0.3):
            frames.append(await comm.receive_from())
        await comm.disconnect()
        return frames

    frames = async_to_sync(scenario)()
    drafts = [f for f in frames if f'id="ai-draft-{question.conversation_id}"' in f and 'hx-swap-oob="delete"' not in f]
    assert "AI is writing" in drafts[0]
    growing = [f for f in drafts if "Delivery to Norway" in f]
    assert len(growing) >= 2 and len(growing[-1]) > len(growing[0])
    final = next(i for i, f in enumerate(frames) if 'data-kind="ai"' in f)
    assert "five to seven days" in frames[final] and 'class="sources"' in frames[final]
    assert any('hx-swap-oob="delete"' in f for f in frames[final:] + frames[final - 1 : final])


def test_copilot_drafts_a_reply_for_the_agent_only(db, stub, knowledge, visitor, agent, settings):
    from channels.layers import get_channel_layer

    from helpdesk.realtime import groups

    question = ask(visitor, "How long does delivery to Norway take?")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.agent(agent.pk), channel)
    ai_agent.suggest(question.conversation_id, agent.pk)
    pushed = async_to_sync(layer.receive)(channel)["html"]
    assert f'id="composer-{question.conversation_id}"' in pushed and 'hx-swap-oob="true"' in pushed
    assert "European Union" in pushed and "Shipping and delivery" in pushed
    assert question.conversation.messages.exclude(pk=question.pk).filter(private=False).count() == 0


def test_the_visitor_rates_an_answer_and_says_it_solved_it(db, stub, knowledge, visitor, client):
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    [reply] = ai_messages(question.conversation)
    v, raw = visitor
    headers = {"HTTP_X_WIDGET_TOKEN": v.workspace.public_token, "HTTP_X_VISITOR_TOKEN": raw}
    assert client.post(f"/chat/api/messages/{reply.pk}/feedback", {"rating": "down"}, **headers).status_code == 200
    assert reply.__class__.objects.get(pk=reply.pk).feedback.rating == "down"
    assert client.post(f"/chat/api/messages/{reply.pk}/feedback", {"rating": "meh"}, **headers).status_code == 400
    assert client.post(f"/chat/api/messages/{reply.pk}/feedback", {"rating": "solved"}, **headers).status_code == 200
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert conversation.status == Conversation.Status.RESOLVED and conversation.ai_resolved


def test_another_visitor_cannot_rate_an_answer(db, stub, knowledge, visitor, workspace, client):
    question = ask(visitor, "How long does delivery to Norway take?")
    ai_agent.answer(question.pk)
    [reply] = ai_messages(question.conversation)
    _other, other_raw = identity.start_visitor(workspace)
    response = client.post(
        f"/chat/api/messages/{reply.pk}/feedback",
        {"rating": "up"},
        HTTP_X_WIDGET_TOKEN=workspace.public_token,
        HTTP_X_VISITOR_TOKEN=other_raw,
    )
    assert response.status_code == 404
    assert json.loads(response.content)["error"]


# ---------------------------------------------------------------- what a knowledge-only answer quotes


@pytest.fixture
def huge_passage(workspace):
    """An article with one chunk of 4 MB (as an older version indexed a hostile PDF)."""
    from helpdesk.knowledge.models import Article, Chunk

    article = Article.objects.create(workspace=workspace, title="Router manual", body="(replaced)", status="ready")
    text = (
        "Reset the router by holding its button for ten seconds. The lights blink twice. "
        "Then wait a minute. It comes back with the factory settings. " + "AAAA " * 800_000
    )
    Chunk.objects.create(
        workspace=workspace, kind="article", article=article, position=0, heading="Router manual", text=text
    )
    return article


def test_a_knowledge_only_answer_quotes_a_few_sentences_of_a_huge_passage(db, no_model, huge_passage, visitor):
    question = ask(visitor, "How do I reset the router button?")
    ai_agent.answer(question.pk)
    [reply] = ai_messages(question.conversation)
    assert reply.body == "Here's what I found in \u201cRouter manual\u201d:\n\n" + (
        "Reset the router by holding its button for ten seconds. The lights blink twice. Then wait a minute. \u2026"
    )
    assert reply.sources[0]["url"] == f"/help/{huge_passage.public_id}/"  # the rest is there


def test_a_copilot_draft_without_a_model_quotes_a_bounded_passage(db, no_model, huge_passage, visitor, agent):
    from channels.layers import get_channel_layer

    from helpdesk.realtime import groups

    question = ask(visitor, "How do I reset the router button?")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.agent(agent.pk), channel)
    ai_agent.suggest(question.conversation_id, agent.pk)
    pushed = async_to_sync(layer.receive)(channel)["html"]
    assert "Reset the router by holding its button" in pushed and "Then wait a minute. \u2026" in pushed
    assert "AAAA" not in pushed and len(pushed) < 10_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Short answer.", "Short answer."),
        ("One. Two. Three. Four.", "One. Two. Three. \u2026"),
        ("Line one\n\nLine two\n\nLine three\n\nLine four", "Line one\n\nLine two\n\nLine three \u2026"),
        ("word " * 1000, ("word " * 119).strip() + "\u2026"),  # no sentence end: cut after a word
        ("x" * 4_000_000, "x" * (decision.QUOTE_MAX_CHARS - 2) + "\u2026"),  # no space either: cut anywhere
    ],
)
def test_an_excerpt_is_cut_at_a_sentence_else_a_word_with_an_ellipsis(text, expected):
    result = decision.excerpt(text)
    assert result == expected
    assert len(result) <= decision.QUOTE_MAX_CHARS
