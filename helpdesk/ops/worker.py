"""The background worker: django-tasks-db's worker, woken at once by PostgreSQL NOTIFY,
recovering the tasks of workers that died mid-task, and serving each queue on its own.

- One loop per queue, each in a thread of its own with its own database connections
  (settings.TASKS lists the queues; `db_worker` serves them all unless `--queue-name` says
  otherwise): a long task of one queue (indexing a large document, on "knowledge") never
  holds up the tasks of another (AI answers, on "default"). Within a queue, tasks run one at
  a time; run more worker processes for more at once.
- Enqueueing a task sends `NOTIFY helpdesk_tasks, '<queue>'` (delivered when the enqueuing
  transaction commits), so the idle loop of that queue starts it within milliseconds
  instead of at its next poll. Polling stays as a safety net (`--interval`).
- Every worker process keeps a heartbeat in the cache (Redis). A task left RUNNING by a
  worker whose heartbeat stopped (killed, machine lost) is made READY again and runs once
  more. Tasks are written to be safe to re-run: they take IDs, re-read, and check what is
  already done. A loop that fails stops its whole process (exit code 1), so that the process
  manager restarts it and the tasks it held are recovered.
- Every PRESENCE_SWEEP_SECONDS a thread of its own pushes to the open widgets of any workspace
  whose availability changed with nobody writing (an agent's presence ran out, business hours
  began or ended): helpdesk.accounts.presence.sweep. In the worker rather than in the web
  processes: it needs no socket of its own (the push goes through the channel layer to every
  web process), a busy queue does not hold it up, and however many workers run it, the
  compare-and-set on Workspace.widget_availability pushes each change once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, connections
from django.db.utils import DatabaseError, OperationalError
from django.dispatch import receiver
from django.utils import timezone
from django_tasks.signals import task_enqueued
from django_tasks_db.management.commands.db_worker import Worker as BaseWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

# The task modules' heavy imports (the openai client, retrieval), loaded with the worker rather
# than inside the first customer's reply.
from helpdesk.accounts import presence
from helpdesk.ai import agent, provider  # noqa: F401
from helpdesk.knowledge import embeddings, retrieval  # noqa: F401
from helpdesk.mail import imap, notifications

logger = logging.getLogger("helpdesk.worker")

CHANNEL = "helpdesk_tasks"
HEARTBEAT_SECONDS = 1
SWEEP_SECONDS = 2
PRESENCE_SWEEP_SECONDS = 2


def dead_after() -> int:
    return settings.WORKER_DEAD_AFTER_SECONDS


@receiver(task_enqueued)
def notify_workers(sender, task_result, **kwargs) -> None:
    run_after = task_result.task.run_after
    if run_after is not None and run_after > timezone.now():
        return  # not ready yet: a worker finds it when it polls
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, task_result.task.queue_name])
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
    """The worker process: its heartbeat, the recovery sweep, and one Loop per queue (in the
    main thread when there is only one). Signals are handled as django-tasks-db does: the
    first stops every loop after its current task (at once when none is running one), the
    second ends the process."""

    loops: list[Loop] = []
    _last_sweep = 0.0

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        self._sweep_lock = threading.Lock()
        threading.Thread(target=self._beat_forever, name="heartbeat", daemon=True).start()
        threading.Thread(target=self._sweep_presence_forever, name="presence", daemon=True).start()
        # The workspaces' mailboxes, each watched by one worker of all (helpdesk.mail.imap).
        threading.Thread(target=imap.watch_forever, args=(threading.Event(),), name="mailboxes", daemon=True).start()
        threading.Thread(target=self._notify_agents_forever, name="agent-emails", daemon=True).start()
        if settings.EMBEDDING_PROVIDER == "local":
            try:
                embeddings.embed_query("warm-up")  # loads the local model (seconds) before any customer waits
            except Exception:
                logger.exception("could not load the local embedding model")
        if self.process_all_queues or len(self.queue_names) == 1:
            self.loops = [Loop(self, self.queue_names)]
        else:
            self.loops = [Loop(self, [name]) for name in dict.fromkeys(self.queue_names)]
        if len(self.loops) == 1:
            self.loops[0].run()
            return
        self._failure: BaseException | None = None
        threads = [
            threading.Thread(target=self._serve, args=(loop,), name=f"queue-{loop.queue_names[0]}", daemon=True)
            for loop in self.loops
        ]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.5)
                if self._failure is not None:
                    # The other loops' tasks stay RUNNING: once this process's heartbeat has
                    # stopped, the recovery sweep of another worker (or of the restarted one)
                    # runs them again.
                    raise RuntimeError("a worker loop failed; stopping the worker") from self._failure

    def _serve(self, loop: Loop) -> None:
        try:
            loop.run()
        except BaseException as exc:
            logger.exception("worker loop of queue %s failed", ",".join(loop.queue_names))
            self._failure = exc
        finally:
            connections.close_all()  # this thread's own connections

    def shutdown(self, signum, frame) -> None:
        self.running_task = any(loop.running_task for loop in self.loops)
        super().shutdown(signum, frame)

    def _beat_forever(self) -> None:
        # A thread of its own, so that a long task keeps its worker alive.
        while True:
            try:
                cache.set(_heartbeat_key(self.worker_id), 1, timeout=dead_after())
            except Exception:
                logger.exception("heartbeat failed")
            time.sleep(HEARTBEAT_SECONDS)

    def _sweep_presence_forever(self) -> None:
        # A thread of its own (with its own database connection), so that a long task does not
        # leave the widgets saying "online" after the last agent left.
        while True:
            time.sleep(PRESENCE_SWEEP_SECONDS)
            try:
                presence.sweep()
            except Exception:
                logger.exception("presence sweep failed")
            finally:
                connections.close_all()  # this thread's own: back to the pool until the next sweep

    def _notify_agents_forever(self) -> None:
        # Agents away from the inbox: an email of what waits for them (helpdesk.mail.notifications).
        while True:
            time.sleep(settings.NOTIFY_SWEEP_SECONDS)
            try:
                notifications.sweep()
            except Exception:
                logger.exception("agent notification sweep failed")
            finally:
                connections.close_all()

    def housekeeping(self) -> None:
        """The recovery sweep, every SWEEP_SECONDS, by whichever loop comes first."""
        with self._sweep_lock:
            now = time.monotonic()
            if now - self._last_sweep < SWEEP_SECONDS:
                return
            self._last_sweep = now
        try:
            recover_orphans()
        except Exception:
            logger.exception("recovery sweep failed")


class Loop(BaseWorker):
    """Claims and runs the tasks of its queues, one at a time, woken by NOTIFY. Stops when its
    worker process stops running (and, with --batch or --max-tasks, on its own)."""

    _listener: psycopg.Connection | None = None

    def __init__(self, process: Worker, queue_names: list[str]):
        super().__init__(
            queue_names=queue_names,
            interval=process.interval,
            batch=process.batch,
            backend_name=process.backend_name,
            startup_delay=False,
            max_tasks=process.max_tasks,
            worker_id=process.worker_id,
            excluded_queue_names=process.excluded_queue_names,
        )
        self.process = process

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

    def _serves(self, queue_name: str) -> bool:
        if not queue_name:
            return True  # a NOTIFY without a queue wakes every loop
        if queue_name in self.excluded_queue_names:
            return False
        return self.process_all_queues or queue_name in self.queue_names

    def _wait(self) -> None:
        """Until a task of this loop's queues is enqueued, or `interval` has passed."""
        listener = self._listen()
        if listener is None:
            time.sleep(self.interval)
            return
        try:
            for notify in listener.notifies(timeout=self.interval):
                if self._serves(notify.payload):
                    break
        except psycopg.Error:
            self._listener = None
            time.sleep(min(self.interval, 1))

    def run(self) -> None:
        self._listen()
        try:
            self._run()
        finally:
            if self._listener is not None:
                self._listener.close()

    def run_task_kept(self, task_result: DBTaskResult) -> None:
        """Run a task; one whose row was deleted while it ran (an operator's cleanup, a test's
        flush) cannot record its outcome, which is no reason for the loop to stop."""
        try:
            self.run_task(task_result)
        except DatabaseError:
            if DBTaskResult.objects.filter(pk=task_result.pk).exists():
                raise
            logger.warning("task %s was deleted while it ran; its outcome is not recorded", task_result.pk)

    def _run(self) -> None:
        while self.process.running:
            close_old_connections()
            self.process.housekeeping()
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
                self.run_task_kept(task_result)
            elif self.batch:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            close_old_connections()
            if self.process.running and task_result is None:
                self._wait()
