from django.urls import path

from helpdesk.widget import views

app_name = "widget"
urlpatterns = [
    path("chat", views.chat, name="chat"),
    path("chat/api/visitor", views.start, name="start"),
    path("chat/api/thread", views.thread, name="thread"),
    path("chat/api/messages", views.send_message, name="send"),
    path("chat/api/identify", views.identify, name="identify"),
    path("chat/api/reset", views.forget, name="reset"),
    path("chat/api/email", views.give_email, name="email"),
    path("chat/api/resume", views.open_resume_link, name="open_resume"),
    path("chat/api/seen", views.seen, name="seen"),
    path("chat/api/files", views.send_files, name="files"),
    path("files/<str:token>/<str:name>", views.attachment, name="attachment"),
    path("chat/resume/<str:code>", views.resume_page, name="resume"),
    path("chat/api/messages/<int:pk>/feedback", views.feedback, name="feedback"),
    path("help/<slug:public_id>/", views.help_article, name="article"),
    path("embed.js", views.embed_js, name="embed"),
]
