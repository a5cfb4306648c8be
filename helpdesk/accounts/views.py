"""Sign-in: Django's LoginView, answering 429 while an address or IP is locked out. Password
resets: Django's views, rate-limited, the email sent by the worker (helpdesk.accounts.actions)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse, HttpResponseRedirect

from helpdesk.accounts import actions
from helpdesk.lib import ratelimit


class LoginView(auth_views.LoginView):
    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "locked_out", False):
            response.status_code = 429
        return response


class PasswordResetView(auth_views.PasswordResetView):
    TOO_MANY = "Too many password reset requests from your network. Please try again in an hour."

    def post(self, request, *args, **kwargs) -> HttpResponse:
        if not actions.reset_allowed_from(ratelimit.client_ip(request)):
            form = self.get_form()
            form.is_valid()
            form.add_error(None, self.TOO_MANY)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        actions.request_password_reset(form.cleaned_data["email"], self.request.build_absolute_uri("/"))
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        actions.password_was_reset(form.user)
        return response
