"""Settings come from the environment through helpers that fail loudly on bad values."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk import settings as helpdesk_settings
from helpdesk.lib.env import env_bool, env_float, env_int, env_list, env_str, env_url

NAME = "HELPDESK_TEST_SETTING"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)

    def set_to(value: str) -> None:
        monkeypatch.setenv(NAME, value)

    return set_to


def test_unset_values_give_the_defaults(env):
    assert env_str(NAME, "fallback") == "fallback"
    assert env_bool(NAME, True) is True
    assert env_int(NAME, 7) == 7
    assert env_float(NAME, 1.5) == 1.5
    assert env_list(NAME, ["a"]) == ["a"]
    assert env_url(NAME, schemes=("https",)) == ""


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_it_reads_booleans(env, raw, value):
    env(raw)
    assert env_bool(NAME, not value) is value


@pytest.mark.parametrize("raw", ["maybe", "2", "ture", "y"])
def test_it_fails_loudly_on_a_bad_boolean(env, raw):
    env(raw)
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_bool(NAME, False)


def test_it_reads_integers(env):
    env(" 42 ")
    assert env_int(NAME, 0) == 42
    env("")
    assert env_int(NAME, 5) == 5


@pytest.mark.parametrize("raw", ["forty", "4.5", "1e3", "10s"])
def test_it_fails_loudly_on_a_bad_integer(env, raw):
    env(raw)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be an integer"):
        env_int(NAME, 0)


def test_it_fails_loudly_on_an_integer_below_the_minimum(env):
    env("5")
    assert env_int(NAME, 0, minimum=5) == 5
    env("4")
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be >= 5"):
        env_int(NAME, 0, minimum=5)


def test_it_reads_numbers_and_fails_loudly_on_bad_ones(env):
    env("2.5")
    assert env_float(NAME, 0.0) == 2.5
    env("fast")
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be a number"):
        env_float(NAME, 0.0)
    env("0.01")
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be >= 0.1"):
        env_float(NAME, 1.0, minimum=0.1)


def test_it_reads_comma_separated_lists(env):
    env(" a.test, b.test ,,")
    assert env_list(NAME) == ["a.test", "b.test"]


@pytest.mark.parametrize(
    ("raw", "schemes"),
    [
        ("postgres://u:p@db.internal:5432/helpdesk", ("postgres", "postgresql")),
        ("redis://localhost:6379/0", ("redis", "rediss", "unix")),
        ("unix:///run/redis.sock", ("redis", "unix")),
        ("https://api.example.test/v1", ("http", "https")),
    ],
)
def test_it_reads_urls(env, raw, schemes):
    env(f"  {raw}  ")
    assert env_url(NAME, schemes=schemes) == raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u:p@db/helpdesk", "must be a URL starting with postgres:// or postgresql://"),
        ("localhost:5432/helpdesk", "must be a URL starting with"),
        ("db.internal", "must be a URL starting with"),
        ("postgres://", "is not a valid URL"),
    ],
)
def test_it_fails_loudly_on_a_bad_url(env, raw, message):
    env(raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_url(NAME, schemes=("postgres", "postgresql"))


def test_a_short_secret_key_fails_loudly(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be at least 32 characters"):
        helpdesk_settings._secret_key()
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    assert helpdesk_settings._secret_key() == "k" * 32
