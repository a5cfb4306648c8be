"""Sign-in: Django's LoginView, answering 429 while an address or IP is locked out."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse


class LoginView(auth_views.LoginView):
    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "locked_out", False):
            response.status_code = 429
        return response
