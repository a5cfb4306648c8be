from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import include, path, reverse

from helpdesk.team import views as team_views

# Operators sign in to the admin through the site's own sign-in page, which counts failures:
# the admin's own form never checks a password (a POST to it goes to the sign-in page instead).
# The admin is for the server's operators (staff accounts, made with `manage.py
# createsuperuser`), never for a workspace's owners: it shows and changes every workspace. A
# signed-in person who is not staff is told so, and how an operator gets in.
_admin_login = admin.site.login


def admin_login(request, extra_context=None):
    if not request.user.is_authenticated or request.method != "GET":
        return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
    if not request.user.is_staff:
        return render(request, "accounts/operators_only.html", status=403)
    return _admin_login(request, extra_context)


admin.site.login = admin_login  # type: ignore[method-assign]  # this one site's view, replaced on purpose


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
    path("settings/team/canned/", include("helpdesk.canned.urls")),
    path("settings/team/", include("helpdesk.team.urls")),
    path("", include("helpdesk.mail.urls")),
    path("invite/<str:token>/", team_views.accept_invite, name="accept_invite"),
    path("admin/", admin.site.urls),
    path("", include("helpdesk.mail.webhooks")),
    path("", include("helpdesk.widget.urls")),
]
