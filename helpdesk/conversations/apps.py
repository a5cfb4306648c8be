from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "helpdesk.conversations"
    label = "conversations"

    def ready(self) -> None:
        # Here, not at the top: the tasks module imports the models, which load only now.
        from helpdesk.conversations import hooks, tasks

        hooks.on_unanswered_conversation(tasks.enqueue_away_reply)
