"""The worker: woken at once by NOTIFY, and recovering tasks of workers that died."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions
from helpdesk.conversations.models import Message
from helpdesk.conversations.tasks import send_away_reply
from helpdesk.ops.worker import _heartbeat_key, recover_orphans
from tests.processes import Stack, stack_env


def _queued(**fields) -> DBTaskResult:
    result = send_away_reply.enqueue(1)
    DBTaskResult.objects.filter(id=result.id).update(**fields)
    return DBTaskResult.objects.get(id=result.id)


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


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_an_idle_worker_wakes_on_notify_not_on_its_poll(workspace, tmp_path, settings):
    AISettings.objects.create(workspace=workspace, enabled=False)
    settings.AWAY_REPLY_DELAY_SECONDS = 0  # a task that is ready at once: enqueued with a NOTIFY
    stack = Stack(env=stack_env())
    worker = stack._spawn(
        "worker", [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "60"], tmp_path
    )
    try:
        time.sleep(2.5)  # let it start, look once, and go to sleep for a minute
        assert worker.poll() is None, stack.output()
        visitor, _raw = actions.start_visitor(workspace)
        conversation = actions.post_customer_message(visitor, "Anyone?").conversation
        deadline = time.monotonic() + 5
        while not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists():
            assert time.monotonic() < deadline, "the worker slept through the NOTIFY\n" + stack.output()
            time.sleep(0.05)
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
        visitor, _raw = actions.start_visitor(workspace)
        message = actions.post_customer_message(visitor, "Anyone?")
        conversation = message.conversation
        deadline = time.monotonic() + 10
        while not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists():
            assert time.monotonic() < deadline, "the deferred away reply never ran\n" + stack.output()
            time.sleep(0.05)
        reply = conversation.messages.get(author_kind=Message.Author.SYSTEM)
        assert reply.created_at - message.created_at >= timedelta(seconds=1)
    finally:
        stack.stop()
