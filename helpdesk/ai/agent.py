"""The AI agent: answers a customer's message from the knowledge base, streaming, with its
sources, or hands over to a person. Runs in the worker (see ai/tasks.py).

Order of decisions for one customer message:
1. stay quiet if AI is off, the conversation was handed over, an assigned agent is online,
   or a newer customer message will be answered instead;
2. what ai/decision.py decides: hand over (a person asked for, an escalation rule, nothing
   relevant, or not confident without a chat model), answer at once (a confident FAQ match;
   without a model, a confident passage quoted), or ask the model;
3. with the model: stream its answer; hand over if it says it cannot answer, or if the
   provider still fails after its retries (with the fallback message).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.accounts import presence
from helpdesk.accounts.models import Membership
from helpdesk.ai import decision, modes, provider
from helpdesk.ai.models import AIRun, AISettings, GuidanceRule
from helpdesk.conversations import actions
from helpdesk.conversations.models import Conversation, Message
from helpdesk.knowledge import retrieval
from helpdesk.realtime import broadcast, groups
from helpdesk.workspace.models import Workspace

logger = logging.getLogger(__name__)

STREAM_EVERY_SECONDS = 0.05

HANDOFF_MARKER = "[HANDOFF"
HANDOFF_MESSAGE = decision.HANDOFF_MESSAGE


def provider_config(ai: AISettings) -> provider.ProviderConfig | None:
    """The endpoint and key of the workspace's chat model (see AISettings.provider_config)."""
    return ai.provider_config()


def _chat_config(ai: AISettings) -> provider.ProviderConfig:
    """The config of a workspace whose chat is configured (chat_configured was checked)."""
    config = provider_config(ai)
    if config is None:
        raise ValueError("the workspace's chat model is not configured")
    return config


def chat_configured(ai: AISettings) -> bool:
    """A chat model and an endpoint to ask; else knowledge-only mode (so too with a saved key
    that cannot be read: it is never replaced by the server's). Decided by ai/modes.py."""
    return modes.of(ai).chat


# ---------------------------------------------------------------- when to answer


def should_answer(trigger: Message, ai: AISettings) -> str:
    """ "" when the AI should answer this message, else why it stays quiet."""
    conversation = trigger.conversation
    if not ai.enabled:
        return "AI is off"
    if conversation.ai_paused:
        return "handed over to a person"
    if conversation.assignee_id:
        membership = Membership.objects.filter(
            user_id=conversation.assignee_id, workspace_id=conversation.workspace_id
        ).first()
        if membership is not None and presence.is_online(membership):
            return "an assigned agent is online"
    newer = conversation.messages.filter(author_kind=Message.Author.CUSTOMER, id__gt=trigger.pk).exists()
    if newer:
        return "a newer message will be answered"
    return ""


# ---------------------------------------------------------------- streaming to the screens


@dataclass
class Draft:
    """The growing answer, shown live in the widget and the inbox, never saved half-done."""

    conversation: Conversation
    trigger: Message

    def push(self, text: str) -> None:
        context = {"conversation": self.conversation, "trigger": self.trigger, "text": text}
        broadcast.send(
            groups.contact(self.conversation.contact_id), render_to_string("widget/chat.html#ai-draft-oob", context)
        )
        broadcast.send(
            groups.agents(self.conversation.workspace_id),
            render_to_string("inbox/conversation.html#ai-draft-oob", context),
        )

    def clear(self) -> None:
        html = f'<div id="ai-draft-{self.conversation.pk}" hx-swap-oob="delete"></div>'
        broadcast.on_commit(groups.contact(self.conversation.contact_id), html)
        broadcast.on_commit(groups.agents(self.conversation.workspace_id), html)


# ---------------------------------------------------------------- the prompt


def rules_for(conversation: Conversation) -> list[GuidanceRule]:
    """The workspace's active guidance rules that apply on the conversation's channel (a rule
    with no channels applies everywhere)."""
    rules = GuidanceRule.objects.filter(workspace_id=conversation.workspace_id, active=True)
    return [r for r in rules if not r.channels or conversation.channel in r.channels]


def build_messages(
    ai: AISettings, conversation: Conversation, hits, workspace: Workspace, rules: list[GuidanceRule] | None = None
) -> list[dict]:
    if rules is None:
        rules = rules_for(conversation)
    tone = [r for r in rules if r.kind == GuidanceRule.Kind.TONE]
    escalation = [r for r in rules if r.kind == GuidanceRule.Kind.ESCALATION]
    name = ai.business_name or workspace.widget_company_name or workspace.name
    parts = [
        f"You are the customer support assistant of {name}.",
        ai.business_description,
        "Answer the customer's last message using ONLY the knowledge below. Cite the passages you use "
        "with their numbers, like [1]. Never invent facts, prices, policies or links.",
        f"If the knowledge does not answer the question, or the customer wants a person, reply with "
        f"exactly {HANDOFF_MARKER}] and nothing else.",
    ]
    if ai.instructions:
        parts.append("Instructions from the business:\n" + ai.instructions)
    if tone:
        parts.append("Tone:\n" + "\n".join(f"- {r.content}" for r in tone))
    if escalation:
        parts.append(
            f"Hand over (reply exactly {HANDOFF_MARKER}: <rule name>]) when one of these applies:\n"
            + "\n".join(f"- {r.name}: {r.content}" for r in escalation)
        )
    if ai.links:
        parts.append("Useful links:\n" + ai.links)
    knowledge = "\n\n".join(f"[{i}] {hit.title}\n{hit.answer or hit.text}" for i, hit in enumerate(hits, 1))
    parts.append("Knowledge:\n" + knowledge)
    system = "\n\n".join(p for p in parts if p)

    history = list(
        conversation.messages.filter(private=False)
        .exclude(author_kind=Message.Author.SYSTEM)
        .order_by("-id")[: ai.history_length]
    )[::-1]
    chat = [{"role": "system", "content": system}]
    for m in history:
        chat.append({"role": "user" if m.author_kind == Message.Author.CUSTOMER else "assistant", "content": m.body})
    return chat


def cited_sources(text: str, hits) -> list[dict]:
    numbers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text) if 0 < int(n) <= len(hits)})
    if not numbers and hits:
        numbers = [1]
    return [decision.source_of(hits[n - 1], n) for n in numbers]


# ---------------------------------------------------------------- the answer


def answer(message_id: int) -> None:
    trigger = (
        Message.objects.select_related("conversation__contact", "conversation__workspace").filter(pk=message_id).first()
    )
    if trigger is None or trigger.author_kind != Message.Author.CUSTOMER:
        return
    conversation = trigger.conversation
    run, created = AIRun.objects.get_or_create(trigger=trigger, defaults={"conversation": conversation, "attempts": 1})
    if not created:
        if run.status != AIRun.Status.RUNNING:
            return  # answered already: a retried task does nothing twice
        AIRun.objects.filter(pk=run.pk).update(attempts=run.attempts + 1)

    workspace = conversation.workspace
    ai = AISettings.for_workspace(workspace)
    quiet = should_answer(trigger, ai)
    if quiet:
        _finish(run, AIRun.Status.SKIPPED, quiet)
        return

    draft = Draft(conversation, trigger)
    started = time.monotonic()

    rules = rules_for(conversation)
    decided = decision.decide(
        workspace, trigger.body, chat=chat_configured(ai), channel=conversation.channel, rules=rules
    )
    if decided.action == decision.HAND_OVER:
        return _hand_over(run, conversation, decided.reason)
    if decided.action == decision.ANSWER:
        return _answer_with(run, conversation, decided.body, decided.sources)
    hits = decided.hits

    draft.push("")  # "AI is writing…"
    text = ""
    first_token_ms = 0
    last_push = 0.0
    try:
        for piece in provider.stream_chat(
            _chat_config(ai),
            ai.chat_model,
            build_messages(ai, conversation, hits, workspace, rules),
            temperature=ai.temperature,
            max_tokens=ai.max_tokens,
        ):
            if not text:
                first_token_ms = int((time.monotonic() - started) * 1000)
            text += piece
            if text.lstrip().startswith(HANDOFF_MARKER[: len(text.lstrip())]):
                continue  # might be the hand-over marker: show nothing yet
            now = time.monotonic()
            if now - last_push >= STREAM_EVERY_SECONDS:
                draft.push(text)
                last_push = now
    except provider.ProviderError as exc:
        logger.warning("AI provider failed for message %s: %s", trigger.pk, exc)
        with transaction.atomic():
            draft.clear()
            return _hand_over(run, conversation, "The AI provider failed", message=ai.fallback_message)
    if text:
        AIRun.objects.filter(pk=run.pk).update(first_token_ms=first_token_ms)
    with transaction.atomic():
        draft.clear()
        if HANDOFF_MARKER in text or not text.strip():
            marker = re.search(r"\[HANDOFF:?\s*([^\]]*)\]", text)
            reason = (
                f"Escalation rule: {marker.group(1).strip()}"
                if marker and marker.group(1).strip()
                else "The AI could not answer"
            )
            return _hand_over(run, conversation, reason)
        return _answer_with(run, conversation, text.strip(), cited_sources(text, hits))


def _finish(run: AIRun, status: str, reason: str = "", reply: Message | None = None) -> None:
    AIRun.objects.filter(pk=run.pk).update(status=status, reason=reason[:200], reply=reply, finished_at=timezone.now())


def _answer_with(run: AIRun, conversation: Conversation, body: str, sources: list[dict]) -> None:
    with transaction.atomic():
        locked = AIRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != AIRun.Status.RUNNING:
            return
        reply = actions.post_ai_reply(conversation, run.trigger_id, body, sources)
        _finish(run, AIRun.Status.ANSWERED, reply=reply)


def _hand_over(run: AIRun, conversation: Conversation, reason: str, *, message: str = "") -> None:
    with transaction.atomic():
        locked = AIRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != AIRun.Status.RUNNING:
            return
        # Said once, now: the AI stays quiet after this, until an agent hands the conversation
        # back. `expected.offer_email` marks where continuing by email will be offered.
        state = presence.availability(conversation.workspace)
        expected = presence.expectation(conversation.workspace, state)
        text = message or HANDOFF_MESSAGE
        if not message or not state.online:  # a fallback message says a person will reply
            text = f"{text} {expected.text}"
        actions.hand_over(conversation, reason, text)
        _finish(run, AIRun.Status.HANDED_OVER, reason)


# ---------------------------------------------------------------- copilot


def suggest(conversation_id: int, user_id: int) -> None:
    """Draft a reply for an agent, with its sources, into their reply box. Never sent by itself."""
    conversation = Conversation.objects.select_related("workspace", "contact").filter(pk=conversation_id).first()
    if conversation is None:
        return
    workspace = conversation.workspace
    ai = AISettings.for_workspace(workspace)
    last = conversation.messages.filter(author_kind=Message.Author.CUSTOMER).order_by("-id").first()
    found = retrieval.search(workspace, last.body, k=decision.SEARCH_K, channel=conversation.channel) if last else []
    hits = [h for h in found if decision.is_relevant(h)]
    error = ""
    text = ""
    if not hits:
        error = "No relevant knowledge found for the customer's last message."
    elif not chat_configured(ai):
        text = decision.quote_of(hits[0], last.body if last else "")
    else:
        try:
            text = provider.chat(
                _chat_config(ai),
                ai.chat_model,
                build_messages(ai, conversation, hits, workspace),
                temperature=ai.temperature,
                max_tokens=ai.max_tokens,
            )
        except provider.ProviderError as exc:
            # Agents get no details (they are for admins, in Test connection): only the status.
            status = f" (HTTP {exc.status})" if exc.status else ""
            error = f"The AI provider failed{status}. An admin can check Settings \u2192 AI."
        if HANDOFF_MARKER in text:
            text, error = "", "The knowledge base does not answer this; write the reply yourself."
    sources = cited_sources(text, hits) if text else []
    html = render_to_string(
        "inbox/conversation.html#suggestion-oob",
        {
            "conversation": conversation,
            "text": re.sub(r"\s*\[\d+\]", "", text).strip(),
            "sources": sources,
            "error": error,
        },
    )
    broadcast.send(groups.agent(user_id), html)
