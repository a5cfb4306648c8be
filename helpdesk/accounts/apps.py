from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "helpdesk.accounts"
    label = "accounts"
