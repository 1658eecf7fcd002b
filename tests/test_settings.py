"""Settings from the environment: safe defaults, and production refuses unsafe ones."""

import os
import subprocess
import sys

import pytest

PROBE = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.DEBUG, settings.COPPS_REQUIRE_2FA, settings.SESSION_COOKIE_SECURE)"
GOOD_KEY = "k" * 50


def run(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "COPPS_MODE", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")
    }
    clean.update(DJANGO_SETTINGS_MODULE="copps.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, timeout=60
    )


def test_the_embedded_default_is_sqlite_without_debug(tmp_path):
    result = run(COPPS_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "False", "False", "False"]


def test_database_url_switches_to_postgresql(tmp_path):
    result = run(COPPS_VAR_DIR=str(tmp_path), DATABASE_URL="postgres://copps@127.0.0.1:5432/copps")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.db.backends.postgresql"


def test_an_unsupported_database_url_is_refused(tmp_path):
    result = run(COPPS_VAR_DIR=str(tmp_path), DATABASE_URL="mysql://root@localhost/copps")
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres://" in result.stderr


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "requires SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "requires SECRET_KEY"),
        ({"SECRET_KEY": GOOD_KEY}, "requires ALLOWED_HOSTS"),
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "*"}, "requires ALLOWED_HOSTS"),
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "police.example,*"}, "requires ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_a_secret_key_and_real_hosts(tmp_path, env, complaint):
    result = run(COPPS_VAR_DIR=str(tmp_path), COPPS_MODE="production", **env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_production_with_a_key_and_hosts_starts_with_two_factor_and_secure_cookies(tmp_path):
    result = run(
        COPPS_VAR_DIR=str(tmp_path),
        COPPS_MODE="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="www.police.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["False", "True", "True"]


def test_a_malformed_boolean_is_refused_loudly(tmp_path):
    result = run(COPPS_VAR_DIR=str(tmp_path), DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


REQUEST_PROBE = """
import django; django.setup()
from django.test import Client
response = Client().get("/robots.txt", secure=True, HTTP_HOST={host!r})
print(response.status_code, response.headers.get("Strict-Transport-Security", "-"))
"""


def run_request(host: str, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "COPPS_MODE", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")
    }
    clean.update(DJANGO_SETTINGS_MODULE="copps.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", REQUEST_PROBE.format(host=host)],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def production(tmp_path, **env):
    return dict(
        COPPS_VAR_DIR=str(tmp_path),
        COPPS_MODE="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="www.police.example",
        **env,
    )


def test_production_tells_browsers_to_keep_to_https(tmp_path):
    result = run_request("www.police.example", **production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "max-age=31536000"]


def test_hsts_can_be_switched_off_for_a_site_not_yet_fully_on_https(tmp_path):
    result = run_request("www.police.example", **production(tmp_path, SECURE_HSTS_SECONDS="0"))
    assert result.stdout.split() == ["200", "-"]


def test_a_foreign_host_name_is_a_400_without_a_traceback_in_the_log(tmp_path):
    # Anyone can send these by the thousand: no ERROR with a traceback per request.
    result = run_request("evil.example", **production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "400"
    assert "Traceback" not in result.stderr and "DisallowedHost" not in result.stderr
