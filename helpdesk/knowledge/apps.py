from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "helpdesk.knowledge"
    label = "knowledge"
