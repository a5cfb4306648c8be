"""The demo that `make run` seeds: created once, then left to whoever uses it. Restarting must
not undo a password change (nor anything else), and the "Login:" line must not claim a
password that no longer works."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from helpdesk.accounts.models import Membership, User
from helpdesk.knowledge.models import FAQ, Article
from helpdesk.ops import demo
from helpdesk.workspace.models import Workspace

NEW_PASSWORD = "my-own-secret-42"


@pytest.fixture
def run_dir(settings, tmp_path: Path) -> Path:
    settings.RUN_DIR = tmp_path / "run"
    return settings.RUN_DIR


def signs_in(password: str) -> bool:
    response = Client().post(reverse("accounts:login"), {"username": demo.DEMO_EMAIL, "password": password})
    return response.status_code == 302


def change_password(new: str) -> None:
    """What the owner does with `manage.py changepassword` (or a reset link)."""
    user = User.objects.get(email=demo.DEMO_EMAIL)
    user.set_password(new)
    user.save()


def test_it_creates_the_workspace_and_its_owner_and_prints_a_password_that_works(db, run_dir):
    workspace = demo.seed()
    password = (run_dir / "demo_password").read_text()
    assert workspace.name == demo.DEMO_WORKSPACE
    assert Membership.objects.get(user__email=demo.DEMO_EMAIL, workspace=workspace).role == Membership.Role.OWNER
    assert demo.login() == f"{demo.DEMO_EMAIL} / {password}"
    assert signs_in(password)
    assert (run_dir / "demo_password").stat().st_mode & 0o077 == 0


def test_a_changed_password_survives_seeding_again_with_the_password_file_there(db, run_dir):
    demo.seed()
    old = (run_dir / "demo_password").read_text()
    change_password(NEW_PASSWORD)

    demo.seed()

    assert signs_in(NEW_PASSWORD)
    assert not signs_in(old)
    line = demo.login()
    assert old not in line
    assert line.startswith(f"{demo.DEMO_EMAIL} / (the password you set; reset it with: ")
    assert line.endswith(f"manage.py changepassword {demo.DEMO_EMAIL})")


def test_a_changed_password_survives_seeding_again_without_the_password_file(db, run_dir):
    demo.seed()
    old = (run_dir / "demo_password").read_text()
    change_password(NEW_PASSWORD)
    (run_dir / "demo_password").unlink()  # a fresh .run/, as after `make clean`

    demo.seed()

    assert signs_in(NEW_PASSWORD)
    assert not signs_in(old)
    assert not (run_dir / "demo_password").exists()  # no new password was invented
    assert "the password you set" in demo.login()


def test_seeding_again_leaves_everything_the_owner_changed_alone(db, run_dir):
    workspace = demo.seed()
    user = User.objects.get(email=demo.DEMO_EMAIL)
    user.name = "Grace Hopper"
    user.save()
    Membership.objects.filter(user=user).update(role=Membership.Role.ADMIN)
    Workspace.objects.filter(pk=workspace.pk).update(name="Hopper Ltd")
    Article.objects.filter(workspace=workspace).delete()
    FAQ.objects.filter(workspace=workspace).delete()
    stored = User.objects.get(pk=user.pk).password

    again = demo.seed()

    user.refresh_from_db()
    assert (user.name, user.password) == ("Grace Hopper", stored)
    assert Membership.objects.get(user=user).role == Membership.Role.ADMIN
    assert again.pk == workspace.pk and again.name == "Hopper Ltd"
    assert Workspace.objects.count() == 1  # no second "Acme Inc"
    assert not Article.objects.filter(workspace=workspace).exists()
    assert not FAQ.objects.filter(workspace=workspace).exists()


def test_a_deleted_demo_account_is_not_created_again(db, run_dir):
    workspace = demo.seed()
    User.objects.filter(email=demo.DEMO_EMAIL).delete()

    assert demo.seed().pk == workspace.pk
    assert not User.objects.filter(email=demo.DEMO_EMAIL).exists()
    assert demo.login().startswith(f"{demo.DEMO_EMAIL} no longer exists; add an account with: ")


def test_checking_the_printed_password_does_not_rehash_it(db, run_dir, settings):
    """Checking through the account would upgrade a hash made by an older hasher (and save it)."""
    demo.seed()
    password = (run_dir / "demo_password").read_text()
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    older = make_password(password, hasher="md5")
    User.objects.filter(email=demo.DEMO_EMAIL).update(password=older)

    demo.seed()
    assert demo.login() == f"{demo.DEMO_EMAIL} / {password}"

    assert User.objects.get(email=demo.DEMO_EMAIL).password == older


def test_seed_demo_says_the_password_only_while_it_works(db, run_dir):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    password = (run_dir / "demo_password").read_text()
    assert f"Login:     {demo.DEMO_EMAIL} / {password}\n" in out.getvalue()

    change_password(NEW_PASSWORD)
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert password not in out.getvalue()
    assert f"Login:     {demo.DEMO_EMAIL} / (the password you set; reset it with: " in out.getvalue()
    assert signs_in(NEW_PASSWORD)


def test_the_demo_site_is_laid_out_for_the_phone_it_is_opened_on(db):
    workspace = Workspace.objects.create(name="Acme")
    page = demo.host_page(workspace, "http://127.0.0.1:8000")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
