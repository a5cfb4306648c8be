from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "helpdesk.ai"
    label = "ai"

    def ready(self) -> None:
        # Here, not at the top: the triggers import the models, which load only now.
        from helpdesk.ai import triggers

        triggers.register()
