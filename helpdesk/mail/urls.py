from django.urls import path

from helpdesk.mail import views

app_name = "mail"
urlpatterns = [
    path("settings/email/", views.settings_page, name="settings"),
    path("settings/email/kept/<int:pk>/", views.kept, name="kept"),
    path("settings/email/mailbox", views.save_mailbox, name="save_mailbox"),
    path("settings/email/mailbox/test", views.test_mailbox, name="test_mailbox"),
    path("settings/email/mailbox/remove", views.remove_mailbox, name="remove_mailbox"),
    path("inbox/messages/<int:message_id>/email", views.original, name="original"),
]
