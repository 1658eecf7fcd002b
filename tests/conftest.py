"""Shared personas: one user per role, as in the demo (demo-<role>), plus helpers."""

import pytest

from copps.accounts.models import Area, User
from copps.accounts.roles import Role
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

# Fixtures of the federation tests (@news, a fake remote server).
pytest_plugins = ["tests.support_fediverse"]

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def english_by_default(settings):
    """Tests read English source strings: run them with English as the site's default language.

    Pages under /nl/, /fr/, /de/ still speak their language; tests/test_i18n.py checks those.
    """
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def area(db):
    return Area.objects.create(name="Noord", slug="noord")


@pytest.fixture
def other_area(db):
    return Area.objects.create(name="Zuid", slug="zuid")


@pytest.fixture
def make_user(db, area):
    def make(role: str, username: str | None = None, **extra) -> User:
        username = username or f"{role}-{User.objects.count() + 1}"
        user = User(username=username, role=role, **extra)
        if role == Role.OFFICER and "area" not in extra:
            user.area = area
        user.set_password(PASSWORD)
        user.save()
        return user

    return make


@pytest.fixture
def communicator(make_user):
    return make_user(Role.COMMUNICATOR, "alice")


@pytest.fixture
def editor(make_user):
    return make_user(Role.EDITOR, "bob")


@pytest.fixture
def second_editor(make_user):
    return make_user(Role.EDITOR, "carol")


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, "dirk")


@pytest.fixture
def users_by_role(make_user):
    return {role: make_user(role, f"user-{role}") for role in Role.values}


@pytest.fixture
def make_message(db):
    def make(
        author,
        title="Fietsdiefstallen aan het station",
        body="Wees alert en sluit je fiets altijd op slot.",
        language="nl",
        **kwargs,
    ):
        message, _created = actions.create_message(
            by=author, versions=[VersionInput(language, title, body)], **kwargs
        )
        return message

    return make


@pytest.fixture
def published_message(make_message, communicator, editor):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


# --- Real components: PostgreSQL and Chromium --------------------------------------------------
# On a developer machine without them the tests that need them skip with a clear message; under
# CI=true a missing one is a failure, so CI always runs them.

import os  # noqa: E402
import shutil  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("COPPS_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


def require_component(available: bool, what: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available", pytrace=False)
    pytest.skip(f"{what} not available on this machine: skipped (CI runs it)")


def pytest_sessionstart(session):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        print("copps tests: running on PostgreSQL")  # noqa: T201


# --- Channels ------------------------------------------------------------------------------------


@pytest.fixture
def make_channel(db):
    """A channel account; sandbox by default (the built-in imitation of the service answers)."""
    from copps.channels.models import Channel

    def make(
        kind="webhook",
        *,
        slug=None,
        language="nl",
        sandbox=True,
        config=None,
        secrets=None,
        audiences=(),
    ):
        channel = Channel(
            name=slug or f"{kind} {language}",
            slug=slug or f"{kind}-{language}",
            kind=kind,
            language=language,
            sandbox=sandbox,
            config=config or {},
        )
        channel.set_secrets(secrets if secrets is not None else {"signing_secret": "s" * 32})
        channel.save()
        channel.audiences.set(audiences)
        return channel

    return make


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Tests call channels back to back; the rate limit has its own test."""
    settings.COPPS_CHANNEL_RATE_LIMIT = False


@pytest.fixture(autouse=True)
def _clear_sandbox_faults():
    from copps.channels import sandbox

    sandbox.FAULTS.clear()
    yield
    sandbox.FAULTS.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (throttles, key-fetch markers, rel=me accounts)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
