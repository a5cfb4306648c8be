from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from helpdesk.accounts.actions import LOGIN_EMAIL_SCOPE
from helpdesk.lib import ratelimit


class EmailAuthenticationForm(AuthenticationForm):
    """Sign-in by email address, with a lockout against guessing: after LOGIN_FAILURE_LIMIT
    failed attempts for one address (or LOGIN_FAILURE_LIMIT_PER_IP from one IP address), further
    attempts are refused without checking the password until LOGIN_LOCKOUT_SECONDS have passed
    since the first failure. A successful sign-in, or a completed password reset, clears the
    address's count."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    locked_out = False

    def clean_username(self) -> str:
        # Addresses are stored in lower case (UserManager); match them whatever the case typed.
        return self.cleaned_data["username"].lower()

    def _keys(self) -> list[tuple[str, str, int]]:
        ip = ratelimit.client_ip(self.request) if self.request is not None else "unknown"
        keys = [("login-ip", ip, settings.LOGIN_FAILURE_LIMIT_PER_IP)]
        if self.cleaned_data.get("username"):
            keys.append((LOGIN_EMAIL_SCOPE, self.cleaned_data["username"], settings.LOGIN_FAILURE_LIMIT))
        return keys

    def clean(self):
        keys = self._keys()
        if any(ratelimit.failures(scope, key) >= limit for scope, key, limit in keys):
            self.locked_out = True
            minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
            raise forms.ValidationError(
                f"Too many failed sign-ins. Try again in {minutes} minutes, or reset your password.", code="locked_out"
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            for scope, key, _limit in keys:
                ratelimit.record_failure(scope, key, settings.LOGIN_LOCKOUT_SECONDS)
            raise
        if self.cleaned_data.get("username"):
            ratelimit.clear_failures(LOGIN_EMAIL_SCOPE, self.cleaned_data["username"])
        return cleaned
