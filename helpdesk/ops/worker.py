"""The background worker: django-tasks-db's worker, woken at once by PostgreSQL NOTIFY, and
recovering the tasks of workers that died mid-task.

- Enqueueing a task sends `NOTIFY helpdesk_tasks` (delivered when the enqueuing transaction
  commits), so an idle worker starts the task within milliseconds instead of at its next
  poll. Polling stays as a safety net (`--interval`).
- Every worker keeps a heartbeat in the cache (Redis). A task left RUNNING by a worker whose
  heartbeat stopped (killed, machine lost) is made READY again and runs once more. Tasks are
  written to be safe to re-run: they take IDs, re-read, and check what is already done.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.db.utils import OperationalError
from django.dispatch import receiver
from django.utils import timezone
from django_tasks.signals import task_enqueued
from django_tasks_db.management.commands.db_worker import Worker as BaseWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception


logger = logging.getLogger("helpdesk.worker")

CHANNEL = "helpdesk_tasks"
HEARTBEAT_SECONDS = 1
SWEEP_SECONDS = 2


def dead_after() -> int:
    return settings.WORKER_DEAD_AFTER_SECONDS


@receiver(task_enqueued)
def notify_workers(sender, task_result, **kwargs) -> None:
    run_after = task_result.task.run_after
    if run_after is not None and run_after > timezone.now():
        return  # not ready yet: a worker finds it when it polls
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")
    except Exception:  # the task is queued all the same; a worker finds it when it polls
        logger.exception("NOTIFY failed")


def _heartbeat_key(worker_id: str) -> str:
    return f"worker-alive:{worker_id}"


def recover_orphans() -> int:
    """Make READY again the RUNNING tasks whose worker has stopped beating."""
    cutoff = timezone.now() - timedelta(seconds=dead_after())
    running = DBTaskResult.objects.filter(status="RUNNING", started_at__lt=cutoff).only("id", "worker_ids")
    recovered = 0
    for result in running:
        worker_id = result.worker_ids[-1] if result.worker_ids else ""
        if worker_id and cache.get(_heartbeat_key(worker_id)):
            continue
        recovered += DBTaskResult.objects.filter(id=result.id, status="RUNNING").update(status="READY", started_at=None)
        logger.warning("re-queued task %s of stopped worker %s", result.id, worker_id or "?")
    return recovered


class Worker(BaseWorker):
    _listener: psycopg.Connection | None = None
    _last_sweep = 0.0

    def _listen(self) -> psycopg.Connection | None:
        if self._listener is None or self._listener.closed:
            try:
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                params.pop("context", None)
                self._listener = psycopg.connect(**params, autocommit=True)
                self._listener.execute(f"LISTEN {CHANNEL}")
            except Exception:
                logger.exception("LISTEN failed; polling every %.1f s", self.interval)
                self._listener = None
        return self._listener

    def _wait(self) -> None:
        listener = self._listen()
        if listener is None:
            time.sleep(self.interval)
            return
        try:
            for _ in listener.notifies(timeout=self.interval, stop_after=1):
                pass
        except psycopg.Error:
            self._listener = None
            time.sleep(min(self.interval, 1))

    def _beat_forever(self) -> None:
        # A thread of its own, so that a long task keeps its worker alive.
        while True:
            try:
                cache.set(_heartbeat_key(self.worker_id), 1, timeout=dead_after())
            except Exception:
                logger.exception("heartbeat failed")
            time.sleep(HEARTBEAT_SECONDS)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep >= SWEEP_SECONDS:
            try:
                recover_orphans()
            except Exception:
                logger.exception("recovery sweep failed")
            self._last_sweep = now

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        threading.Thread(target=self._beat_forever, name="heartbeat", daemon=True).start()
        # Import the heavy task modules now, not inside the first customer's reply.
        import helpdesk.ai.agent  # noqa: F401
        import helpdesk.ai.provider  # noqa: F401
        import helpdesk.knowledge.retrieval  # noqa: F401
        from helpdesk.knowledge import embeddings

        if settings.EMBEDDING_PROVIDER == "local":
            try:
                embeddings.embed_query("warm-up")  # loads the local model (seconds) before any customer waits
            except Exception:
                logger.exception("could not load the local embedding model")
        self._listen()
        while self.running:
            close_old_connections()
            self._housekeeping()
            tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
            if not self.process_all_queues:
                tasks = tasks.filter(queue_name__in=self.queue_names)
            if self.excluded_queue_names:
                tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
            with exclusive_transaction(tasks.db):
                try:
                    task_result = tasks.get_locked()
                    if task_result is not None:
                        task_result.claim(self.worker_id)
                except OperationalError as e:
                    if not is_locked_database_exception(e):
                        raise
                    task_result = None
            if task_result is not None:
                self.run_task(task_result)
            elif self.batch:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            close_old_connections()
            if self.running and task_result is None:
                self._wait()
