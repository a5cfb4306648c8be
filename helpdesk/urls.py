from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import include, path


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", lambda request: redirect("inbox:index")),
    path("healthz", healthz),
    path("accounts/", include("helpdesk.accounts.urls")),
    path("inbox/", include("helpdesk.inbox.urls")),
    path("settings/", include("helpdesk.workspace.urls")),
    path("admin/", admin.site.urls),
    path("", include("helpdesk.widget.urls")),
]
