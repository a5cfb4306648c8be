"""A worker killed in the middle of a streamed AI reply: another worker finishes it, once."""

from __future__ import annotations

import signal

import pytest
from django_tasks_db.models import DBTaskResult

from helpdesk.ai.models import AIRun
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Message
from tests.ai.conftest import add_article
from tests.processes import Stack, stack_env
from tests.waiting import wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def test_a_reply_cut_by_a_killed_worker_completes_once_after_the_restart(workspace, llm, tmp_path):
    llm.mode, llm.first_token_delay, llm.token_delay = "ok", 0.0, 0.0
    llm.reply = "Delivery to Norway takes five to seven working days, and every order gets a tracking link [1]."
    llm.requests.clear()
    llm.pause_after(4)  # the first reply stops mid-stream until the test resumes it
    add_article(workspace, "Shipping", "Delivery to Norway takes five to seven working days.")
    env = stack_env()
    env.update(OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test", WORKER_DEAD_AFTER_SECONDS="2")
    stack = Stack(env=env)
    try:
        first = stack.start_worker(tmp_path)
        visitor, _raw = identity.start_visitor(workspace)
        question = actions.post_customer_message(visitor, "How long does delivery to Norway take?")
        wait_for(llm.paused.is_set, 15, message=lambda: f"the first worker's reply mid-stream\n{stack.output()}")
        assert len(llm.chat_requests()) == 1
        first.send_signal(signal.SIGKILL)
        first.wait()
        llm.resume()  # the rest of that stream goes nowhere
        assert not question.conversation.messages.exclude(pk=question.pk).exists(), "no half message is saved"
        assert AIRun.objects.get(trigger=question).status == AIRun.Status.RUNNING

        stack.start_worker(tmp_path)
        # Finished: the one task of the answer has run to its end, so nothing more is coming.
        task = DBTaskResult.objects.filter(task_path="helpdesk.ai.tasks.answer")
        status = wait_for(
            lambda: (status := task.get().status) in ("SUCCESSFUL", "FAILED") and status,
            30,
            message=lambda: f"the answer after the restart\n{stack.output()}",
        )
        assert status == "SUCCESSFUL", stack.output()
        replies = list(question.conversation.messages.exclude(pk=question.pk))
        assert [m.author_kind for m in replies] == [Message.Author.AI]
        assert replies[0].body == llm.reply
        run = AIRun.objects.get(trigger=question)
        assert (run.status, run.attempts) == (AIRun.Status.ANSWERED, 2)
        assert len(llm.chat_requests()) == 2
    finally:
        llm.resume()
        stack.stop()
