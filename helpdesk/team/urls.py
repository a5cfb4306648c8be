from django.urls import path

from helpdesk.team import views

app_name = "team"
urlpatterns = [
    path("", views.members, name="members"),
    path("invite", views.invite, name="invite"),
    path("invitations/<int:pk>/resend", views.resend_invitation, name="resend_invitation"),
    path("invitations/<int:pk>/revoke", views.revoke_invitation, name="revoke_invitation"),
    path("members/<int:pk>/role", views.set_role, name="set_role"),
    path("members/<int:pk>/deactivate", views.deactivate, name="deactivate"),
    path("members/<int:pk>/reactivate", views.reactivate, name="reactivate"),
]
