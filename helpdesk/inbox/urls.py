from django.urls import path

from helpdesk.inbox import views

app_name = "inbox"
urlpatterns = [
    path("", views.index, name="index"),
    path("counts", views.counts, name="counts"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/<int:pk>/thread", views.thread, name="thread"),
    path("c/<int:pk>/reply", views.reply, name="reply"),
    path("c/<int:pk>/status", views.set_status, name="status"),
    path("c/<int:pk>/priority", views.set_priority, name="priority"),
    path("c/<int:pk>/assign", views.assign, name="assign"),
    path("c/<int:pk>/suggest", views.suggest, name="suggest"),
    path("c/<int:pk>/hand-back", views.hand_back, name="hand_back"),
    path("presence", views.set_presence, name="presence"),
    path("notifications", views.set_notifications, name="notifications"),
    path("notifications/email", views.set_email_notifications, name="email_notifications"),
    path("canned", views.canned_responses, name="canned"),
    path("notices/ai-mode/dismiss", views.dismiss_ai_notice, name="dismiss_ai_notice"),
]
