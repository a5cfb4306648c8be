from django.urls import path

from helpdesk.canned import views

app_name = "canned"
urlpatterns = [
    path("", views.index, name="list"),
    path("<int:pk>/", views.edit, name="edit"),
    path("<int:pk>/delete", views.delete, name="delete"),
]
