"""A worker killed in the middle of a streamed AI reply: another worker finishes it, once."""

from __future__ import annotations

import signal
import time

import pytest
from django_tasks_db.models import DBTaskResult

from helpdesk.ai.models import AIRun
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Message
from tests.ai.conftest import add_article
from tests.processes import Stack, stack_env

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout: float, what: str, stack: Stack):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{stack.output()}"
        time.sleep(0.05)


def test_a_reply_cut_by_a_killed_worker_completes_once_after_the_restart(workspace, llm, tmp_path):
    llm.mode, llm.first_token_delay, llm.token_delay = "ok", 0.0, 0.15
    llm.reply = "Delivery to Norway takes five to seven working days, and every order gets a tracking link [1]."
    llm.requests.clear()
    add_article(workspace, "Shipping", "Delivery to Norway takes five to seven working days.")
    env = stack_env()
    env.update(OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test", WORKER_DEAD_AFTER_SECONDS="2")
    stack = Stack(env=env)
    try:
        first = stack.start_worker(tmp_path)
        visitor, _raw = identity.start_visitor(workspace)
        question = actions.post_customer_message(visitor, "How long does delivery to Norway take?")
        wait_for(lambda: len(llm.chat_requests()) == 1, 15, "the first worker to call the model", stack)
        time.sleep(0.6)  # mid-stream
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert not question.conversation.messages.exclude(pk=question.pk).exists(), "no half message is saved"
        assert AIRun.objects.get(trigger=question).status == AIRun.Status.RUNNING

        stack.start_worker(tmp_path)
        wait_for(
            lambda: question.conversation.messages.filter(author_kind=Message.Author.AI).exists(),
            30,
            "the answer after the restart",
            stack,
        )
        time.sleep(0.5)
        replies = list(question.conversation.messages.exclude(pk=question.pk))
        assert [m.author_kind for m in replies] == [Message.Author.AI]
        assert replies[0].body == llm.reply
        run = AIRun.objects.get(trigger=question)
        assert (run.status, run.attempts) == (AIRun.Status.ANSWERED, 2)
        assert len(llm.chat_requests()) == 2
        assert DBTaskResult.objects.get(task_path="helpdesk.ai.tasks.answer").status == "SUCCESSFUL"
    finally:
        stack.stop()
