from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "helpdesk.ai"
    label = "ai"
