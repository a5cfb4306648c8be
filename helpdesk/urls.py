from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from helpdesk.team import views as team_views

# Operators sign in to the admin through the site's own sign-in page, which counts failures.
admin.site.login = login_required(admin.site.login)


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", lambda request: redirect("inbox:index")),
    path("healthz", healthz),
    path("accounts/", include("helpdesk.accounts.urls")),
    path("inbox/", include("helpdesk.inbox.urls")),
    path("settings/", include("helpdesk.workspace.urls")),
    path("settings/ai/", include("helpdesk.ai.urls")),
    path("settings/knowledge/", include("helpdesk.knowledge.urls")),
    path("settings/team/", include("helpdesk.team.urls")),
    path("invite/<str:token>/", team_views.accept_invite, name="accept_invite"),
    path("admin/", admin.site.urls),
    path("", include("helpdesk.widget.urls")),
]
