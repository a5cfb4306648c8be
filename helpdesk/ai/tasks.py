"""AI background tasks. They take IDs and re-read; re-running one after a crash is safe."""

from django_tasks import task

from helpdesk.ai import agent


@task()
def answer(message_id: int) -> None:
    agent.answer(message_id)


@task()
def suggest(conversation_id: int, user_id: int) -> None:
    agent.suggest(conversation_id, user_id)
