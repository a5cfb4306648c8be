"""The worker: woken at once by NOTIFY, and recovering tasks of workers that died."""

from __future__ import annotations

import signal
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Message
from helpdesk.conversations.tasks import send_away_reply
from helpdesk.knowledge import actions as knowledge
from helpdesk.knowledge.models import FAQ, Article, IndexStatus
from helpdesk.knowledge.tasks import index_faq
from helpdesk.ops.worker import Loop, _heartbeat_key, recover_orphans
from tests.knowledge.embedding_stub import EmbeddingStub
from tests.processes import Stack, stack_env
from tests.waiting import wait_for


def _queued(**fields) -> DBTaskResult:
    result = send_away_reply.enqueue(1)
    DBTaskResult.objects.filter(id=result.id).update(**fields)
    return DBTaskResult.objects.get(id=result.id)


def _wait_for(condition, timeout: float, what: str, stack: Stack) -> None:
    wait_for(condition, timeout, message=lambda: f"{what}\n{stack.output()}")


def test_a_task_of_a_dead_worker_is_queued_again(db):
    orphan = _queued(status="RUNNING", started_at=timezone.now() - timedelta(minutes=1), worker_ids=["gone"])
    assert recover_orphans() == 1
    orphan.refresh_from_db()
    assert orphan.status == "READY"


def test_a_task_of_a_live_worker_is_left_alone(db):
    cache.set(_heartbeat_key("alive"), 1, timeout=60)
    busy = _queued(status="RUNNING", started_at=timezone.now() - timedelta(minutes=1), worker_ids=["alive"])
    fresh = _queued(status="RUNNING", started_at=timezone.now(), worker_ids=["just-started"])
    assert recover_orphans() == 0
    busy.refresh_from_db()
    fresh.refresh_from_db()
    assert (busy.status, fresh.status) == ("RUNNING", "RUNNING")


def _loop() -> Loop:
    loop = Loop.__new__(Loop)  # only what run_task_kept needs
    loop.running_task, loop._run_tasks = False, 0
    return loop


@pytest.mark.django_db(transaction=True)  # as the worker runs tasks: outside any transaction
def test_a_task_whose_row_vanished_while_it_ran_does_not_stop_the_loop(monkeypatch):
    """As when a test's flush (or an operator) deletes tasks under a running worker: its
    outcome cannot be saved, and the loop goes on (it used to stop the whole worker)."""
    task_result = _queued(status="RUNNING", started_at=timezone.now(), worker_ids=["me"])
    save_outcome = DBTaskResult.set_successful

    def deleted_meanwhile(self, value):
        DBTaskResult.objects.filter(id=self.id).delete()
        save_outcome(self, value)  # raises: no row to update

    monkeypatch.setattr(DBTaskResult, "set_successful", deleted_meanwhile)  # then set_failed finds no row either
    loop = _loop()
    loop.run_task_kept(task_result)
    assert not DBTaskResult.objects.filter(id=task_result.id).exists() and loop._run_tasks == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_error_of_a_task_that_still_exists_still_stops_the_loop(monkeypatch):
    task_result = _queued(status="RUNNING", started_at=timezone.now(), worker_ids=["me"])

    def down(self, outcome):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(DBTaskResult, "set_successful", down)
    monkeypatch.setattr(DBTaskResult, "set_failed", down)
    with pytest.raises(DatabaseError):
        _loop().run_task_kept(task_result)


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_an_idle_worker_wakes_on_notify_not_on_its_poll(workspace, tmp_path, settings):
    AISettings.objects.create(workspace=workspace, enabled=False)
    settings.AWAY_REPLY_DELAY_SECONDS = 0  # a task that is ready at once: enqueued with a NOTIFY
    stack = Stack(env=stack_env())
    worker = stack._spawn(
        "worker",
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "60"],
        tmp_path,
    )
    try:
        # Started, and idle: it ran a first task (found by its first look or woken for it), then
        # looked again, found nothing, and went to sleep for a minute.
        first = send_away_reply.enqueue(123456789)  # a task for nothing: done at once
        _wait_for(
            lambda: DBTaskResult.objects.get(id=first.id).status == "SUCCESSFUL", 20, "the worker to start", stack
        )
        assert worker.poll() is None, stack.output()
        visitor, _raw = identity.start_visitor(workspace)
        conversation = actions.post_customer_message(visitor, "Anyone?").conversation
        _wait_for(
            conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists,
            5,
            "the away reply (the worker slept through the NOTIFY)",
            stack,
        )
    finally:
        stack.stop()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_deferred_task_is_found_by_the_poll_once_it_is_due(workspace, tmp_path, settings):
    """The away reply waits AWAY_REPLY_DELAY_SECONDS and wakes nobody: the worker's poll finds it."""
    AISettings.objects.create(workspace=workspace, enabled=False)
    settings.AWAY_REPLY_DELAY_SECONDS = 1
    stack = Stack(env=stack_env())
    stack.start_worker(tmp_path, interval=0.5)
    try:
        visitor, _raw = identity.start_visitor(workspace)
        message = actions.post_customer_message(visitor, "Anyone?")
        conversation = message.conversation
        _wait_for(conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists, 10, "the away reply", stack)
        reply = conversation.messages.get(author_kind=Message.Author.SYSTEM)
        assert reply.created_at - message.created_at >= timedelta(seconds=1)
    finally:
        stack.stop()


# ---------------------------------------------------------------- one loop per queue


@pytest.fixture
def held_embeddings():
    """The embeddings stub, holding every request for a text with "ZEBRA" until released."""
    stub = EmbeddingStub().start()
    stub.hold("ZEBRA")
    yield stub
    stub.stop()


def _embedding_worker_env(stub: EmbeddingStub) -> dict:
    # The server's own provider from the environment (not a workspace's setting): trusted.
    env = stack_env()
    env.update(
        EMBEDDING_PROVIDER="openai",
        OPENAI_BASE_URL=stub.url,
        OPENAI_API_KEY="sk-test",
        OPENAI_EMBEDDING_MODEL="stub-embedding",
        OPENAI_MAX_RETRIES="0",
        OPENAI_TIMEOUT="60",
    )
    return env


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_an_ai_answer_is_posted_while_another_workspaces_indexing_is_still_running(
    workspace, other_workspace, held_embeddings, tmp_path
):
    FAQ.objects.create(
        workspace=other_workspace, question="How do I reset my password?", answer="Click 'Forgot password'."
    )
    index_faq.call(FAQ.objects.get(workspace=other_workspace).pk)  # indexed already (full text)
    stack = Stack(env=_embedding_worker_env(held_embeddings))
    stack.start_worker(tmp_path, interval=60)  # each queue's loop is woken by its NOTIFY, not by a poll
    try:
        article = knowledge.create_article(workspace, title="Zoo guide", body="ZEBRA feeding times are at noon.")
        _wait_for(held_embeddings.held.is_set, 20, "the worker to start indexing the article", stack)

        visitor, _raw = identity.start_visitor(other_workspace)
        question = actions.post_customer_message(visitor, "How do I reset my password?")
        answered = Message.objects.filter(conversation_id=question.conversation_id, author_kind=Message.Author.AI)
        _wait_for(answered.exists, 15, "the AI answer while the indexing task runs", stack)
        assert answered.get().body == "Click 'Forgot password'."
        assert Article.objects.get(pk=article.pk).status == IndexStatus.PROCESSING  # still being indexed

        held_embeddings.release()
        _wait_for(
            lambda: Article.objects.get(pk=article.pk).status == IndexStatus.READY, 15, "the indexing to finish", stack
        )
    finally:
        held_embeddings.release()
        stack.stop()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_finishes_its_running_task_then_exits_cleanly(workspace, held_embeddings, tmp_path):
    stack = Stack(env=_embedding_worker_env(held_embeddings))
    worker = stack.start_worker(tmp_path)
    try:
        article = knowledge.create_article(workspace, title="Zoo guide", body="ZEBRA feeding times are at noon.")
        _wait_for(held_embeddings.held.is_set, 20, "the worker to start indexing the article", stack)
        worker.send_signal(signal.SIGTERM)
        assert worker.poll() is None  # it waits for the task
        held_embeddings.release()
        _wait_for(lambda: worker.poll() is not None, 15, "the worker to exit", stack)
        assert worker.returncode == 0, stack.output()
        assert Article.objects.get(pk=article.pk).status == IndexStatus.READY
        assert DBTaskResult.objects.get(task_path="helpdesk.knowledge.tasks.index_article").status == "SUCCESSFUL"
    finally:
        held_embeddings.release()
        stack.stop()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_an_idle_worker_exits_at_once_on_sigterm(db, tmp_path):
    stack = Stack(env=stack_env())
    worker = stack.start_worker(tmp_path)
    try:
        done = send_away_reply.enqueue(123456789)  # a task for nothing: done at once, and the worker is idle
        _wait_for(lambda: DBTaskResult.objects.get(id=done.id).status == "SUCCESSFUL", 20, "the worker to start", stack)
        assert worker.poll() is None, stack.output()
        worker.send_signal(signal.SIGTERM)
        _wait_for(lambda: worker.poll() is not None, 5, "the worker to exit", stack)
        assert worker.returncode == 0, stack.output()
    finally:
        stack.stop()
