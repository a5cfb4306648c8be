from django.urls import path

from helpdesk.workspace import views

app_name = "workspace"
urlpatterns = [
    path("", views.index, name="index"),
    path("widget/", views.widget, name="widget"),
    path("widget/regenerate-token", views.regenerate_token, name="regenerate_token"),
    path("widget/regenerate-secret", views.regenerate_secret, name="regenerate_secret"),
    path("activity/", views.activity_log, name="activity"),
]
