from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from helpdesk.accounts.models import Membership, User
from helpdesk.team.models import Invitation
from helpdesk.workspace.models import Workspace


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@example.com"})
    )
    role = forms.ChoiceField(
        choices=Invitation.ROLES, initial=Membership.Role.AGENT, help_text="Admins manage settings and the team."
    )

    def __init__(self, workspace: Workspace, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        member = Membership.objects.filter(workspace=self.workspace, user__email__iexact=email).first()
        if member is not None and member.is_active:
            raise forms.ValidationError(f"{email} is already a member of this workspace.")
        if member is not None:
            raise forms.ValidationError(f"{email} is a deactivated member: reactivate them in the list below instead.")
        if Invitation.objects.pending().filter(workspace=self.workspace, email__iexact=email).exists():
            raise forms.ValidationError(f"{email} already has a pending invitation: resend it from the list below.")
        return email


class AcceptForm(forms.Form):
    """A new person's name and password, to accept an invitation."""

    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        strip=False, max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        label="Password again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, invitation: Invitation, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Tell your team what to call you.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Django's Form.clean returns cleaned_data
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ.")
        elif password:
            person = User(email=self.invitation.email, name=data.get("name", ""))
            try:
                password_validation.validate_password(password, person)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data
